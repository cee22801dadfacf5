"""One normalisation run (pull pages from the fake source, map, apply rules, store) on a fresh SQLite store.

``python -m bench.normalise_run --orders N`` runs it directly in a process of its own and prints JSON with the
wall time and the process's peak RSS; ``normalise_in_subprocess`` starts that and reads the answer. With
``--floor`` the normalisation floor (``bench.floors``) runs in the same process just before and just after it,
so the two are measured side by side.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import httpx

from bench.fake_source import ROOT, running_fake_source
from bench.floors import normalisation_floor_seconds
from services.config import CloseoutConfig, CompanyConfig, JobberSourceConfig, LedgerConfig
from closeout.settings import Settings
from services.counts import StepCounts
from services.intake import pull_source
from services.prepare import prepare_batch
from closeout.wiring import App
from connectors.jobber import JobberSource
from connectors.oauth import TokenPair
from mappings.company_tables import MappingTables
from storage import open_store

SOURCE = JobberSourceConfig(kind="jobber", page_size=100)
TABLES = MappingTables(items={"LAB-STD": "1", "IGN-HSI": "2", "CAP-45-5": "2", "FLT-16X25": "2", "TSTAT-T6": "2",
                              "MOT-CF-14": "2", "CONT-40A": "2", "FLM-SENS": "2"},
                       default_items={"labour": "1"}, tax_codes={"taxable": "TAX", "exempt": "NON"},
                       doc_number_prefix="B-")
COMPANY = CompanyConfig(id="bench", name="Bench Heating", timezone="America/Chicago", currency="USD",
                        ledger=LedgerConfig(realm_id="1"), sources=(SOURCE,), mappings=TABLES)


class _Tokens:
    """The fake accepts any token: one pair kept in memory."""

    def __init__(self) -> None:
        self.current = TokenPair(access_token="bench-access", refresh_token="bench-refresh")

    def load(self) -> TokenPair:
        return self.current

    def save(self, tokens: TokenPair) -> None:
        self.current = tokens


class BenchApp(App):
    """The real App whose Jobber source is pointed at the bench's fake."""

    source_url: str = ""

    def source_for(self, source, company=None):
        return JobberSource(client=httpx.Client(timeout=60), tokens=_Tokens(), client_id="bench",
                            client_secret="bench-secret", api_url=self.source_url, page_size=source.page_size)


@contextmanager
def bench_app(orders: int) -> Iterator[BenchApp]:
    """An App on a fresh SQLite store in a temporary folder, its source serving ``orders`` jobs."""
    with tempfile.TemporaryDirectory(prefix="closeout-bench-") as folder, running_fake_source(orders) as url:
        home = Path(folder)
        store = open_store(f"sqlite:///{home / 'closeout.db'}")
        app = BenchApp(settings=Settings(home=home), config=CloseoutConfig(companies=(COMPANY,)), store=store,
                       home=home)
        app.source_url = url
        try:
            yield app
        finally:
            store.close()


def _prepare_directly(app: App, batch: int, run_id: str) -> StepCounts:
    return prepare_batch(app, run_id=run_id)


def normalise(app: App, *, pull: Callable[..., StepCounts] = pull_source,
              prepare: Callable[..., StepCounts] = _prepare_directly, run_id: str = "bench") -> StepCounts:
    """The pipeline's first half, as ``flows.pipeline.run_pipeline`` runs it: pull every source, then prepare."""
    counts = StepCounts()
    for company in app.companies():
        for source in company.sources:
            counts += pull(app, company, source)
    batch = 0
    while (step := prepare(app, batch, run_id)).evaluated:
        counts += step
        batch += 1
    return counts


def timed_direct_run(orders: int, *, floor: bool = False) -> dict:
    """Wall time of the steps called directly on ``orders`` jobs, the counts, and this process's peak RSS; with
    ``floor``, the floor's wall and CPU times before and after it too."""
    floors = [floor_seconds(orders)] if floor else []
    with bench_app(orders) as app:
        started, cpu = time.perf_counter(), time.process_time()
        counts = normalise(app)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    if floor:
        floors.append(floor_seconds(orders))
    return {"orders": orders, "seconds": seconds, "floors": floors, "cpu_seconds": cpu_seconds,
            "pulled": counts.pulled,
            "evaluated": counts.evaluated,
            "drafts": counts.drafts, "cases": sum(counts.cases_opened.values()),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def floor_seconds(orders: int) -> tuple[float, float]:
    """The normalisation floor's wall and CPU seconds for ``orders`` jobs, from a fake source of its own."""
    with running_fake_source(orders) as url:
        return normalisation_floor_seconds(url, orders, page_size=SOURCE.page_size)


@lru_cache(maxsize=None)
def normalise_in_subprocess(orders: int, *, floor: bool = False) -> dict:
    """``timed_direct_run`` in a fresh process (so its peak RSS is its own); cached per size within a bench run."""
    done = subprocess.run([sys.executable, "-m", "bench.normalise_run", "--orders", str(orders),
                           *(["--floor"] if floor else [])], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"the normalisation run of {orders} orders failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--floor", action="store_true", help="also time the normalisation floor before and after")
    options = parser.parse_args()
    print(json.dumps(timed_direct_run(options.orders, floor=options.floor)))
