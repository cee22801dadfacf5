"""The campaign's fault injectors that run beside the workers: dropped database connections and a bouncing Dovecot."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from sandbox.dovecot_server import DovecotServer


class Injector(threading.Thread):
    """Calls ``strike`` every ``low``..``high`` seconds (once ``active()``), at most ``limit`` times, until stopped;
    counts what it did."""

    def __init__(self, name: str, strike: Callable[[], int], *, low: float, high: float, seed: int,
                 active: Callable[[], bool] = lambda: True, limit: int | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.strike, self.low, self.high, self.active, self.limit = strike, low, high, active, limit
        self.count = 0
        self.errors: list[str] = []
        self._rng = random.Random(seed)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._rng.uniform(self.low, self.high)):
            if self.limit is not None and self.count >= self.limit:
                return
            try:
                while not self.active():  # wait for the moment it aims at (mail still fetched, a flow run running)
                    if self._stop_event.wait(1.0):
                        return
                self.count += self.strike()
            except Exception as exc:  # noqa: BLE001 - an injector must never end the campaign
                self.errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")

    @property
    def done(self) -> bool:
        """Whether it struck at least once (and all ``limit`` times, when it has a limit)."""
        return self.count >= (self.limit or 1)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=30)


def connection_dropper(admin_url: str, application_name: str) -> Callable[[], int]:
    """``pg_terminate_backend`` every connection the workers opened (they carry ``application_name``)."""
    engine = sa.create_engine(admin_url, poolclass=NullPool)

    def strike() -> int:
        with engine.connect() as connection:
            return len(connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"), {"name": application_name}).all())

    return strike


def dovecot_bouncer(server: DovecotServer, *, down_seconds: float = 1.0) -> Callable[[], int]:
    """SIGKILL Dovecot's whole process group (sessions mid-fetch included), wait, start it on the same ports."""
    def strike() -> int:
        server.stop()
        time.sleep(down_seconds)
        server.start()
        return 1

    return strike


def database_restarter(cluster) -> Callable[[], int]:
    """Stop the campaign's private PostgreSQL (``fast``, then ``immediate``: a crash and recovery, in turn) and
    start it again; every connection of the workers, the Prefect server and its flow runs goes with it."""
    modes = iter(("fast", "immediate") * 1000)

    def strike() -> int:
        cluster.restart(next(modes), down_seconds=2.0)
        return 1

    return strike


def merge_counts(*named: tuple[str, int | Counter | dict]) -> Counter:
    total: Counter = Counter()
    for name, value in named:
        if isinstance(value, int):
            total[name] += value
        else:
            total.update({f"{name}{key}" if name else key: n for key, n in value.items()})
    return total
