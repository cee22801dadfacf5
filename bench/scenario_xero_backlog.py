"""Scenario 2: the same month-end backlog to Xero (60 calls a minute, 5 at once, 50 invoices a call)."""

from __future__ import annotations

from bench.ledger_bench import Workload, run_workload
from bench.measure import Measure

SIZES = {
    # 200 calls at 60 a minute: 3 ledger minutes, 60 s at time scale 3
    "full": Workload(kind="xero", drafts=10_000, customers=1_500, time_scale=3, baseline_drafts=90,
                     scenario="2 Xero backlog", batch_target=">= 40", calls_target=1 / 45),
    "tiny": Workload(kind="xero", drafts=120, customers=50, time_scale=600, baseline_drafts=10,
                     scenario="2 Xero backlog", batch_target=">= 40", calls_target=1 / 45),
}


def run(size: str) -> list[Measure]:
    return run_workload(SIZES[size])[0]
