"""Scenario 3, normalisation: pull from a local source, map, apply rules, store; with and without Prefect.

The direct run is ``bench.normalise_run`` in a process of its own (its peak RSS serves scenario 6 too). The
orchestrated run is the same backlog through ``flows.pipeline``'s own tasks (``pull-source``, ``prepare-drafts``)
in a flow under a local Prefect API: the one already configured (``PREFECT_API_URL``, as in the tests) or a
temporary one (``prefect_test_harness``). Prefect's share is the orchestrated run's extra wall time over the mean of
direct runs made just before and after it in the same process (and, less sensitive to a busy machine, the same
for this process's CPU time; the Prefect server's own process is not counted there).

The end-to-end rate is also a ratio to the *normalisation floor* (``bench.floors``: the same pages fetched from
the same fake source, ``json.loads`` and one SQLite row per job) measured in the direct run's own process, just
before and just after it (their mean): absolute rates on a shared machine move by half from run to run, the ratio
does not. Target: at least 0.35 of the floor, and 2,000 orders a second on an idle machine. The same ratio per
CPU-second of that process (the fake source's process left out of both) is printed too: it moves least when
other work shares the cores.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.measure import Measure
from bench.normalise_run import bench_app, normalise, normalise_in_subprocess

SIZES = {"full": 10_000, "tiny": 150}
TARGET_RATE = 2000.0
TARGET_SHARE = 0.10
TARGET_FLOOR_RATIO = 0.35
FLOOR_LABEL = "normalisation floor: same pages, json.loads, one SQLite row per job"
SCENARIO = "normalisation"


def run(size: str) -> list[Measure]:
    orders = SIZES[size]
    direct = normalise_in_subprocess(orders, floor=True)
    _check_counts(direct, orders)
    rate = orders / direct["seconds"]
    floors = direct["floors"]
    floor_rate = orders / (sum(wall for wall, _ in floors) / len(floors))
    floor_cpu_rate = orders / (sum(cpu for _, cpu in floors) / len(floors))
    cpu_rate = orders / direct["cpu_seconds"]
    timings = orchestrated_timings(orders)
    share = max(0.0, (timings["prefect"] - timings["direct"]) / timings["prefect"])
    cpu_share = max(0.0, (timings["prefect_cpu"] - timings["direct_cpu"]) / timings["prefect_cpu"])
    return [
        Measure(SCENARIO, f"normalisation floor ({orders:,} jobs; mean of a run before and after)", floor_rate,
                "orders/s", None, "", None, "", None),
        Measure(SCENARIO, f"work orders/s end to end vs the floor ({orders:,} orders, SQLite)", rate, "orders/s",
                floor_rate, FLOOR_LABEL, rate / floor_rate, f"≥ {TARGET_FLOOR_RATIO} of the floor",
                rate / floor_rate >= TARGET_FLOOR_RATIO),
        Measure(SCENARIO, f"work orders per CPU-second vs the floor's ({orders:,} orders, the measured process)",
                cpu_rate, "orders/s", floor_cpu_rate, "normalisation floor per CPU-second of its process",
                cpu_rate / floor_cpu_rate, "", None),
        Measure(SCENARIO, f"work orders/s end to end, steps called directly ({orders:,} orders, SQLite)", rate,
                "orders/s", TARGET_RATE, "target", rate / TARGET_RATE, "≥ 2,000/s (idle machine)",
                rate >= TARGET_RATE),
        Measure(SCENARIO, f"work orders per CPU-second of the measured process ({orders:,} orders)",
                cpu_rate, "orders/s", TARGET_RATE, "target (wall time above is the figure)", cpu_rate / TARGET_RATE,
                "", None),
        Measure(SCENARIO, f"work orders/s under Prefect ({orders:,} orders)", orders / timings["prefect"], "orders/s",
                orders / timings["direct"], "same steps called directly", timings["direct"] / timings["prefect"],
                "", None),
        Measure(SCENARIO, f"Prefect's share of the run's CPU in this process ({orders:,} orders)", cpu_share * 100,
                "%", TARGET_SHARE * 100, "target", cpu_share / TARGET_SHARE, "", None),
        Measure(SCENARIO, f"Prefect's share of the run ({orders:,} orders)", share * 100, "%", TARGET_SHARE * 100,
                "target", share / TARGET_SHARE, "≤ 10%", share <= TARGET_SHARE),
    ]


def _check_counts(result: dict, orders: int) -> None:
    if result["pulled"] != orders or result["evaluated"] != orders:
        raise RuntimeError(f"the normalisation run lost work: {result}")
    if result["drafts"] + result["cases"] != orders:
        raise RuntimeError(f"not every work order ended in a draft or a case: {result}")


def orchestrated_timings(orders: int) -> dict[str, float]:
    """Wall and CPU time of the backlog as a Prefect flow, and of the steps called directly just before and just
    after it in this process (their mean), so both see the same machine."""
    from prefect import flow

    from flows._tasks import prepare_drafts_task, pull_source_task

    direct = [_timed(orders)]
    with local_prefect_api():
        with bench_app(orders) as app:

            @flow(name="bench-normalise", validate_parameters=False)
            def bench_normalise() -> int:
                return normalise(app, pull=pull_source_task, prepare=prepare_drafts_task).evaluated

            started, cpu = time.perf_counter(), time.process_time()
            evaluated = bench_normalise()
            with_prefect = (time.perf_counter() - started, time.process_time() - cpu)
        if evaluated != orders:
            raise RuntimeError(f"the flow evaluated {evaluated} of {orders} orders")
    direct.append(_timed(orders))
    return {"prefect": with_prefect[0], "prefect_cpu": with_prefect[1],
            "direct": sum(d[0] for d in direct) / 2, "direct_cpu": sum(d[1] for d in direct) / 2}


def _timed(orders: int) -> tuple[float, float]:
    with bench_app(orders) as app:
        started, cpu = time.perf_counter(), time.process_time()
        normalise(app)
        return time.perf_counter() - started, time.process_time() - cpu


@contextmanager
def local_prefect_api() -> Iterator[None]:
    """The configured Prefect API if there is one, else a temporary local server for the duration."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE", "100")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
