"""Helpers for the connect tests: a config per provider, a "browser" that answers the sandbox's consent page over
HTTP, and a fake Jobber on a free port."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import uvicorn

from bench.generate import clean_job_rows, write_csv

REALM = "9130311111"
OTHER_REALM = "9130322222"
TENANT = "3c1d6a52-connect-test-tenant"
OTHER_TENANT = "8e2f0b41-connect-other-tenant"
JOBBER_SECRET = "s3cret-jobber-client-secret-5f0e9d7c1b2a"

CONFIG = f"""
[[companies]]
id = "acme"
name = "Acme Heating"
timezone = "America/Chicago"
currency = "USD"
[companies.ledger]
kind = "quickbooks"
realm_id = "{REALM}"
create_customers = true
[[companies.sources]]
kind = "csv"
name = "csv-acme"
path = "jobs-acme"
[companies.mappings]
doc_number_prefix = "Q-"
items = {{ "LAB" = "1", "PART" = "2" }}
tax_codes = {{ taxable = "TAX", exempt = "NON" }}

[[companies]]
id = "kiwi"
name = "Kiwi Sparks"
timezone = "Pacific/Auckland"
currency = "NZD"
[companies.ledger]
kind = "xero"
tenant_id = "{TENANT}"
create_customers = true
[[companies.sources]]
kind = "csv"
name = "csv-kiwi"
path = "jobs-kiwi"
[companies.mappings]
doc_number_prefix = "X-"
items = {{ "LAB" = "LABOUR", "PART" = "PARTS" }}
tax_codes = {{ taxable = "OUTPUT2", exempt = "NONE" }}
due_days = 20
"""

JOBBER_CONFIG = """
[[companies.sources]]
kind = "jobber"
name = "jobber"
api_url = "{url}"
"""


def write_config(home: Path, *, jobber_url: str | None = None, jobs: int = 1) -> Path:
    """Two companies (acme on QuickBooks, kiwi on Xero, both the local sandbox) with ``jobs`` clean CSV jobs each;
    acme also reads the fake Jobber at ``jobber_url`` when given."""
    home.mkdir(parents=True, exist_ok=True)
    write_csv(home / "jobs-acme" / "acme.csv", clean_job_rows(prefix="Q", count=jobs, currency="USD"))
    write_csv(home / "jobs-kiwi" / "kiwi.csv", clean_job_rows(prefix="X", count=jobs))
    text = CONFIG
    if jobber_url:
        head, marker, rest = text.partition("\n[[companies]]\nid = \"kiwi\"")
        text = head + JOBBER_CONFIG.format(url=jobber_url) + marker + rest
    path = home / "connect.toml"
    path.write_text(text, encoding="utf-8")
    return path


def with_param(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


@dataclass
class ConsentBrowser:
    """Answers a consent page like a person would, over HTTP: Approve (with the companies ``choose``) or Deny.

    ``before_callback(location)`` may change or use the redirect before it reaches Closeout's listener (return
    None to not deliver it). What happened is kept: the authorize URL, the page, the redirect, errors."""

    decision: str = "approve"
    choose: dict[str, list[str]] = field(default_factory=dict)  # form field → values (realm_id, tenant)
    before_callback: object = None
    opened: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __call__(self, url: str) -> None:
        try:
            self.opened.append(url)
            with httpx.Client(trust_env=False, timeout=10) as client:
                page = client.get(url)
                page.raise_for_status()
                self.pages.append(page.text)
                request_id = re.search(r"name='request' value='([^']+)'", page.text).group(1)
                form = [("request", request_id), ("decision", self.decision)]
                form += [(name, value) for name, values in self.choose.items() for value in values]
                answer = client.post(url.split("?")[0], content=urlencode(form),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert answer.status_code == 302, answer.text
                location = answer.headers["location"]
                self.redirects.append(location)
                if callable(self.before_callback):
                    location = self.before_callback(location)
                if location:
                    client.get(location)
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            self.errors.append(exc)


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_fake_jobber() -> Iterator[str]:
    from sandbox.fake_jobber import create_fake_jobber

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_fake_jobber(), log_config=None, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
