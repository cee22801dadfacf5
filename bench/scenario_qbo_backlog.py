"""Scenario 1: a month-end backlog of 10,000 drafts for 1,500 known customers to QuickBooks Online."""

from __future__ import annotations

from bench.ledger_bench import Workload, run_workload
from bench.measure import Measure

SIZES = {
    # 334 batch calls at 40 a minute: 8 ledger minutes, 80 s at time scale 6
    "full": Workload(kind="quickbooks", drafts=10_000, customers=1_500, time_scale=6, baseline_drafts=300,
                     scenario="1 QBO backlog", batch_target=">= 4", calls_target=1 / 25),
    "tiny": Workload(kind="quickbooks", drafts=120, customers=50, time_scale=600, baseline_drafts=10,
                     scenario="1 QBO backlog", batch_target=">= 4", calls_target=1 / 25),
}


def run(size: str) -> list[Measure]:
    return run_workload(SIZES[size])[0]
