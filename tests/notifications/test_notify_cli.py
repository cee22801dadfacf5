"""`closeout users add --email`, `closeout notify send|digest|list` on a copy of the demo workspace, in a child process."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Closeout, demo_run, prefect_api_url  # noqa: F401 - fixtures, used by name
from tests.notifications.conftest import SmtpServer

PASSWORD = "a-long-enough-password\n"


@pytest.fixture
def closeout(demo_run, tmp_path, prefect_api_url, smtp: SmtpServer) -> Closeout:  # noqa: F811
    """The demo workspace, whose last company (harbour) notifies by plain SMTP to the test's server."""
    import shutil

    home = tmp_path / "workspace"
    shutil.copytree(demo_run[0], home)
    with (home / "closeout.toml").open("a") as config:
        config.write(f'\n[companies.notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\n'
                     'smtp_security = "plain"\nsender = "closeout@harbour.test"\n')
    return Closeout(home, prefect_api_url)


def test_an_assignment_from_the_cli_emails_the_assignee_once_and_the_digest_goes_once_a_day(closeout, smtp):
    added = closeout("users", "add", "ann", "--email", "ann@harbour.test", "--password-stdin", stdin=PASSWORD)
    assert added.exit_code == 0, added.output
    assert "told at ann@harbour.test" in added.output
    listed = json.loads(closeout("cases", "list", "--company", "harbour", "--json").stdout)
    assert listed, "the demo opens cases for harbour"
    case_id = listed[0]["id"]

    assert closeout("cases", "assign", str(case_id), "ann").exit_code == 0
    first = closeout("notify", "send")
    second = closeout("notify", "send")
    digest = closeout("notify", "digest", "--company", "harbour")
    digest_again = closeout("notify", "digest", "--company", "harbour")
    shown = json.loads(closeout("notify", "list", "--json").stdout)

    assert "notifications sent: 1" in first.output, first.output
    assert "notifications sent: 0" in second.output
    assert "digests recorded today: 1" in digest.output, digest.output
    assert "digests recorded today: 0" in digest_again.output
    kinds = sorted(m["X-Closeout-Notice"] for m in smtp.to("ann@harbour.test"))
    assert kinds == ["case_assigned", "daily_digest"]
    assert {(n["kind"], n["status"]) for n in shown} == {("case_assigned", "sent"), ("daily_digest", "sent")}


def test_a_wrong_email_or_company_is_one_line_and_exit_2(closeout):
    bad_email = closeout("users", "add", "ann", "--email", "not an address", "--password-stdin", stdin=PASSWORD)
    bad_company = closeout("notify", "digest", "--company", "nope")
    bad_status = closeout("notify", "list", "--status", "lost")

    assert bad_email.exit_code == 2 and bad_email.lines == ["error: 'not an address' is not one e-mail address "
                                                            "(name@example.com)"]
    assert bad_company.exit_code == 2 and bad_company.lines == ["error: no company 'nope' in the config"]
    assert bad_status.exit_code == 2 and len(bad_status.lines) == 1
