"""Guessing passwords at the sign-in form: throttled per username and per address, saying so, naming no account."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from services.casework import StoreDesk
from security_site import PASSWORD, csrf_of
from exceptions_queue.web import create_app
from exceptions_queue.web.signin import SignInThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttled_site(site, clock):
    return create_app(StoreDesk(site.app), secret_key="throttle-test",
                      throttle=SignInThrottle(per_user=3, per_ip=6, window_seconds=600, clock=clock))


def attempt(web, username: str, password: str, address: str):
    client = TestClient(web, follow_redirects=False, client=(address, 40000))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(client)})


def said(response) -> str:
    return re.search(r'role="alert">([^<]*)<', response.text).group(1)


def test_after_three_wrong_passwords_for_a_user_even_the_right_one_is_refused_from_anywhere_for_a_while(site):
    clock = FakeClock()
    web = _throttled_site(site, clock)
    for number in range(3):
        assert attempt(web, "dana", "wrong password!", f"10.0.0.{number}").status_code == 401
    locked = attempt(web, "dana", PASSWORD, "10.0.9.9")
    assert locked.status_code == 429 and said(locked) == "Too many failed sign-ins. Wait 10 minute(s) and try again."
    assert locked.headers["retry-after"] == "600"
    clock.now += 601
    assert attempt(web, "dana", PASSWORD, "10.0.9.9").status_code == 303


def test_one_address_guessing_many_usernames_is_throttled_while_others_still_sign_in(site):
    clock = FakeClock()
    web = _throttled_site(site, clock)
    for number in range(6):
        assert attempt(web, f"guess{number}", "wrong password!", "10.1.0.1").status_code == 401
    assert attempt(web, "ada", PASSWORD, "10.1.0.1").status_code == 429
    assert attempt(web, "ada", PASSWORD, "10.1.0.2").status_code == 303


def test_the_answers_are_the_same_for_an_unknown_username_and_a_known_one_so_accounts_cannot_be_listed(site):
    clock = FakeClock()
    web = _throttled_site(site, clock)
    answers = {name: [attempt(web, name, "wrong password!", f"10.2.{index}.{n}") for n in range(4)]
               for index, name in enumerate(("dana", "nobody-here"))}
    for known, unknown in zip(answers["dana"], answers["nobody-here"], strict=True):
        assert (known.status_code, said(known)) == (unknown.status_code, said(unknown))
    assert [a.status_code for a in answers["dana"]] == [401, 401, 401, 429]
    assert said(answers["dana"][0]) == "That username and password do not match."


def test_a_right_password_clears_that_users_failures(site):
    clock = FakeClock()
    web = _throttled_site(site, clock)
    for _ in range(2):
        attempt(web, "fin", "wrong password!", "10.3.0.1")
    assert attempt(web, "fin", PASSWORD, "10.3.0.1").status_code == 303
    for _ in range(2):
        attempt(web, "fin", "wrong password!", "10.3.0.2")
    assert attempt(web, "fin", PASSWORD, "10.3.0.2").status_code == 303
