"""A campaign worker: the whole pipeline (pull, mail, prepare, push) pass after pass, as its own process.

    python -m reliability.worker CONFIG STOP_FILE [STALE_SECONDS]

Each pass does what the ``closeout-pipeline`` flow does (pull, mail, prepare, push, then the corrections the
company's policy applies by itself), step by step, with no Prefect in between (the
campaign kills this process, and a Prefect server per process would cost more than the work). A failure of
one step is what a failed task run would be: noted in ``$CLOSEOUT_HOME/worker-errors.log`` and retried on the
next pass. A ConnectorError (a fault of a system beside us) or a database error (a dropped connection) is
expected; anything else is a defect, logged with its traceback. The worker exits 0 after an idle pass once
STOP_FILE exists. With ``$CLOSEOUT_CAMPAIGN_GO`` set, it starts working once that file exists.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from services.corrections import apply_by_policy
from services.intake import pull_source
from services.mail.ingest import ingest_mailbox
from services.prepare import prepare_batch
from services.push.batch import push_batch
from closeout.wiring import App, open_app
from connectors.errors import ConnectorError

EXPECTED = (ConnectorError, DBAPIError)


class Pass:
    """One pass over every step; ``busy`` when it did anything, ``failed`` when a step raised."""

    def __init__(self, app: App, log: Path, stale: timedelta) -> None:
        self.app, self.log, self.stale = app, log, stale
        self.busy = self.failed = False

    def step(self, name: str, action) -> object | None:
        try:
            return action()
        except EXPECTED as exc:
            self._note(name, exc, trace=False)
        except Exception as exc:  # noqa: BLE001 - a defect: log it with its traceback, keep the campaign going
            self._note(name, exc, trace=True)
        return None

    def _note(self, name: str, exc: BaseException, *, trace: bool) -> None:
        self.failed = True
        kind = "defect" if trace else "expected"
        detail = traceback.format_exc()[-1500:].replace("\n", " | ") if trace else str(exc)[:200].replace("\n", " ")
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\t{kind}\t{name}\t{type(exc).__name__}\t{detail}\n")

    def run(self) -> None:
        app = self.app
        for company in app.companies():
            for source in company.sources:
                counts = self.step(f"pull {source.name}", lambda: pull_source(app, company, source))
                self.busy |= bool(counts and (counts.changed or counts.new_payloads))
            for mailbox in company.mailboxes:
                counts = self.step(f"mail {mailbox.name}", lambda: ingest_mailbox(app, company, mailbox))
                self.busy |= bool(counts and counts.fetched)
        while (step := self.step("prepare", lambda: prepare_batch(app, run_id=f"worker-{os.getpid()}", limit=50))) \
                and step.evaluated:
            self.busy = True
        for company in app.companies():
            while (step := self.step(f"push {company.id}", lambda: push_batch(
                    app, company, limit=20, stale_after=self.stale, sleep=lambda seconds: None))) \
                    and step.pushed + step.rejected + step.uncertain:
                self.busy = True
            corrected = self.step(f"corrections {company.id}", lambda: apply_by_policy(
                app, company, stale_after=self.stale))
            self.busy |= bool(corrected and sum(n for outcome, n in corrected.items() if outcome != "left_for_a_person"))


def main(config: str, stop_file: str, stale_seconds: str = "5") -> None:
    stop, stale = Path(stop_file), timedelta(seconds=float(stale_seconds))
    go = os.environ.get("CLOSEOUT_CAMPAIGN_GO")  # the campaign gives the Prefect workers a head start
    while go and not Path(go).exists():
        time.sleep(0.2)
    while True:
        try:
            with open_app(config_path=Path(config)) as app:
                log = app.home / "worker-errors.log"
                while True:
                    one = Pass(app, log, stale)
                    one.run()
                    if not one.busy and not one.failed and stop.exists():
                        return
                    if not one.busy:
                        time.sleep(0.2)
        except EXPECTED:  # the store's connection dropped while opening: open again
            time.sleep(0.2)


if __name__ == "__main__":
    main(*sys.argv[1:4])
