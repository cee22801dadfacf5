"""Two UI processes over one store share sign-ins and the sign-in throttle, and a restart keeps both."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from closeout.ui import build_ui
from exceptions_queue.users import Role
from exceptions_queue.web import create_app
from services.casework import StoreDesk
from services.users import add_user

PASSWORD = "a long enough password"
SECRET = "one secret for every ui process"  # every process of one workspace signs cookies with its ui_secret


def ui_over(store):
    """One UI process over the store, as the shell builds it (the desk and the sign-ins both on that store)."""
    runtime = SimpleNamespace(store=store, config=None, home=None, customer_refs={})
    return create_app(StoreDesk(runtime), secret_key=SECRET, sign_ins=store)


def with_people(store):
    for name, role in (("dana", Role.coordinator), ("ada", Role.admin)):
        add_user(store, name, role, PASSWORD, actor="test")
    return store


def browser(web, cookies=None, address="10.9.0.1"):
    return TestClient(web, cookies=cookies or {}, follow_redirects=False, client=(address, 40000))


def csrf_of(client) -> str:
    return client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(client)})


def signed_in_cookies(web, username: str = "dana") -> dict[str, str]:
    client = browser(web)
    assert sign_in(client, username).status_code == 303
    return dict(client.cookies)


def test_a_sign_in_made_in_one_ui_process_is_honoured_by_another_over_the_same_store(store):
    one, other = ui_over(with_people(store)), ui_over(store)
    cookies = signed_in_cookies(one)

    assert browser(other, cookies).get("/").status_code == 200


def test_a_restarted_ui_keeps_its_people_signed_in_until_the_session_expires(store, clock):
    cookies = signed_in_cookies(ui_over(with_people(store)))

    restarted = ui_over(store)
    assert browser(restarted, cookies).get("/").status_code == 200
    clock.advance(hours=11, minutes=59)
    assert browser(ui_over(store), cookies).get("/").status_code == 200
    clock.advance(minutes=1)
    answer = browser(ui_over(store), cookies).get("/")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_signing_out_in_one_process_ends_the_session_in_every_other(store):
    one, other = ui_over(with_people(store)), ui_over(store)
    cookies = signed_in_cookies(one)
    assert browser(other, cookies).get("/").status_code == 200

    client = browser(one, cookies)
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303

    assert browser(other, cookies).get("/").status_code == 303
    assert browser(ui_over(store), cookies).get("/").status_code == 303


def test_signing_in_again_in_another_process_ends_the_first_session_there_too(store):
    one, other = ui_over(with_people(store)), ui_over(store)
    client = browser(one)
    assert sign_in(client, "dana").status_code == 303
    first = dict(client.cookies)

    again = sign_in(browser(other, first), "dana")  # the same browser, its next request sent to the other process
    assert again.status_code == 303

    assert browser(one, first).get("/").status_code == 303
    assert browser(one, dict(again.cookies)).get("/").status_code == 200


def test_wrong_passwords_tried_through_two_processes_add_up_to_one_throttle_per_username(store, clock):
    one, other = ui_over(with_people(store)), ui_over(store)
    for number in range(5):  # the default limit: five failures a username in fifteen minutes
        web = (one, other)[number % 2]
        assert sign_in(browser(web, address=f"10.0.0.{number}"), "dana", "wrong password!").status_code == 401

    for web in (one, other, ui_over(store)):
        refused = sign_in(browser(web, address="10.0.9.9"), "dana")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "900"
    clock.advance(minutes=15)
    assert sign_in(browser(other, address="10.0.9.9"), "dana").status_code == 303


def test_one_address_guessing_usernames_through_two_processes_is_throttled_at_the_per_address_limit(store):
    one, other = ui_over(with_people(store)), ui_over(store)
    for number in range(20):  # the default limit: twenty failures an address in fifteen minutes
        web = (one, other)[number % 2]
        assert sign_in(browser(web, address="10.1.0.1"), f"guess{number}", "wrong password!").status_code == 401

    assert sign_in(browser(ui_over(store), address="10.1.0.1"), "ada").status_code == 429
    assert sign_in(browser(one, address="10.1.0.2"), "ada").status_code == 303


def test_a_right_password_in_one_process_clears_that_users_failures_for_the_other(store):
    one, other = ui_over(with_people(store)), ui_over(store)
    for _ in range(4):
        assert sign_in(browser(one, address="10.3.0.1"), "dana", "wrong password!").status_code == 401
    assert sign_in(browser(other, address="10.3.0.2"), "dana").status_code == 303

    for _ in range(4):
        assert sign_in(browser(other, address="10.3.0.3"), "dana", "wrong password!").status_code == 401
    assert sign_in(browser(one, address="10.3.0.4"), "dana").status_code == 303


def test_two_uis_the_shell_builds_over_one_store_share_sign_ins(store, tmp_path, monkeypatch):
    monkeypatch.delenv("CLOSEOUT_UI_SECRET", raising=False)
    app = SimpleNamespace(store=with_people(store), config=SimpleNamespace(users=()), home=tmp_path,
                          customer_refs={})
    one, other = build_ui(app), build_ui(app)
    cookies = signed_in_cookies(one)
    assert browser(other, cookies).get("/").status_code == 200

    client = browser(other, cookies)
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 303
    assert browser(one, cookies).get("/").status_code == 303
