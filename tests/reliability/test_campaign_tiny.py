"""The fault campaign in miniature (make reliability runs it at 5,000 jobs): faults everywhere, one kill, the audit passes."""

from __future__ import annotations

import os

import pytest

from reliability.campaign import Harder, print_result, run_campaign
from reliability.hostile_inputs import FORGED, hostile_messages
from reliability.workload import Workload
from sandbox.dovecot_server import DOVECOT


@pytest.fixture
def postgres_server_url() -> str:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    url = os.environ.get("CLOSEOUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    finally:
        engine.dispose()
    if not os.path.exists(DOVECOT):
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{DOVECOT} is required under CI=true")
        pytest.skip(f"{DOVECOT} is not installed")
    return url


@pytest.mark.postgres
def test_a_tiny_campaign_with_faults_in_every_dependency_and_a_kill_ends_with_the_audit_passing(
        postgres_server_url, tmp_path, capsys):
    workload = Workload(csv_jobs=100, jobber_jobs=100, messages=100, seed=11)
    hostile = len(hostile_messages(workload.csv_jobs, seed=workload.seed))

    result = run_campaign(workload, kills=1, pg_url=postgres_server_url, home=tmp_path / "campaign", time_limit=240,
                          harder=Harder(csv_fault_jobs=12, hostile_mail=True))

    print_result(result)
    report = capsys.readouterr().out
    assert result.ok, report
    assert result.injected["closeout_worker_sigkilled"] == 1
    assert sum(n for name, n in result.corrections.items() if name.startswith("changed: ")) >= 10
    assert sum(n for name, n in result.corrections.items() if name.endswith("/done")) >= 8, result.corrections
    assert result.injected["database_connections_terminated"] > 0
    assert all(result.injected[f"ledger_{system}_{kind}"] >= 1 for system in ("qbo", "xero")
               for kind in ("throttle", "server_error", "slow", "reset", "lost_response")), result.injected
    assert result.audit["jobs_seen"] == 200 + 12 and result.audit["mail"]["messages_seen"] == 100 + hostile
    assert result.injected["csv_last_row_truncated"] == 1 and result.injected["csv_file_renamed_mid_read"] >= 2
    assert result.injected["hostile_mail_oversized"] == 2
    # a stranger's signature.png and a sign-off the receiving server failed: kept, placed, and releasing nothing
    assert result.injected["hostile_mail_forged_evidence"] == 2
    assert sorted(outcome.name for outcome in result.forged) == sorted(FORGED)
    assert all(not outcome.released and outcome.accounted for outcome in result.forged), result.forged
    assert {outcome.name: set(outcome.standings) for outcome in result.forged} == {
        "forged_stranger_signature_photo": {"sender_not_entitled"},
        "forged_sender_failing_authentication": {"authentication_failed"}}, result.forged
    assert "Forged evidence" in report and "released its job" not in report
    assert result.audit["duplicates_in_ledger"] == [] and result.audit["failures"] == []
    assert "Campaign PASSED" in report
