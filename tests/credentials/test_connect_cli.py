"""The `closeout connect` and `closeout disconnect` commands in a child process, as an operations lead runs them:
the address printed, approved in a "browser", one line saying what is connected; each failure one line, exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oauth_consent_kit import OTHER_REALM, REALM, ConsentBrowser, code_of, free_port, with_param, write_config

from closeout.credentials.ledger_tokens import SANDBOX_CLIENT_SECRET

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))


@pytest.fixture
def run(workspace):
    config = write_config(workspace)
    env = {**os.environ, "CLOSEOUT_HOME": str(workspace), "COLUMNS": "200", "NO_COLOR": "1"}
    for name in ("CLOSEOUT_DATABASE_URL", "CLOSEOUT_CONFIG", "PREFECT_API_URL", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)

    def closeout(*args: str, browser: ConsentBrowser | None = None) -> tuple[int, list[str]]:
        """Run ``closeout ARGS --config <the test config>``; ``browser`` answers the address it prints."""
        child = subprocess.Popen([CLOSEOUT, *args, "--config", str(config)], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env)
        lines: list[str] = []
        try:
            for line in child.stdout:
                lines.append(line.rstrip("\n"))
                if browser is not None and line.startswith("http"):
                    browser(line.strip())
            return child.wait(timeout=120), [line for line in lines if line.strip()]
        finally:
            if child.poll() is None:
                child.kill()

    return closeout


def test_connect_prints_the_address_waits_for_approval_and_names_the_connected_company_then_disconnect_revokes(run):
    port = free_port()
    browser = ConsentBrowser(choose={"realm_id": [REALM]})
    code, lines = run("connect", "quickbooks", "--company", "acme", "--no-browser", "--port", str(port),
                      browser=browser)
    assert code == 0, lines
    assert browser.errors == [] and lines[1].startswith("http://127.0.0.1:") and "/connect/oauth2?" in lines[1]
    assert f"redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fcallback" in lines[1]
    assert lines[-1].startswith(f"connected acme to QuickBooks Online company 'Sandbox Company {REALM}' (realm "
                                f"{REALM}); tokens kept in the workspace file ")
    code, lines = run("disconnect", "quickbooks", "--company", "acme")
    assert code == 0 and lines[-1].startswith("disconnected acme's quickbooks connection: Intuit revoked")


def _code_thief() -> ConsentBrowser:
    """A browser that trades the code itself before handing the redirect on: Closeout's exchange is the replay."""
    def steal(location: str) -> str:
        asked = parse_qs(urlsplit(thief.opened[-1]).query)
        base = thief.opened[-1].split("/connect/oauth2")[0]
        httpx.post(f"{base}/oauth2/v1/tokens/bearer", trust_env=False, auth=("closeout-acme", SANDBOX_CLIENT_SECRET),
                   data={"grant_type": "authorization_code", "code": code_of(location),
                         "redirect_uri": asked["redirect_uri"][0]}).raise_for_status()
        return location

    thief = ConsentBrowser(choose={"realm_id": [REALM]}, before_callback=steal)
    return thief


@pytest.mark.parametrize(("case", "browser", "expected"), [
    ("denied", ConsentBrowser(decision="deny"),
     "error: quickbooks connect: access was denied at Intuit's consent page"),
    ("forged state", ConsentBrowser(choose={"realm_id": [REALM]},
                                    before_callback=lambda location: with_param(location, state="x")),
     "error: quickbooks connect: the answer's state does not match"),
    ("wrong company", ConsentBrowser(choose={"realm_id": [OTHER_REALM]}),
     f"error: quickbooks connect: you approved QuickBooks company {OTHER_REALM}, but the config's realm_id"),
    ("replayed code", _code_thief(), "error: quickbooks exchange code: the authorization code was refused "
                                     "(invalid_grant): it was used already"),
])
def test_a_failed_connection_is_one_line_and_exit_2(run, case, browser, expected):
    code, lines = run("connect", "quickbooks", "--company", "acme", "--no-browser", "--port", str(free_port()),
                      browser=browser)
    assert code == 2, lines
    assert lines[-1].startswith(expected) and not any("Traceback" in line for line in lines)
    assert len([line for line in lines if line.startswith("error:")]) == 1


def test_a_taken_port_and_an_unknown_company_are_one_line_and_exit_2(run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, lines = run("connect", "xero", "--company", "kiwi", "--port", str(port))
    assert code == 2 and lines == [f"error: xero connect: port {port} on 127.0.0.1 is taken by "
                                   "another program: stop it, or pass --port with another port (and register that "
                                   "redirect URI with the app)"]
    code, lines = run("connect", "xero", "--company", "nobody")
    assert code == 2 and lines == ["error: no company 'nobody' in the config"]
    code, lines = run("connect", "xero", "--company", "acme")
    assert code == 2 and lines == ["error: company 'acme' keeps its books in quickbooks, not xero"]
