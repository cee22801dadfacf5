"""The sandbox counts the faults chaos injects, per company and kind (the fault campaign prints them)."""

from __future__ import annotations

from sandbox.qbo_store import QboStore
from sandbox.xero_store import XeroStore


def test_every_fault_chaos_draws_is_counted_by_kind_for_its_company_only(tmp_path):
    qbo, xero = QboStore(tmp_path), XeroStore(tmp_path)
    qbo.set_chaos("realm-1", rate=1.0, kinds=("throttle",))
    xero.set_chaos("tenant-1", rate=0.0, kinds=("reset",))
    for _ in range(3):
        with qbo.transaction() as db:
            assert qbo.pop_fault(db, "realm-1").kind == "throttle"
        with xero.transaction() as db:
            assert xero.pop_fault(db, "tenant-1") is None

    assert qbo.chaos_drawn("realm-1") == {"throttle": 3}
    assert qbo.chaos_drawn("realm-2") == {} and xero.chaos_drawn("tenant-1") == {}
