"""A push worker as its own process: push every company's backlog until nothing is left (the kill tests' victim).

    python ledger_push_worker.py CONFIG STALE_SECONDS

Retriable failures (faults the sandbox injects) are retried after a short pause; the pushing state they
leave is exactly what a real worker would leave. CLOSEOUT_HOME / CLOSEOUT_DATABASE_URL come from the env.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

from services.push.batch import push_batch
from closeout.wiring import open_app
from connectors.errors import ConnectorError


def main(config: str, stale_seconds: str) -> None:
    with open_app(config_path=Path(config)) as app:
        busy = {company.id for company in app.companies()}
        while busy:
            for company in app.companies():
                if company.id not in busy:
                    continue
                try:
                    step = push_batch(app, company, limit=10, stale_after=timedelta(seconds=float(stale_seconds)),
                                      sleep=lambda seconds: None)  # honour no 429 wait: keep the test fast
                except ConnectorError:
                    time.sleep(0.01)
                    continue
                if step.pushed + step.rejected + step.uncertain == 0:
                    busy.discard(company.id)


if __name__ == "__main__":
    main(*sys.argv[1:3])
