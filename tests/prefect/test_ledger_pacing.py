"""Ledger calls from many threads of one company wait for their turn, so the sandbox's limits never refuse one."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from services.config import LedgerConfig
from closeout.orchestration.pacing import CompanyPacer
from services.push.pacing import ARRIVAL_JITTER, LIMITS, ThrottledLedger, token_bucket
from connectors.xero import XeroLedger
from sandbox.server import running_sandbox

CALLS = 25
TIME_SCALE = 60  # a Xero "minute" lasts one second: 60 calls a second, 5 at once


def test_the_token_buckets_never_admit_more_than_the_ledgers_windows_allow():
    for limits in LIMITS.values():
        for windows in (limits.windows, limits.batch_windows):
            if not windows:
                continue
            for scale in (1.0, 3.0, 60.0):
                burst, rate = token_bucket(windows, scale)
                assert burst >= 1 and rate > 0
                assert all(burst + rate * (w.seconds / scale + ARRIVAL_JITTER) <= w.calls
                           for w in windows if w.seconds <= 3600)


def test_a_long_backlog_runs_at_over_nine_tenths_of_the_binding_window_under_the_shared_limits():
    (qbo_burst, qbo_rate), (xero_burst, xero_rate) = (token_bucket(LIMITS["quickbooks"].batch_windows),
                                                      token_bucket(LIMITS["xero"].windows))
    assert qbo_rate * 60 > 0.9 * 40  # of QBO's 40 batch calls a minute
    assert xero_rate * 60 > 0.9 * 60  # of Xero's 60 calls a minute
    assert qbo_burst == xero_burst == 1


# With Prefect, concurrency is held per push task (a tag limit), not per call: the Prefect case stays under
# Xero's 5 concurrent callers, and its shared rate limit is what these calls run into.
@pytest.mark.parametrize(("shared_through", "threads"), [("prefect global limits", 4), ("one process", 8)])
def test_threads_calling_one_xero_tenant_are_paced_so_the_sandbox_never_refuses_a_call(
        shared_through, threads, request, tmp_path, monkeypatch):
    use_prefect = shared_through == "prefect global limits"
    if use_prefect:
        request.getfixturevalue("prefect_api")
    monkeypatch.setenv("CLOSEOUT_LEDGER_TIME_SCALE", str(TIME_SCALE))
    tenant = str(uuid.uuid4())
    errors: list[Exception] = []

    def refuse_to_wait(seconds: float) -> None:
        raise AssertionError(f"the sandbox refused a call (asked to wait {seconds} s)")

    with running_sandbox(tmp_path / "sandbox") as url:
        httpx.post(f"{url}/_sandbox/limits", json={"enabled": True, "time_scale": TIME_SCALE}).raise_for_status()

        def work() -> None:  # each thread its own connector and pacer, as each worker has
            ledger = XeroLedger(base_url=f"{url}/api.xro/2.0", tenant_id=tenant, access_token="pacing-test")
            paced = ThrottledLedger(ledger, sleep=refuse_to_wait, retries=0,
                                    pacer=CompanyPacer(LedgerConfig(kind="xero", tenant_id=tenant),
                                                       use_prefect=use_prefect))
            try:
                for n in range(CALLS):
                    paced.find_customers(name=f"Nobody {n}", email=None)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                ledger.close()

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        counted = httpx.get(f"{url}/_sandbox/limits").json()

    assert errors == []
    assert counted["refused"] == []
    (xero,) = [row for row in counted["accepted"] if row["company"] == tenant]
    assert xero["calls"] == threads * CALLS and xero["peak_in_flight"] <= 5
