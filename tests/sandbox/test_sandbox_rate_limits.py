"""The sandbox applies each ledger's rate limits per company, on a scaled clock, and answers 429 as the ledger does."""

from __future__ import annotations

import httpx
import pytest

from connectors.errors import RetriableError
from connectors.xero import XeroLedger
from sandbox.rate_limits import RateLimits
from sandbox.server import running_sandbox


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_xero_allows_60_calls_a_minute_per_tenant_then_names_the_minute_limit_and_the_wait() -> None:
    clock = FakeClock()
    limits = RateLimits(enabled=True, time_scale=60, clock=clock)  # a "minute" is one second
    for _ in range(60):
        assert limits.acquire("xero", "org-a") is None
        limits.release("xero", "org-a")
    refusal = limits.acquire("xero", "org-a")
    assert refusal is not None and refusal.problem == "minute" and refusal.retry_after == 1
    assert limits.acquire("xero", "org-b") is None  # another tenant has its own budget
    clock.now += 1.0
    assert limits.acquire("xero", "org-a") is None


def test_qbo_allows_10_calls_a_second_and_10_at_once() -> None:
    clock = FakeClock()
    limits = RateLimits(enabled=True, clock=clock)
    for _ in range(10):
        assert limits.acquire("qbo", "realm") is None
    assert limits.acquire("qbo", "realm").problem == "concurrent"
    for _ in range(10):
        limits.release("qbo", "realm")
    assert limits.acquire("qbo", "realm").problem == "second"
    clock.now += 1.01
    assert limits.acquire("qbo", "realm") is None


def test_the_xero_day_limit_is_5000_calls_on_the_scaled_clock() -> None:
    clock = FakeClock()
    limits = RateLimits(enabled=True, time_scale=86_400, clock=clock)  # a "day" is one second, a "minute" 1/1440 s
    for _ in range(5000):
        assert limits.acquire("xero", "org") is None
        limits.release("xero", "org")
        clock.now += 1 / 1440 / 59  # under 60 calls per scaled minute: never the minute limit
    assert limits.acquire("xero", "org").problem == "day"


def test_limits_are_off_until_enabled_and_the_sdk_sees_xeros_429(tmp_path) -> None:
    with running_sandbox(tmp_path) as url, httpx.Client(trust_env=False) as admin:
        ledger = XeroLedger(base_url=f"{url}/api.xro/2.0", tenant_id="org", access_token="token", timeout=5)
        for _ in range(70):
            ledger.find_invoices(["X-1"])
        admin.post(f"{url}/_sandbox/limits", json={"enabled": True, "time_scale": 1}).raise_for_status()
        for _ in range(60):
            ledger.find_invoices(["X-1"])
        with pytest.raises(RetriableError) as caught:
            ledger.find_invoices(["X-1"])
        assert caught.value.code == "rate_limit_minute" and 1 <= caught.value.retry_after <= 60
        assert admin.post(f"{url}/_sandbox/limits", json={"enabled": "x", "time_scale": 0}).status_code == 400
