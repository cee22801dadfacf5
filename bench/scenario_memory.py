"""Scenario 6, memory: peak RSS of the normalisation run (scenario 3) at two backlog sizes, each in its own process.

Peak RSS is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the process that ran the steps (the fake source
serves pages from another process). Memory that stays flat as the backlog grows means the run streams pages
and batches instead of holding every work order.
"""

from __future__ import annotations

from bench.measure import Measure
from bench.normalise_run import normalise_in_subprocess

SIZES = {"full": (10_000, 100_000), "tiny": (100, 400)}
TARGET_RATIO = 1.5
SCENARIO = "memory"


def run(size: str) -> list[Measure]:
    small_orders, large_orders = SIZES[size]
    small, large = normalise_in_subprocess(small_orders), normalise_in_subprocess(large_orders)
    for result, orders in ((small, small_orders), (large, large_orders)):
        if result["evaluated"] != orders or result["drafts"] + result["cases"] != orders:
            raise RuntimeError(f"the normalisation run lost work: {result}")
    ratio = large["peak_rss_mib"] / small["peak_rss_mib"]
    return [
        Measure(SCENARIO, f"peak RSS at {small_orders:,} work orders", small["peak_rss_mib"], "MiB", None, "", None,
                "", None),
        Measure(SCENARIO, f"peak RSS at {large_orders:,} work orders", large["peak_rss_mib"], "MiB",
                small["peak_rss_mib"], f"peak RSS at {small_orders:,}", ratio, "≤ 1.5× the smaller run",
                ratio <= TARGET_RATIO),
        Measure(SCENARIO, f"wall time of the {large_orders:,}-order run", large["seconds"], "s", None, "", None,
                "", None),
    ]
