"""The /users form's companies, as ``closeout users add --company / --all-companies``: ticked companies limit a
person to their cases, "All companies" lifts the limit, neither keeps it, and a company not in the config is refused."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import BUNDLED_DEMO_CONFIG
from exceptions_queue.users import Role
from exceptions_queue.web import create_app
from services.casework import StoreDesk
from services.users import add_user

PASSWORD = "a long enough password"


@pytest.fixture
def app(workspace):
    settings = Settings(home=workspace, database_url=None, config=None)
    with open_app(settings=settings, config_path=BUNDLED_DEMO_CONFIG) as application:
        add_user(application.store, "ada", Role.admin, PASSWORD, actor="test")
        yield application


@pytest.fixture
def admin(app) -> TestClient:
    client = TestClient(create_app(StoreDesk(app), secret_key="users-form-test"), follow_redirects=False)
    assert client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": _csrf(client, "/login"),
                                       "next": "/"}).status_code == 303
    return client


def _csrf(client: TestClient, path: str = "/users") -> str:
    return client.get(path).text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def add(client: TestClient, username: str, *companies: str, every: bool = False) -> list[tuple[str, str]]:
    """Post the form as an admin fills it in; answers the flashes the users page then shows."""
    form = [("csrf_token", _csrf(client)), ("username", username), ("role", "coordinator"), ("password", PASSWORD),
            *(("company", company) for company in companies), *([("all_companies", "yes")] if every else [])]
    answer = client.post("/users", content="&".join(f"{key}={value}" for key, value in form),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 303 and answer.headers["location"] == "/users"
    return re.findall(r'<p class="flash (\w+)" role="status">([^<]*)</p>', client.get("/users").text)


def companies_of(app, username: str) -> tuple[str, ...] | None:
    with app.store.unit_of_work() as uow:
        user = uow.users.get(username)
    return None if user is None else user.companies


def test_the_form_offers_each_configured_company_and_all_companies(admin):
    page = admin.get("/users").text
    assert '<input type="checkbox" name="all_companies" value="yes">' in page
    assert '<input type="checkbox" name="company" value="northwind"> Northwind Climate &amp; AV' in page
    assert '<input type="checkbox" name="company" value="harbour"> Harbour Lights Electrical' in page


def test_ticked_companies_limit_the_new_user_to_their_cases_and_the_audit_trail_says_so(app, admin):
    [(level, text)] = add(admin, "hana", "harbour")
    assert level == "ok" and text == "hana can now sign in as coordinator, on the cases of harbour."
    assert companies_of(app, "hana") == ("harbour",)
    assert "<td>hana</td><td>coordinator</td><td>harbour</td>" in admin.get("/users").text
    with app.store.unit_of_work() as uow:
        [entry] = [entry for entry in uow.audit.recent(limit=50) if entry.subject == "user:hana"]
    assert (entry.actor, entry.action, entry.after) == ("ada", "user_added",
                                                        {"role": "coordinator", "companies": ["harbour"]})


def test_all_companies_lifts_a_limit_and_neither_keeps_what_the_user_had(app, admin):
    add(admin, "hana", "harbour", "northwind")
    assert companies_of(app, "hana") == ("harbour", "northwind")
    [(level, text)] = add(admin, "hana")  # a password reset: the companies stay as they were
    assert level == "ok" and companies_of(app, "hana") == ("harbour", "northwind")
    [(level, text)] = add(admin, "hana", every=True)
    assert level == "ok" and text.endswith("on every company.") and companies_of(app, "hana") == ()
    add(admin, "newcomer")
    assert companies_of(app, "newcomer") == ()  # someone new, nothing ticked: every company


def test_a_company_not_in_the_config_or_both_choices_at_once_are_refused_and_nothing_is_stored(app, admin):
    [(level, text)] = add(admin, "hana", "nowhere")
    assert level == "error" and "no company &#39;nowhere&#39; in the config" in text
    [(level, text)] = add(admin, "hana", "harbour", every=True)
    assert level == "error" and "not both" in text
    assert companies_of(app, "hana") is None
