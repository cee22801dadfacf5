"""What the campaign stands up and tears down: a private PostgreSQL database, worker processes, their progress."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REPO = Path(__file__).resolve().parent.parent


@contextmanager
def private_database(server_url: str) -> Iterator[str]:
    """A new database on the server, dropped (its connections with it) afterwards; yields its URL."""
    name = f"closeout_campaign_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def with_application_name(url: str, name: str) -> str:
    return sa.make_url(url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def start_worker(env: dict[str, str], config: Path, stop_file: Path, stale_seconds: float,
                 log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:
        return subprocess.Popen([sys.executable, "-m", "reliability.worker", str(config), str(stop_file),
                                 str(stale_seconds)], env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)


def worker_env(home: Path, database_url: str, secrets: dict[str, str]) -> dict[str, str]:
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    env = {**os.environ, "CLOSEOUT_HOME": str(home), "CLOSEOUT_DATABASE_URL": database_url, "PYTHONPATH": pythonpath,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "CLOSEOUT_LEDGER_TIME_SCALE": "60", **secrets}  # the sandbox is not rate limited: pace as if it were 60x
    env.pop("CLOSEOUT_CONFIG", None)
    return env


PROGRESS_SQL = {
    "jobs_landed": "SELECT COUNT(*) FROM (SELECT DISTINCT source, external_id FROM raw_payloads) AS jobs",
    "messages_stored": "SELECT COUNT(*) FROM mail_messages",
    "unevaluated": "SELECT COUNT(*) FROM work_order_versions v WHERE v.version = (SELECT MAX(w.version) FROM "
                   "work_order_versions w WHERE w.work_order_id = v.work_order_id) AND NOT EXISTS (SELECT 1 FROM "
                   "rule_decisions d WHERE d.work_order_id = v.work_order_id AND d.work_order_version = v.version)",
    "drafts_waiting": "SELECT COUNT(*) FROM push_records WHERE status IN ('ready', 'pushing', 'uncertain')",
    "invoices_pushed": "SELECT COUNT(*) FROM push_records WHERE status = 'pushed'",
    "corrections_waiting": "SELECT COUNT(*) FROM cases WHERE kind = 'changed_after_invoiced' AND status IN "
                           "('open', 'in_progress')",
    "correction_steps_unsent": "SELECT COUNT(*) FROM corrections WHERE status IN ('planned', 'sending', 'uncertain')",
}


def progress(engine: sa.Engine) -> dict[str, int]:
    """How far the workers got (zero for a table not created yet)."""
    found = {}
    with engine.connect() as connection:
        for name, sql in PROGRESS_SQL.items():
            try:
                found[name] = connection.execute(sa.text(sql)).scalar_one()
            except sa.exc.ProgrammingError:
                connection.rollback()
                found[name] = 0
    return found


def correction_steps(engine: sa.Engine) -> dict[str, int]:
    """Correction steps by kind and status (``kind/status``), for the campaign's report."""
    with engine.connect() as connection:
        try:
            rows = connection.execute(sa.text("SELECT kind, status, COUNT(*) FROM corrections GROUP BY kind, status"))
        except sa.exc.ProgrammingError:
            return {}
        return {f"{kind}/{status}": n for kind, status, n in rows}


def case_kinds(engine: sa.Engine) -> dict[str, int]:
    """Cases by kind and status (``kind/status``), for the campaign's report."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT kind, status, COUNT(*) FROM cases GROUP BY kind, status"))
        return {f"{kind}/{status}": n for kind, status, n in rows}
