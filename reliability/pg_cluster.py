"""A private PostgreSQL cluster for the campaign (initdb + pg_ctl in a temp folder), so it can be stopped mid-run.

The machine's shared PostgreSQL serves other tests and is never restarted; this cluster is the campaign's
own: trust authentication on 127.0.0.1 and a free port, run as the ``postgres`` user when we are root
(``initdb`` refuses root), removed afterwards.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgCluster:
    """One cluster: ``start()``, ``stop(mode)`` (``fast`` or ``immediate``), ``url(database)``."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder, self.port = folder, port or _free_port()
        self.data, self.log = folder / "data", folder / "postgres.log"
        self.bin = _bin_dir()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as, *args], capture_output=True, text=True, check=check, timeout=180)

    def init(self) -> PgCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self._user, "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.folder}'"
                       "\nmax_connections = 200\nfsync = off\nfull_page_writes = off\n")
            # fsync off is safe here: an immediate stop kills the server, not the machine, so what was written
            # to the OS stays. synchronous_commit must stay on: off, a crash loses commits already reported.
        return self

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop", check=False)

    def running(self) -> bool:
        return self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status", check=False).returncode == 0

    def restart(self, mode: str = "fast", down_seconds: float = 1.0) -> None:
        """Stop (``fast``: sessions ended, a checkpoint; ``immediate``: a crash, recovery on start), wait, start."""
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self._user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        engine = sa.create_engine(self.url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()


@contextmanager
def private_cluster(parent: Path | None = None) -> Iterator[PgCluster]:
    """A started private cluster in a new temp folder; stopped and removed afterwards, whatever happened."""
    folder = Path(tempfile.mkdtemp(prefix="closeout-campaign-pg-", dir=parent))
    os.chmod(folder, 0o755)
    cluster = PgCluster(folder / "pg").init()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
