"""The fault campaign: the whole pipeline on a generated workload while every dependency fails, then the audit.

    python -m reliability.campaign [--jobs 5000] [--messages 5000] [--kills 5] [--seed 7]

Two worker processes run the pipeline at once on a private PostgreSQL database. Once a share of the CSV jobs
is invoiced, some of them change at the source (reliability.later_changes: a touch, a returned part, a price
cut, an added line, a cancellation, some after the invoice was paid) and the workers apply the corrections by
the company's policy. Meanwhile: the fake Jobber
answers 5xx, 429 and malformed pages; the ledger sandbox (QBO and Xero) injects 5xx, 429, timeouts, resets
and lost responses; the workers' database connections are terminated; Dovecot is killed and restarted while
mail is being fetched; a worker is SIGKILLed at random moments and started again. Then the faults stop, the
workers finish, and ``closeout audit --json`` judges the invariants. Exit 0 only when the audit passes and
every generated job and message is in the store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from reliability import services
from reliability.later_changes import change_invoiced_jobs, invoiced_jobs, qbo_payer
from reliability.fault_jobber import FaultyJobber, serve_in_thread
from reliability.faults import Injector, connection_dropper, dovecot_bouncer
from reliability.workload import CSV_COMPANY, JOBBER_COMPANY, REALM, TENANT, Workload, write_config, \
    write_csv_drop, write_maildir
from sandbox.dovecot_server import PASSWORD, USER, DovecotServer
from sandbox.fake_jobber import FAKE_REFRESH_TOKEN
from sandbox.qbo_store import QboStore
from sandbox.server import running_sandbox
from sandbox.xero_store import XeroStore

LEDGER_FAULTS = ("throttle", "server_error", "slow", "reset", "lost_response")
LEDGER_TIMEOUT = 1.0
FINISH_SECONDS = 420.0
"""How long the workers may take to finish what is left once the faults stop."""


@dataclass
class Result:
    injected: Counter = field(default_factory=Counter)
    audit: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    cases: dict[str, int] = field(default_factory=dict)
    corrections: dict[str, int] = field(default_factory=dict)
    """What the later changes were (``changed: <kind>``) and what became of each correction step (``kind/status``)."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.audit.get("ok")) and not self.missing and not self.defects


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_campaign(workload: Workload, *, kills: int = 5, pg_url: str | None = None, home: Path | None = None,
                 ledger_rate: float = 0.03, source_rate: float = 0.1, time_limit: float = 780.0,
                 say=print) -> Result:
    """Run the campaign in ``home`` (a temporary folder by default); everything it started is stopped after."""
    started = time.monotonic()
    home = home or Path(tempfile.mkdtemp(prefix="closeout-campaign-"))
    home.mkdir(parents=True, exist_ok=True)
    rng = random.Random(workload.seed)
    dovecot = DovecotServer().start()
    fake = FaultyJobber(workload.jobber_jobs, seed=workload.seed, rate=source_rate)
    jobber_port = _free_port()
    jobber = serve_in_thread(fake, jobber_port)
    try:
        with services.private_database(pg_url or os.environ.get("CLOSEOUT_TEST_POSTGRES_URL",
                                                                 services.DEFAULT_POSTGRES_URL)) as db_url:
            result = _campaign(workload, kills, home, rng, dovecot, fake, jobber_port, db_url, ledger_rate,
                               time_limit, say)
    finally:
        jobber.should_exit = True
        dovecot.remove()
    result.seconds = time.monotonic() - started
    return result


def _campaign(workload, kills, home, rng, dovecot, fake, jobber_port, db_url, ledger_rate, time_limit, say) -> Result:
    result = Result()
    write_csv_drop(home / "jobs", workload.csv_jobs, seed=workload.seed)
    write_maildir(dovecot.dir / "mail" / USER / "Maildir", workload.messages, jobs=workload.csv_jobs,
                  seed=workload.seed, uid=dovecot.uid, gid=dovecot.gid)
    config = write_config(home, jobber_url=f"http://127.0.0.1:{jobber_port}", imap_port=dovecot.imaps_port,
                          ca_file=dovecot.ca_file, username=USER, ledger_timeout=LEDGER_TIMEOUT)
    app_name = f"closeout-worker-{os.getpid()}"
    worker_url = services.with_application_name(db_url, app_name)
    env = services.worker_env(home, worker_url, {
        f"CLOSEOUT_IMAP_PASSWORD_FIELD_{CSV_COMPANY}".upper().replace("-", "_"): PASSWORD,
        **{f"CLOSEOUT_JOBBER_{kind}_{JOBBER_COMPANY}".upper().replace("-", "_"): value
           for kind, value in (("client_id", "campaign"), ("client_secret", "campaign-secret"),
                               ("refresh_token", FAKE_REFRESH_TOKEN))}})
    from storage import open_store

    open_store(db_url).close()  # migrate once, before two workers race to
    qbo, xero = QboStore(home / "sandbox"), XeroStore(home / "sandbox")
    _set_ledger_chaos(qbo, xero, ledger_rate)
    for store, company in ((qbo, REALM), (xero, TENANT)):  # each kind at least once, whatever chance draws
        for kind in LEDGER_FAULTS:
            store.add_fault(company, kind, seconds=LEDGER_TIMEOUT * 1.5)
    watcher = sa.create_engine(db_url, poolclass=NullPool)
    mail_pending = lambda: services.progress(watcher)["messages_stored"] < workload.messages  # noqa: E731
    injectors = [Injector("database_connections_terminated", connection_dropper(db_url, app_name), low=5, high=12,
                          seed=workload.seed),
                 Injector("dovecot_killed_and_restarted", dovecot_bouncer(dovecot), low=6, high=15,
                          seed=workload.seed + 1, active=mail_pending)]
    stop_file = home / "stop"
    log = home / "workers.log"
    workers = [services.start_worker(env, config, stop_file, 5, log) for _ in range(2)]
    try:
        for injector in injectors:
            injector.start()
        say(f"campaign: {workload.jobs} jobs ({workload.csv_jobs} CSV, {workload.jobber_jobs} Jobber), "
            f"{workload.messages} messages, 2 workers on PostgreSQL, home {home}")
        deadline = time.monotonic() + time_limit
        later = _LaterChanges(home, watcher, workload, say)
        killed = _drive(workers, kills, rng, watcher, workload, deadline,
                        lambda: services.start_worker(env, config, stop_file, 5, log), say,
                        struck=lambda: injectors[0].count > 0, later=later)
        for injector in injectors:
            injector.stop()
        _set_ledger_chaos(qbo, xero, 0.0)
        fake.rate = 0.0
        if dovecot.process is None:
            dovecot.start()
        stop_file.touch()
        for worker in workers:
            try:
                worker.wait(timeout=max(FINISH_SECONDS, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                result.defects.append("a worker did not finish its work after the faults stopped")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        for injector in injectors:
            injector.stop()
    result.injected.update({"closeout_worker_sigkilled": killed, **{i.name: i.count for i in injectors}})
    result.injected.update(fake.injected)
    for system, store, company in (("qbo", qbo, REALM), ("xero", xero, TENANT)):
        result.injected.update({f"ledger_{system}_{kind}": n for kind, n in store.chaos_drawn(company).items()})
        result.injected.update({f"ledger_{system}_{kind}": n for kind, n in _queued_used(store, company).items()})
    result.defects += _defects(home / "worker-errors.log")
    result.audit = _audit(env, config)
    seen = result.audit.get("jobs_seen", 0), result.audit.get("mail", {}).get("messages_seen", 0)
    if seen[0] != workload.jobs:
        result.missing.append(f"{workload.jobs} jobs generated, {seen[0]} in the store")
    if seen[1] != workload.messages:
        result.missing.append(f"{workload.messages} messages delivered, {seen[1]} in the store")
    result.cases = services.case_kinds(watcher)
    result.corrections = {**{f"changed: {kind}": n for kind, n in later.done.items()},
                          **services.correction_steps(watcher)}
    refused = {name: n for name, n in result.corrections.items() if name.endswith("/rejected")}
    if refused:
        result.defects.append(f"the ledger refused correction steps: {refused}")
    if not later.done:
        result.defects.append("no invoiced job was changed later: the corrections were not exercised")
    watcher.dispose()
    return result


class _LaterChanges:
    """Changes some invoiced CSV jobs once a share of them is invoiced (``reliability.later_changes``)."""

    def __init__(self, home: Path, watcher, workload, say) -> None:
        self.home, self.watcher, self.workload, self.say = home, watcher, workload, say
        self.count = max(10, workload.csv_jobs // 50)
        self.done: Counter = Counter()

    def __call__(self) -> None:
        if self.done:
            return
        jobs = invoiced_jobs(self.watcher, CSV_COMPANY)
        if len(jobs) < max(2 * self.count, self.workload.csv_jobs // 5):
            return
        with running_sandbox(self.home / "sandbox") as url:  # the workers' sandbox state, its faults included
            self.done = change_invoiced_jobs(self.home / "jobs", jobs, count=self.count, seed=self.workload.seed,
                                             pay=qbo_payer(url, REALM))
        qbo = QboStore(self.home / "sandbox")
        for kind in LEDGER_FAULTS:  # each kind at least once more while the corrections are sent
            qbo.add_fault(REALM, kind, seconds=LEDGER_TIMEOUT * 1.5)
        self.say(f"  later changes to invoiced jobs: {dict(self.done)}")


def _drive(workers, kills, rng, watcher, workload, deadline, restart, say, struck=lambda: True,
           later=lambda: None) -> int:
    """Watch the workers' progress and SIGKILL one at random moments (restarting it) until the work is done,
    ``kills`` kills happened and ``struck()`` (the database was dropped at least once: a small workload can
    finish before the first drop), or the deadline; returns the number of kills."""
    killed, started = 0, time.monotonic()
    gap = max(6.0, workload.jobs / 200)  # kills spread over the run: pull, mail, prepare and push all get hit
    next_kill = time.monotonic() + rng.uniform(0.3, 1.0) * gap
    next_report = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = services.progress(watcher)
        if time.monotonic() >= next_report:
            say(f"  [{time.monotonic() - started:4.0f} s] progress: {_short(now)}")
            next_report += 15
        later()
        done = (now["jobs_landed"] >= workload.jobs and now["messages_stored"] >= workload.messages
                and now["unevaluated"] == 0 and now["drafts_waiting"] == 0
                and bool(getattr(later, "done", True)) and now["corrections_waiting"] == 0
                and now["correction_steps_unsent"] == 0)
        if killed >= kills and done and struck():
            break
        if time.monotonic() >= next_kill and killed < kills:
            victim = killed % len(workers)  # each worker in turn; the moments are random
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            killed += 1
            say(f"  [{time.monotonic() - started:4.0f} s] SIGKILL worker {victim + 1} ({killed}/{kills}) at {_short(now)}")
            workers[victim] = restart()
            next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * gap
    return killed


def _short(progress: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in progress.items())


def _queued_used(store: QboStore | XeroStore, company: str) -> Counter:
    """The queued faults the ledger sandbox has used up, by kind."""
    with store.transaction() as db:
        rows = db.execute(f"SELECT kind, remaining FROM {store.FAULTS_TABLE} WHERE {store.COMPANY_COLUMN} = ?",
                          (company,)).fetchall()
    used: Counter = Counter()
    for kind, remaining in rows:
        used[kind] += 1 - remaining
    return used


def _set_ledger_chaos(qbo: QboStore, xero: XeroStore, rate: float) -> None:
    qbo.set_chaos(REALM, rate=rate, kinds=LEDGER_FAULTS, seconds=LEDGER_TIMEOUT * 1.5)
    xero.set_chaos(TENANT, rate=rate, kinds=LEDGER_FAULTS, seconds=LEDGER_TIMEOUT * 1.5)


def _defects(log: Path) -> list[str]:
    """Failures the workers logged that were not a fault of a system beside us (each a traceback)."""
    if not log.exists():
        return []
    lines = [line.split("\t") for line in log.read_text(encoding="utf-8").splitlines()]
    return sorted({f"{parts[2]}: {parts[3]}: {parts[4][-400:]}" for parts in lines if len(parts) > 4
                   and parts[1] == "defect"})


def _audit(env: dict[str, str], config: Path) -> dict:
    done = subprocess.run([str(Path(sys.executable).with_name("closeout")), "audit", "--json", "--config", str(config)],
                          env=env, cwd=services.REPO, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"ok": False, "error": (done.stdout + done.stderr)[-2000:]}


def print_result(result: Result, say=print) -> None:
    say("\nInjected faults:")
    for name, n in sorted(result.injected.items()):
        say(f"  {name:<44} {n:>6}")
    audit = result.audit
    say("\nAudit (closeout audit --json):")
    for name in ("jobs_seen", "work_orders", "invoices_pushed", "ledger_invoices_found", "cases_total", "open_cases"):
        say(f"  {name:<44} {audit.get(name, '?'):>6}")
    for place, n in sorted(audit.get("accounted", {}).items()):
        say(f"  {'jobs ending in: ' + place:<44} {n:>6}")
    mail = audit.get("mail", {})
    say(f"  {'messages_seen':<44} {mail.get('messages_seen', '?'):>6}")
    for place, n in sorted(mail.get("accounted", {}).items()):
        say(f"  {'messages ending in: ' + place:<44} {n:>6}")
    for kind, n in sorted(result.cases.items()):
        say(f"  {'cases: ' + kind:<44} {n:>6}")
    for kind, n in sorted(result.corrections.items()):
        say(f"  {'corrections: ' + kind:<44} {n:>6}")
    for name in ("duplicates_in_ledger", "duplicate_push_records", "missing_in_ledger", "ledger_disagreements",
                 "pending", "unaccounted"):
        say(f"  {name:<44} {len(audit.get(name, [])):>6}")
    say(f"  {'failed invariants':<44} {', '.join(audit.get('failures', [])) or 'none'}")
    for line in result.missing + result.defects:
        say(f"PROBLEM: {line}")
    if "error" in audit:
        say(f"PROBLEM: the audit did not run: {audit['error']}")
    verdict = "PASSED" if result.ok else "FAILED"
    say(f"\nCampaign {verdict} in {result.seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000, help="jobs in all, half CSV, half Jobber")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs of a worker")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None, help="keep the workspace here (default: a temp folder)")
    args = parser.parse_args(argv)
    workload = Workload(csv_jobs=args.jobs - args.jobs // 2, jobber_jobs=args.jobs // 2, messages=args.messages,
                        seed=args.seed)
    result = run_campaign(workload, kills=args.kills, home=args.home)
    print_result(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (workers, Dovecot, database) when stopped
    sys.exit(main())
