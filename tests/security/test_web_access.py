"""Who may do what in the queue's web UI and API: every route × every role, CSRF, sessions, headers."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from services.casework import StoreDesk
from exceptions_queue.web import create_app
from security_site import PASSWORD, sign_in

# Every route of the app against every role: "yes" = allowed, "no" = refused (sign-in page / 401 / 403).
# A route added to the app without a row here fails test_every_route_of_the_app_has_a_row_in_the_matrix.
MATRIX = """
route                              anonymous  viewer  coordinator  finance  admin
GET  /healthz                      yes        yes     yes          yes      yes
GET  /static                       yes        yes     yes          yes      yes
GET  /login                        yes        yes     yes          yes      yes
POST /login                        yes        yes     yes          yes      yes
POST /logout                       yes        yes     yes          yes      yes
GET  /                             no         yes     yes          yes      yes
GET  /cases/{case_id}              no         yes     yes          yes      yes
GET  /audit                        no         yes     yes          yes      yes
GET  /work-orders/{work_order_id:path} no    yes     yes          yes      yes
POST /cases/bulk                   no         no      yes          yes      yes
POST /cases/{case_id}/decide       no         no      yes          yes      yes
POST /cases/{case_id}/mapping      no         no      yes          yes      yes
POST /cases/{case_id}/replay       no         no      yes          yes      yes
POST /cases/{case_id}/price        no         no      yes          no       yes
POST /cases/{case_id}/link         no         no      yes          no       yes
POST /cases/{case_id}/correct      no         no      yes          yes      yes
GET  /users                        no         no      no           no       yes
POST /users                        no         no      no           no       yes
GET  /connections                  no         no      no           no       yes
POST /connections/connect          no         no      no           no       yes
POST /connections/disconnect       no         no      no           no       yes
GET  /connections/callback/{system} no        no      no           no       yes
GET  /api/cases                    no         yes     yes          yes      yes
GET  /api/cases/{case_id}          no         yes     yes          yes      yes
POST /api/cases/{case_id}/decisions no        no      yes          yes      yes
"""
ROLE_USERS = {"anonymous": None, "viewer": "vic", "coordinator": "dana", "finance": "fin", "admin": "ada"}


def _matrix() -> dict[tuple[str, str], dict[str, bool]]:
    header, *rows = [line.split() for line in MATRIX.strip().splitlines()]
    roles = header[1:]
    return {(row[0], row[1]): {role: cell == "yes" for role, cell in zip(roles, row[2:], strict=True)} for row in rows}


ACCESS = _matrix()


def app_routes(routes, prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, looking inside included routers (FastAPI keeps them nested)."""
    found = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found |= {(method, prefix + route.path) for method in route.methods}
        elif isinstance(route, Mount):
            found.add(("GET", prefix + route.path))
        elif hasattr(route, "original_router"):
            found |= app_routes(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return found


def _form(site, client: TestClient, **fields) -> dict[str, str]:
    return {"csrf_token": site.csrf(client), **fields}


def call(site, method: str, path: str, role: str):
    """One request to the route as ``role``; inputs are chosen so an allowed call changes little."""
    username = ROLE_USERS[role]
    job, email = site.cases["job"], site.cases["email"]
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {site.tokens[username]}"} if username else {}
        client = site.client()
        if method == "GET":
            return client.get(path.replace("{case_id}", str(email)), headers=headers)
        return client.post(path.replace("{case_id}", str(email)), headers=headers,
                           json={"decision": "comment", "note": "matrix"})
    if path in ("/login", "/logout") and method == "POST":  # a fresh sign-in, so the shared ones stay live
        client = TestClient(site.web, follow_redirects=False)
        if username:
            assert sign_in(client, username).status_code == 303
        if path == "/login":
            return client.post("/login", data=_form(site, client, username="vic", password=PASSWORD))
        return client.post("/logout", data=_form(site, client))
    client = site.client(username)
    if method == "GET":
        target = {"/static": "/static/closeout.css"}.get(path, path.replace("{case_id}", str(email)))
        target = target.replace("{system}", "quickbooks")  # no flow in flight: an admin is told so, on the page
        if "{work_order_id:path}" in target:  # the job of the blocked case: a read-only page
            with site.app.store.unit_of_work() as uow:
                target = target.replace("{work_order_id:path}", uow.cases.get(job).work_order_id)
        return client.get(target)
    forms = {
        "/cases/bulk": {"case_id": str(email), "decision": "tag", "tag": "matrix"},
        "/cases/{case_id}/decide": {"decision": "comment", "note": "matrix"},
        "/cases/{case_id}/mapping": {"table": "no-such-table", "key": "k", "value": "v"},
        "/cases/{case_id}/replay": {},
        "/cases/{case_id}/price": {"line": "no-such-line", "price": "1.00", "reason": "matrix"},
        "/cases/{case_id}/link": {"job_number": "no-such-job"},
        "/cases/{case_id}/correct": {"choice": "keep_invoice", "reason": "matrix"},
        "/users": {"username": "matrix-user", "role": "viewer", "password": PASSWORD},
        "/connections/connect": {"company": "northwind", "system": "quickbooks"},  # an admin: off to the consent page
        "/connections/disconnect": {"company": "northwind", "system": "quickbooks"},  # an admin: asked to confirm
    }
    case_id = email if path != "/cases/{case_id}/price" else job
    return client.post(path.replace("{case_id}", str(case_id)), data=_form(site, client, **forms[path]))


def refused(method: str, response) -> bool:
    to_sign_in = response.status_code == 303 and response.headers["location"].startswith("/login")
    return response.status_code in (401, 403) or (method == "GET" and to_sign_in)


def test_every_route_of_the_app_has_a_row_in_the_matrix(site):
    assert app_routes(site.web.routes) == set(ACCESS), "add the new route to MATRIX with who may use it"


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_reaches_exactly_the_routes_the_matrix_allows(site, role):
    wrong = []
    for (method, path), allowed in sorted(ACCESS.items()):
        response = call(site, method, path, role)
        assert response.status_code < 500, (method, path, response.text)
        if refused(method, response) == allowed[role]:
            wrong.append(f"{method} {path}: {response.status_code} but the matrix says {allowed[role]}")
        assert_security_headers(response)
    assert wrong == []


def test_no_viewer_or_anonymous_request_left_a_trace_in_any_case_history(site):
    for role in ("anonymous", "viewer"):
        for (method, path), allowed in ACCESS.items():
            if method == "POST" and not allowed[role]:
                call(site, method, path, role)
    with site.app.store.unit_of_work() as uow:
        actors = {entry.actor for case_id in site.cases.values() for entry in uow.cases.get(case_id).history}
        audit = {entry.actor for entry in uow.audit.recent(limit=10_000)}
    assert "vic" not in actors | audit


def assert_security_headers(response) -> None:
    headers = response.headers
    policy = {part.split()[0]: part.split()[1:]
              for part in headers["content-security-policy"].split(";") if part.strip()}
    scripts = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert policy["frame-ancestors"] == ["'none'"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    assert headers["x-frame-options"] == "DENY"


def test_error_answers_carry_the_security_headers_too(site):
    client = site.client("dana")
    for response in (client.get("/no/such/page"), client.get("/cases/999999"), client.get("/api/cases"),
                     client.post("/cases/1/decide", data={"decision": "resolve"}), site.client("vic").get("/users")):
        assert response.status_code in (401, 403, 404)
        assert_security_headers(response)


# ---- CSRF ----------------------------------------------------------------------------------------------

def _history_sizes(site) -> tuple[int, ...]:
    with site.app.store.unit_of_work() as uow:
        sizes = tuple(len(uow.cases.get(case_id).history) for case_id in site.cases.values())
        return (*sizes, len(uow.audit.recent(limit=10_000)), len(uow.users.all()))


@pytest.mark.parametrize("token", ["missing", "forged", "another session's"])
def test_every_form_post_without_this_sessions_csrf_token_is_refused_and_changes_nothing(site, token):
    admin, other = site.client("ada"), site.client("dana")
    sent = {"missing": None, "forged": "forged-token", "another session's": site.csrf(other)}[token]
    before = _history_sizes(site)
    posts = [path for method, path in ACCESS if method == "POST" and not path.startswith("/api/")]
    for path in posts:
        form = {"decision": "comment", "note": "csrf", "username": "csrf-user", "role": "admin", "password": PASSWORD,
                "case_id": str(site.cases["email"]), "tag": "csrf", "table": "items", "key": "K", "value": "1"}
        if sent is not None:
            form["csrf_token"] = sent
        response = admin.post(path.replace("{case_id}", str(site.cases["email"])), data=form)
        assert response.status_code == 403, path
    assert _history_sizes(site) == before
    assert admin.get("/").status_code == 200, "a refused form does not sign the person out"


def test_the_api_takes_no_cookies_so_a_cross_site_request_riding_a_session_is_refused(site):
    answer = site.client("ada").post(f"/api/cases/{site.cases['email']}/decisions", json={"decision": "comment",
                                                                                           "note": "riding"})
    assert answer.status_code == 401


def test_the_session_cookie_is_httponly_and_samesite_and_secure_when_asked(site):
    for secure in (False, True):
        web = create_app(StoreDesk(site.app), secret_key="k", secure_cookies=secure)
        with TestClient(web, base_url="https://testserver" if secure else "http://testserver") as client:
            answer = client.get("/login")
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and ("secure" in cookie) is secure
        assert ("strict-transport-security" in answer.headers) is secure


# ---- sessions ------------------------------------------------------------------------------------------

def test_signing_in_gives_a_new_session_and_the_cookie_from_before_sign_in_stays_signed_out(site):
    client = TestClient(site.web, follow_redirects=False)
    client.get("/login")
    planted = dict(client.cookies)
    assert sign_in(client, "dana").status_code == 303
    assert dict(client.cookies) != planted
    assert TestClient(site.web, cookies=planted, follow_redirects=False).get("/").status_code == 303


def test_signing_in_again_or_out_ends_the_old_session_even_for_a_stolen_copy_of_its_cookie(site):
    client = TestClient(site.web, follow_redirects=False)
    sign_in(client, "dana")
    first = dict(client.cookies)
    assert TestClient(site.web, cookies=first, follow_redirects=False).get("/").status_code == 200
    sign_in(client, "dana")
    second = dict(client.cookies)
    assert TestClient(site.web, cookies=first, follow_redirects=False).get("/").status_code == 303
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": site.csrf(client)}).status_code == 303
    assert TestClient(site.web, cookies=second, follow_redirects=False).get("/").status_code == 303


def test_sign_in_only_goes_on_to_a_path_of_this_site(site):
    for target, lands in (("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil.example", "/"),
                          ("/audit", "/audit")):
        client = TestClient(site.web, follow_redirects=False)
        client.get("/login")
        answer = client.post("/login", data={"username": "dana", "password": PASSWORD, "next": target,
                                             "csrf_token": site.csrf(client)})
        assert answer.headers["location"] == lands


def test_a_bulk_decisions_way_back_cannot_add_headers_or_leave_the_list(site):
    client = site.client("dana")
    answer = client.post("/cases/bulk", data={"csrf_token": site.csrf(client), "decision": "tag", "tag": "back",
                                              "case_id": str(site.cases["email"]),
                                              "back": "kind=x\r\nSet-Cookie: evil=1&//evil.example"})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/?")
    assert "evil=1" not in answer.headers.get("set-cookie", "") and "\n" not in answer.headers["location"]


def test_a_session_ends_on_the_server_after_its_lifetime_even_if_its_cookie_is_kept():
    from exceptions_queue.web.signin import SessionRegistry

    now = [0.0]
    registry = SessionRegistry(max_age_seconds=3600, clock=lambda: now[0])
    session_id = registry.start("dana")
    now[0] = 3599
    assert registry.username(session_id) == "dana" and registry.username("made-up") is None
    now[0] = 3600
    assert registry.username(session_id) is None


# Which decision each role may take through the API (the route above is one row; its decisions differ).
API_DECISIONS = """
decision      viewer  coordinator  finance  admin
comment       no      yes          yes      yes
replay        no      yes          yes      yes
add_mapping   no      yes          yes      yes
link_email    no      yes          no       yes
fix_price     no      yes          no       yes
"""


@pytest.mark.parametrize("row", API_DECISIONS.strip().splitlines()[1:], ids=lambda row: row.split()[0])
def test_each_api_decision_is_refused_to_the_roles_that_may_not_take_it(site, row):
    decision, *cells = row.split()
    body = {"decision": decision, "note": "matrix", "table": "no-such-table", "key": "k", "value": "v",
            "work_order": "no-such-job", "line": "no-such-line", "price": "1.00", "reason": "matrix"}
    for role, cell in zip(("viewer", "coordinator", "finance", "admin"), cells, strict=True):
        answer = site.client().post(f"/api/cases/{site.cases['email']}/decisions", json=body,
                                    headers={"Authorization": f"Bearer {site.tokens[ROLE_USERS[role]]}"})
        assert (answer.status_code == 403) is (cell == "no"), (decision, role, answer.status_code, answer.text)


def test_a_viewers_bulk_decision_is_refused_even_when_it_names_no_case(site):
    viewer = site.client("vic")
    for form in ({"decision": "resolve"}, {"decision": "tag", "tag": "x", "all_shown": "1"}):
        answer = viewer.post("/cases/bulk", data={"csrf_token": site.csrf(viewer), **form})
        assert answer.status_code == 403


class CrashingDesk(StoreDesk):
    """The real desk with one fault injected: counting the open cases fails like a bug would."""

    def count_open(self):
        raise RuntimeError("secret internals: /etc/closeout.toml")


def test_a_crash_answers_a_plain_500_with_the_security_headers_and_no_details(site):
    web = create_app(CrashingDesk(site.app), secret_key="security-test-key")
    client = TestClient(web, raise_server_exceptions=False, follow_redirects=False)
    assert sign_in(client, "dana").status_code == 303
    answer = client.get("/")
    assert answer.status_code == 500 and "secret internals" not in answer.text
    assert_security_headers(answer)


# ---- coordinators scoped to companies ------------------------------------------------------------------
# "hana" is a coordinator limited to harbour; every case of the site above is northwind's but the one made here.

SCOPED = "hana"


@pytest.fixture(scope="module")
def scoped(site) -> dict[str, object]:
    """Hana (harbour only) signed in, with a token, and a harbour case of her own beside northwind's."""
    from exceptions_queue.service import CaseQueue
    from exceptions_queue.users import Role
    from services.users import add_user, create_token
    from workorders.anomalies import Anomaly, AnomalyCode

    add_user(site.app.store, SCOPED, Role.coordinator, PASSWORD, actor="test", companies=["harbour"])
    site.tokens[SCOPED] = create_token(site.app.store, SCOPED, label="test", actor="test")
    with site.app.store.unit_of_work() as uow:
        case, _ = CaseQueue(uow.cases, clock=uow.clock).open_case(Anomaly(
            code=AnomalyCode.ledger_rejected, subject="invoice H-1", company="harbour", summary="harbour's refusal"))
        uow.commit()
    with TestClient(site.web, follow_redirects=False) as client:
        assert sign_in(client, SCOPED).status_code == 303
        site.sessions[SCOPED] = dict(client.cookies)
    return {"own": case.id}


def _as_scoped(site, method: str, path: str, case_id: int):
    """One request of Hana's to a case route, with the inputs ``call`` uses for the matrix."""
    target = path.replace("{case_id}", str(case_id))
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {site.tokens[SCOPED]}"}
        if method == "GET":
            return site.client().get(target, headers=headers)
        return site.client().post(target, headers=headers, json={"decision": "comment", "note": "peek"})
    client = site.client(SCOPED)
    if method == "GET":
        return client.get(target)
    forms = {"/cases/{case_id}/decide": {"decision": "comment", "note": "peek"},
             "/cases/{case_id}/mapping": {"table": "items", "key": "K", "value": "1"},
             "/cases/{case_id}/replay": {},
             "/cases/{case_id}/price": {"line": "no-such-line", "price": "1.00", "reason": "peek"},
             "/cases/{case_id}/link": {"job_number": "no-such-job"},
             "/cases/{case_id}/correct": {"choice": "keep_invoice", "reason": "peek"}}
    return client.post(target, data=_form(site, client, **forms[path]))


CASE_ROUTES = sorted(route for route in ACCESS if "{case_id}" in route[1])


def _main_text(response) -> str:
    """What an answer says: a page's <main> (not its flashes or tokens), or the JSON's error."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.text
    page = response.text
    return page.split("<main", 1)[-1].split("</main>", 1)[0]


def test_a_coordinator_limited_to_a_company_lists_only_its_cases_on_the_page_and_through_the_api(site, scoped):
    own, other = scoped["own"], site.cases["email"]
    page = site.client(SCOPED).get("/?status=all").text
    listed = site.client().get("/api/cases?status=all",
                               headers={"Authorization": f"Bearer {site.tokens[SCOPED]}"}).json()

    assert f'href="/cases/{own}"' in page and f'href="/cases/{other}"' not in page
    assert {case["company"] for case in listed} == {"harbour"} and own in {case["id"] for case in listed}
    everyone = site.client().get("/api/cases?status=all", headers={"Authorization": f"Bearer {site.tokens['dana']}"})
    assert {"harbour", "northwind"} <= {case["company"] for case in everyone.json()}


def test_another_companys_case_answers_a_scoped_coordinator_404_on_every_case_route_and_changes_nothing(site, scoped):
    other = site.cases["email"]
    before = _history_sizes(site)
    wrong = []
    for method, path in CASE_ROUTES:
        answer = _as_scoped(site, method, path, other)
        missing = _as_scoped(site, method, path, 999_999)
        said, unknown = _main_text(answer).replace(str(other), "N"), _main_text(missing).replace("999999", "N")
        if answer.status_code != 404 or said != unknown:
            wrong.append(f"{method} {path}: {answer.status_code} {said!r} but {unknown!r} for a case that does not exist")
    client = site.client(SCOPED)
    client.post("/cases/bulk", data=_form(site, client, case_id=str(other), decision="tag", tag="peek"))
    with site.app.store.unit_of_work() as uow:
        job = uow.cases.get(site.cases["job"]).work_order_id
    if client.get(f"/work-orders/{job}").status_code != 404:
        wrong.append("GET /work-orders/{work_order_id:path}: a northwind job is shown")

    assert wrong == []
    assert _history_sizes(site) == before


def test_a_scoped_coordinator_works_its_own_companys_case_on_every_case_route(site, scoped):
    wrong = []
    for method, path in CASE_ROUTES:
        answer = _as_scoped(site, method, path, scoped["own"])
        if answer.status_code >= 500 or refused(method, answer) or answer.status_code == 404:
            wrong.append(f"{method} {path}: {answer.status_code}")
    assert wrong == []
    with site.app.store.unit_of_work() as uow:
        assert [e.actor for e in uow.cases.get(scoped["own"]).history if e.action == "commented"] == [SCOPED, SCOPED]


def test_a_scoped_coordinators_audit_trail_shows_no_entry_about_another_companys_cases(site, scoped):
    page = site.client(SCOPED).get("/audit").text
    full = site.client("dana").get("/audit").text

    assert f'href="/cases/{scoped["own"]}"' in page
    for case_id in site.cases.values():
        assert f'href="/cases/{case_id}"' in full and f'href="/cases/{case_id}"' not in page


def test_the_users_page_shows_which_companies_each_user_sees(site, scoped):
    page = site.client("ada").get("/users").text

    assert "<td>hana</td><td>coordinator</td><td>harbour</td>" in page
    assert "<td>dana</td><td>coordinator</td><td>all</td>" in page
