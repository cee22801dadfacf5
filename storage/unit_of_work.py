"""SqlStore and its units of work: one Session, one transaction, every repository sharing it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.sql_audit import SqlAuditLog
from storage.sql_cases import SqlCases
from storage.sql_corrections import SqlCorrections
from storage.sql_decisions import SqlDecisions
from storage.sql_landing import SqlCursors, SqlRawLanding
from storage.sql_messages import SqlMessages
from storage.sql_notifications import SqlNotifications
from storage.sql_overrides import SqlMappingOverrides
from storage.sql_cutovers import SqlCutovers
from storage.sql_push_evidence import SqlPushEvidence
from storage.sql_push_records import SqlPushRecords
from storage.sql_retention import SqlRetention
from storage.sql_users import SqlUsers
from storage.sql_web_sessions import SqlSignInFailures, SqlWebSessions
from storage.sql_webhook_deliveries import SqlWebhookDeliveries
from storage.sql_work_orders import SqlWorkOrders


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SqlUnitOfWork:
    """``workorders.ports.UnitOfWork`` on one Session: nothing is visible to others until ``commit``.

    After a commit the next statement opens a new transaction, so one unit of work may commit page by
    page. Leaving the ``with`` block rolls back whatever was not committed and returns the connection.
    """

    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime]) -> None:
        self._session = sessions()
        self.raw = SqlRawLanding(self._session, clock=clock)
        self.work_orders = SqlWorkOrders(self._session, clock=clock)
        self.decisions = SqlDecisions(self._session, clock=clock)
        self.push_records = SqlPushRecords(self._session, clock=clock)
        self.push_evidence = SqlPushEvidence(self._session, clock=clock)
        self.corrections = SqlCorrections(self._session, clock=clock)
        self.cursors = SqlCursors(self._session, clock=clock)
        self.cases = SqlCases(self._session)
        self.messages = SqlMessages(self._session, clock=clock)
        self.clock = clock
        self.users = SqlUsers(self._session, clock=clock)
        self.mapping_overrides = SqlMappingOverrides(self._session, clock=clock)
        self.cutovers = SqlCutovers(self._session, clock=clock)  # services.cutover
        self.audit = SqlAuditLog(self._session, clock=clock)
        self.webhook_deliveries = SqlWebhookDeliveries(self._session, clock=clock)
        self.web_sessions = SqlWebSessions(self._session, clock=clock)
        self.sign_in_failures = SqlSignInFailures(self._session, clock=clock)
        self.retention = SqlRetention(self._session, clock=clock)  # services.retention and services.erasure
        self.notifications = SqlNotifications(self._session, clock=clock)  # services.notify

    def commit(self) -> None:
        self._session.commit()

    def rollback(self) -> None:
        self._session.rollback()

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._session.rollback()
        finally:
            self._session.close()


class _EachCallCommits:
    """A repository whose every method call runs in its own unit of work and commits at once.

    For the app's one-off reads (audit counts, listings); work that must be atomic uses ``unit_of_work()``.
    """

    def __init__(self, store: SqlStore, name: str, repository: type) -> None:
        self._store = store
        self._name = name
        self._repository = repository

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_") or not callable(getattr(self._repository, method, None)):
            raise AttributeError(f"{self._repository.__name__} has no method {method!r}")

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._store.unit_of_work() as uow:
                result = getattr(getattr(uow, self._name), method)(*args, **kwargs)
                if isinstance(result, Iterator):
                    result = iter(list(result))
                uow.commit()
                return result

        return call


class SqlStore:
    """The store on one engine. ``unit_of_work()`` for transactions; ``raw``, ``cases``, ... for one-off calls."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._clock = clock or _utcnow
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, clock=self._clock)

    @property
    def raw(self) -> SqlRawLanding:
        return cast(SqlRawLanding, _EachCallCommits(self, "raw", SqlRawLanding))

    @property
    def work_orders(self) -> SqlWorkOrders:
        return cast(SqlWorkOrders, _EachCallCommits(self, "work_orders", SqlWorkOrders))

    @property
    def decisions(self) -> SqlDecisions:
        return cast(SqlDecisions, _EachCallCommits(self, "decisions", SqlDecisions))

    @property
    def push_records(self) -> SqlPushRecords:
        return cast(SqlPushRecords, _EachCallCommits(self, "push_records", SqlPushRecords))

    @property
    def cursors(self) -> SqlCursors:
        return cast(SqlCursors, _EachCallCommits(self, "cursors", SqlCursors))

    @property
    def cases(self) -> SqlCases:
        return cast(SqlCases, _EachCallCommits(self, "cases", SqlCases))

    @property
    def web_sessions(self) -> SqlWebSessions:
        """The UI's sign-ins, each call committed at once: what ``create_app(sign_ins=store)`` keeps them in."""
        return cast(SqlWebSessions, _EachCallCommits(self, "web_sessions", SqlWebSessions))

    @property
    def sign_in_failures(self) -> SqlSignInFailures:
        """The UI's failed sign-ins, each call committed at once: what the sign-in throttle counts across processes."""
        return cast(SqlSignInFailures, _EachCallCommits(self, "sign_in_failures", SqlSignInFailures))

    def close(self) -> None:
        """Close every pooled connection; the store is not used afterwards."""
        self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
