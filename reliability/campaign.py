"""The fault campaign: the whole pipeline on a generated workload while every dependency fails, then the audit.

    python -m reliability.campaign [--jobs 5000] [--messages 5000] [--kills 5] [--seed 7] [--small]

Two worker processes run the pipeline at once on a private PostgreSQL cluster (its own initdb, so it can be
stopped mid-run), and beside them Prefect process workers run the ``pipeline`` deployment of prefect.yaml
against a Prefect server on that same cluster (``reliability.prefect_fleet``). Once a share of the CSV jobs
is invoiced, some of them change at the source (reliability.later_changes: a touch, a returned part, a price
cut, an added line, a cancellation, some after the invoice was paid) and the workers apply the corrections by
the company's policy. Meanwhile: the fake Jobber
answers 5xx, 429 and malformed pages; the ledger sandbox (QBO and Xero) injects 5xx, 429, timeouts, resets
and lost responses; the workers' database connections are terminated; Dovecot is killed and restarted while
mail is being fetched; a worker is SIGKILLed at random moments and started again; the PostgreSQL cluster is
stopped (fast, then immediate) and started again; the Prefect server is restarted and its workers SIGKILLed
with their flow runs; CSV files grow while read, end in a cut row, and are renamed (``reliability.csv_faults``);
hostile and oversized mail arrives among the field mail, with forged evidence (a stranger's signature.png, a
sign-off whose server says spf=fail; dmarc=fail) for jobs ``sign_off_required`` blocks (``reliability.hostile_inputs``).
Then the faults stop, the workers finish, ``closeout audit --json`` judges the invariants, and each forged message
must be kept and placed with its job still blocked and not invoiced. Exit 0 only when the audit passes and
every generated job and message is in the store.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from reliability import services
from reliability.csv_faults import CsvFaults
from reliability.hostile_inputs import (FORGED, MAX_ATTACHMENT_BYTES, MAX_MESSAGE_BYTES, ForgedOutcome,
                                       audit_forged_evidence, forged_targets, hostile_messages)
from reliability.pg_cluster import private_cluster
from reliability.prefect_fleet import PrefectFleet
from reliability.later_changes import change_invoiced_jobs, invoiced_jobs, qbo_payer
from reliability.fault_jobber import FaultyJobber, serve_in_thread
from reliability.faults import Injector, connection_dropper, database_restarter, dovecot_bouncer
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
    prefect_runs: dict[str, int] = field(default_factory=dict)
    """The campaign's ``closeout-pipeline`` flow runs in Prefect, by final state."""
    forged: list[ForgedOutcome] = field(default_factory=list)
    """What became of each forged-evidence message and its blocked job (``hostile_inputs.audit_forged_evidence``)."""

    @property
    def ok(self) -> bool:
        return bool(self.audit.get("ok")) and not self.missing and not self.defects


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Harder:
    """The campaign's harder faults, each off at 0; ``pg_url`` given to run_campaign turns the database ones off
    (a shared server is never restarted)."""

    database_restarts: int = 0
    prefect_workers: int = 0
    """Prefect process workers running the pipeline deployment (0: no Prefect server at all)."""
    prefect_kills: int = 0
    prefect_server_restarts: int = 0
    csv_fault_jobs: int = 0
    hostile_mail: bool = False


DEFAULT_HARDER = Harder(database_restarts=3, prefect_workers=2, prefect_kills=3, prefect_server_restarts=2,
                        csv_fault_jobs=150, hostile_mail=True)


def run_campaign(workload: Workload, *, kills: int = 5, pg_url: str | None = None, home: Path | None = None,
                 ledger_rate: float = 0.03, source_rate: float = 0.1, time_limit: float = 780.0,
                 harder: Harder = Harder(), say=print) -> Result:
    """Run the campaign in ``home`` (a temporary folder by default); everything it started is stopped after.
    Without ``pg_url`` the database is a private cluster of the campaign's own, restarted ``harder.database_restarts``
    times; with one, a database on that server (never restarted)."""
    started = time.monotonic()
    home = home or Path(tempfile.mkdtemp(prefix="closeout-campaign-"))
    home.mkdir(parents=True, exist_ok=True)
    rng = random.Random(workload.seed)
    dovecot = DovecotServer().start()
    fake = FaultyJobber(workload.jobber_jobs, seed=workload.seed, rate=source_rate)
    jobber_port = _free_port()
    jobber = serve_in_thread(fake, jobber_port)
    try:
        if pg_url:
            prefect_side = services.private_database(pg_url) if harder.prefect_workers else nullcontext()
            with services.private_database(pg_url) as db_url, prefect_side as prefect_db:
                result = _campaign(workload, kills, home, rng, dovecot, fake, jobber_port, db_url, ledger_rate,
                                   time_limit, say, harder=replace(harder, database_restarts=0),
                                   prefect_database=prefect_db)
        else:
            with private_cluster() as cluster, services.private_database(cluster.url()) as db_url:
                result = _campaign(workload, kills, home, rng, dovecot, fake, jobber_port, db_url, ledger_rate,
                                   time_limit, say, harder=harder, cluster=cluster)
    finally:
        jobber.should_exit = True
        dovecot.remove()
    result.seconds = time.monotonic() - started
    return result


def _campaign(workload, kills, home, rng, dovecot, fake, jobber_port, db_url, ledger_rate, time_limit, say, *,
              harder: Harder, cluster=None, prefect_database: str | None = None) -> Result:
    result = Result()
    write_csv_drop(home / "jobs", workload.csv_jobs, seed=workload.seed)
    maildir = dovecot.dir / "mail" / USER / "Maildir"
    write_maildir(maildir, workload.messages, jobs=workload.csv_jobs, seed=workload.seed, uid=dovecot.uid,
                  gid=dovecot.gid)
    hostile = hostile_messages(workload.csv_jobs, seed=workload.seed) if harder.hostile_mail else {}
    for n, raw in enumerate(hostile.values()):
        path = maildir / "new" / f"{1_800_000_000 + n}.M{n}P2.hostile"
        path.write_bytes(raw)
        os.chown(path, dovecot.uid, dovecot.gid)
    result.injected.update({"hostile_mail_messages": len(hostile),
                            "hostile_mail_oversized": sum(1 for name in hostile if "_over_max_" in name),
                            "hostile_mail_forged_evidence": sum(1 for name in hostile if name in FORGED)})
    config = write_config(home, jobber_url=f"http://127.0.0.1:{jobber_port}", imap_port=dovecot.imaps_port,
                          ca_file=dovecot.ca_file, username=USER, ledger_timeout=LEDGER_TIMEOUT,
                          max_message_bytes=MAX_MESSAGE_BYTES, max_attachment_bytes=MAX_ATTACHMENT_BYTES)
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
    watch = _Watch(watcher)
    mail_pending = lambda: watch.now()["messages_stored"] < workload.messages + len(hostile)  # noqa: E731
    gap = max(20.0, workload.jobs / 80)  # the big faults spread over the run
    fleet = None
    if harder.prefect_workers:
        prefect_db = "prefect"
        if cluster is not None:
            cluster.create_database(prefect_db)
            prefect_url = cluster.url(prefect_db, driver="postgresql+asyncpg")
        else:  # on a shared server: a second private database, dropped with the store's
            prefect_url = sa.make_url(prefect_database).set(drivername="postgresql+asyncpg").render_as_string(
                hide_password=False)
        fleet = PrefectFleet(home, prefect_url, {**env, "CLOSEOUT_CONFIG": str(config)}, workers=harder.prefect_workers,
                             say=say)
        say(f"campaign: starting a Prefect server on PostgreSQL, deploying prefect.yaml's pipeline, "
            f"{harder.prefect_workers} process workers")
        fleet.start()
    csv_faults = CsvFaults(home / "jobs", harder.csv_fault_jobs, seed=workload.seed) if harder.csv_fault_jobs else None
    injectors = [Injector("database_connections_terminated", connection_dropper(db_url, app_name), low=5, high=12,
                          seed=workload.seed),
                 Injector("dovecot_killed_and_restarted", dovecot_bouncer(dovecot), low=6, high=15,
                          seed=workload.seed + 1, active=mail_pending)]
    started = time.monotonic()

    def announced(name: str, strike):
        def run() -> int:
            n = strike()
            if n:
                say(f"  [{time.monotonic() - started:4.0f} s] {name.replace('_', ' ')}")
            return n
        return run

    if cluster is not None and harder.database_restarts:
        injectors.append(Injector("database_restarted", announced("database restarted", database_restarter(cluster)), low=0.6 * gap, high=1.2 * gap,
                                  seed=workload.seed + 3, limit=harder.database_restarts))
    if fleet is not None and harder.prefect_server_restarts:
        injectors.append(Injector("prefect_server_restarted", announced("Prefect server restarted", fleet.restart_server), low=0.7 * gap, high=1.3 * gap,
                                  seed=workload.seed + 4, limit=harder.prefect_server_restarts, active=fleet.busy))
    if fleet is not None and harder.prefect_kills:
        injectors.append(Injector("prefect_worker_sigkilled_mid_flow_run",
                                  announced("SIGKILL a Prefect worker and its flow run", fleet.kill_busy_worker), low=0.4 * gap,
                                  high=0.9 * gap, seed=workload.seed + 5, limit=harder.prefect_kills, active=fleet.busy))
    stop_file, go_file = home / "stop", home / "go"
    env["CLOSEOUT_CAMPAIGN_GO"] = str(go_file)
    head_start = _HeadStart(go_file, gap if fleet else 0.0)  # the first pipeline run under Prefect works alone
    log = home / "workers.log"
    workers = [services.start_worker(env, config, stop_file, 5, log) for _ in range(2)]
    try:
        for injector in injectors:
            injector.start()
        if csv_faults:
            csv_faults.start()
        say(f"campaign: {workload.jobs} jobs ({workload.csv_jobs} CSV, {workload.jobber_jobs} Jobber) and "
            f"{harder.csv_fault_jobs} in CSV fault files, {workload.messages} messages and {len(hostile)} hostile, "
            f"2 workers on PostgreSQL" + (f" and {harder.prefect_workers} Prefect workers" if fleet else "")
            + f", home {home}")
        deadline = time.monotonic() + time_limit
        later = _LaterChanges(home, watch, workload, say, avoid=csv_faults.job_ids if csv_faults else set())
        expected = workload.jobs + harder.csv_fault_jobs, workload.messages + len(hostile)
        killed = _drive(workers, kills, rng, watch, expected, deadline,
                        lambda: services.start_worker(env, config, stop_file, 5, log), say,
                        struck=lambda: all(i.done for i in injectors if i.name != "dovecot_killed_and_restarted")
                        and (csv_faults is None or csv_faults.finished.is_set()),
                        later=later, tend=(lambda: (fleet.tend(), head_start())) if fleet else head_start, gap=gap,
                        first_kill_after=head_start.seconds)
        head_start.go()
        for injector in injectors:
            injector.stop()
        if csv_faults:
            csv_faults.stop()
        if cluster is not None and not cluster.running():
            cluster.start()
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
        if fleet is not None:
            if fleet.server is None or fleet.server.process.poll() is not None:
                fleet.restart_server(down_seconds=0)
            final = fleet.finish(timeout=FINISH_SECONDS)
            if final is None or final["state_type"] != "COMPLETED":
                result.defects.append("the last closeout-pipeline run under a Prefect worker did not complete: "
                                      + (f"{final['state_name']}: {final.get('state', {}).get('message', '')}"[:300]
                                         if final else "no end within the time limit"))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        for injector in injectors:
            injector.stop()
        if csv_faults and csv_faults.is_alive():
            csv_faults.stop()
        if fleet is not None:
            result.prefect_runs = dict(fleet.states())
            fleet.stop()
    result.injected.update({"closeout_worker_sigkilled": killed, **{i.name: i.count for i in injectors}})
    for injector in injectors:  # the counted big faults must work; a drop or bounce may miss while the database is down
        if injector.limit is not None:
            result.defects += [f"the {injector.name} injector failed: {error}" for error in injector.errors[:3]]
    if fleet is not None:
        result.injected.update(fleet.injected)
    if csv_faults:
        result.injected.update(csv_faults.injected)
    result.injected.update(fake.injected)
    for system, store, company in (("qbo", qbo, REALM), ("xero", xero, TENANT)):
        result.injected.update({f"ledger_{system}_{kind}": n for kind, n in store.chaos_drawn(company).items()})
        result.injected.update({f"ledger_{system}_{kind}": n for kind, n in _queued_used(store, company).items()})
    result.defects += _defects(home / "worker-errors.log")
    # the audit reads every ledger invoice back: with the workers' 1 s ledger timeout a busy machine makes a page
    # of 5,000 invoices time out, so it runs on the same config with a patient timeout, and once more if it fails
    audit_config = write_config(home, jobber_url=f"http://127.0.0.1:{jobber_port}", imap_port=dovecot.imaps_port,
                                ca_file=dovecot.ca_file, username=USER, ledger_timeout=60.0,
                                max_message_bytes=MAX_MESSAGE_BYTES, max_attachment_bytes=MAX_ATTACHMENT_BYTES,
                                name="audit.toml")
    for _ in range(3):
        result.audit = _audit(env, audit_config)
        if "error" not in result.audit:
            break
    seen = result.audit.get("jobs_seen", 0), result.audit.get("mail", {}).get("messages_seen", 0)
    if seen[0] != expected[0]:
        result.missing.append(f"{expected[0]} jobs generated, {seen[0]} in the store")
    if seen[1] != expected[1]:
        result.missing.append(f"{expected[1]} messages delivered, {seen[1]} in the store")
    result.cases = services.case_kinds(watcher)
    if harder.hostile_mail:
        result.forged = audit_forged_evidence(watcher, forged_targets(workload.csv_jobs, seed=workload.seed))
        result.defects += [problem for outcome in result.forged for problem in outcome.problems()]
    result.corrections = {**{f"changed: {kind}": n for kind, n in later.done.items()},
                          **services.correction_steps(watcher)}
    refused = {name: n for name, n in result.corrections.items() if name.endswith("/rejected")}
    if refused:
        result.defects.append(f"the ledger refused correction steps: {refused}")
    if not later.done:
        result.defects.append("no invoiced job was changed later: the corrections were not exercised")
    watcher.dispose()
    return result


class _HeadStart:
    """Lets the direct workers start (``go_file``) ``seconds`` after the first call."""

    def __init__(self, go_file: Path, seconds: float) -> None:
        self.go_file, self.seconds, self.first = go_file, seconds, None

    def __call__(self) -> None:
        self.first = self.first or time.monotonic()
        if time.monotonic() - self.first >= self.seconds:
            self.go()

    def go(self) -> None:
        if not self.go_file.exists():
            self.go_file.touch()


class _Watch:
    """The workers' progress, read from the store; the last reading while the database is down."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.last = {name: 0 for name in services.PROGRESS_SQL}

    def now(self) -> dict[str, int]:
        try:
            self.last = services.progress(self.engine)
        except sa.exc.DBAPIError:
            pass
        return self.last


class _LaterChanges:
    """Changes some invoiced CSV jobs once a share of them is invoiced (``reliability.later_changes``)."""

    def __init__(self, home: Path, watch: _Watch, workload, say, avoid: set[str] = frozenset()) -> None:
        self.home, self.watch, self.workload, self.say, self.avoid = home, watch, workload, say, avoid
        self.count = max(10, workload.csv_jobs // 50)
        self.done: Counter = Counter()

    def __call__(self) -> None:
        if self.done:
            return
        try:
            jobs = [job for job in invoiced_jobs(self.watch.engine, CSV_COMPANY)
                    if job[0].rsplit(":", 1)[-1] not in self.avoid]  # the CSV fault files' jobs stay as they are
        except sa.exc.DBAPIError:  # the database is restarting
            return
        if len(jobs) < max(2 * self.count, self.workload.csv_jobs // 5):
            return
        with running_sandbox(self.home / "sandbox") as url:  # the workers' sandbox state, its faults included
            self.done = change_invoiced_jobs(self.home / "jobs", jobs, count=self.count, seed=self.workload.seed,
                                             pay=qbo_payer(url, REALM))
        qbo = QboStore(self.home / "sandbox")
        for kind in LEDGER_FAULTS:  # each kind at least once more while the corrections are sent
            qbo.add_fault(REALM, kind, seconds=LEDGER_TIMEOUT * 1.5)
        self.say(f"  later changes to invoiced jobs: {dict(self.done)}")


def _drive(workers, kills, rng, watch, expected, deadline, restart, say, struck=lambda: True,
           later=lambda: None, tend=lambda: None, gap: float = 6.0, first_kill_after: float = 0.0) -> int:
    """Watch the workers' progress and SIGKILL one at random moments (restarting it) until the work is done,
    ``kills`` kills happened and ``struck()`` (the database was dropped at least once: a small workload can
    finish before the first drop), or the deadline; ``tend()`` keeps a Prefect run submitted; returns the number
    of kills. ``expected`` is (jobs, messages) in all."""
    killed, started = 0, time.monotonic()
    gap = max(6.0, gap / 2.5)  # kills spread over the run: pull, mail, prepare and push all get hit
    next_kill = time.monotonic() + first_kill_after + rng.uniform(0.3, 1.0) * gap
    next_report = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = watch.now()
        tend()
        if time.monotonic() >= next_report:
            say(f"  [{time.monotonic() - started:4.0f} s] progress: {_short(now)}")
            next_report += 15
        later()
        done = (now["jobs_landed"] >= expected[0] and now["messages_stored"] >= expected[1]
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
        for item in audit.get(name, [])[:5]:  # what failed, to start from
            say(f"      {json.dumps(item, default=str)[:300]}")
    say(f"  {'failed invariants':<44} {', '.join(audit.get('failures', [])) or 'none'}")
    if result.forged:
        say("\nForged evidence (kept and placed; its job still blocked by sign_off_required, not invoiced):")
        for outcome in result.forged:
            verdict = "released its job" if outcome.released else "not counted"
            say(f"  {outcome.name:<44} job {outcome.job}: {verdict}; kept {outcome.stored}x on "
                f"{outcome.placed_on or 'no job'} ({', '.join(outcome.standings) or 'no evidence'}), "
                f"invoiced {'yes' if outcome.invoiced else 'no'}, case open {'yes' if outcome.open_case else 'no'}")
    if result.prefect_runs:
        say("\nPrefect closeout-pipeline runs (process workers, by final state):")
        for state, n in sorted(result.prefect_runs.items()):
            say(f"  {state:<44} {n:>6}")
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
    parser.add_argument("--small", action="store_true",
                        help="a small run: 300 jobs, 300 messages, 2 kills, one of each harder fault")
    for name, what in (("database-restarts", "stops and starts of the private PostgreSQL"),
                       ("prefect-workers", "Prefect process workers (0: no Prefect)"),
                       ("prefect-kills", "SIGKILLs of a Prefect worker and its flow run"),
                       ("prefect-server-restarts", "restarts of the Prefect server"),
                       ("csv-fault-jobs", "jobs in the CSV fault files (growing, cut, renamed)")):
        parser.add_argument(f"--{name}", type=int, default=None, help=what)
    args = parser.parse_args(argv)
    if args.small:
        defaults = {"jobs": 5000, "messages": 5000, "kills": 5}
        for name, small in (("jobs", 300), ("messages", 300), ("kills", 2)):
            if getattr(args, name) == defaults[name]:
                setattr(args, name, small)
    workload = Workload(csv_jobs=args.jobs - args.jobs // 2, jobber_jobs=args.jobs // 2, messages=args.messages,
                        seed=args.seed)
    harder = DEFAULT_HARDER if not args.small else Harder(
        database_restarts=1, prefect_workers=2, prefect_kills=1, prefect_server_restarts=1, csv_fault_jobs=30,
        hostile_mail=True)
    harder = replace(harder, **{name: getattr(args, name) for name in ("database_restarts", "prefect_workers",
                                                                        "prefect_kills", "prefect_server_restarts",
                                                                        "csv_fault_jobs")
                                 if getattr(args, name) is not None})
    # the sandbox the later changes open in this process logs each injected reset as a traceback: noise here
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    result = run_campaign(workload, kills=args.kills, home=args.home, harder=harder)
    print_result(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (workers, Dovecot, database) when stopped
    sys.exit(main())
