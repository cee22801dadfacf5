"""SqlMappingOverrides: mapping-table entries people added from the queue, merged over the config's tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.tables import insert_for, mapping_overrides

_m = mapping_overrides


class SqlMappingOverrides:
    def __init__(self, session: Session, *, clock: Callable[[], datetime]) -> None:
        self._session = session
        self._clock = clock

    def put(self, *, company: str, table: str, key: str, value: str, actor: str) -> str | None:
        """Set ``table[key] = value`` for the company; return the value it replaced, if any."""
        previous = self._session.execute(
            sa.select(_m.c.value).where((_m.c.company == company) & (_m.c.table_name == table) & (_m.c.key == key))
        ).scalar_one_or_none()
        statement = insert_for(self._session, _m).values(
            company=company, table_name=table, key=key, value=value, added_by=actor, added_at=self._clock()
        )
        self._session.execute(statement.on_conflict_do_update(
            index_elements=[_m.c.company, _m.c.table_name, _m.c.key],
            set_={"value": value, "added_by": actor, "added_at": self._clock()},
        ))
        return previous

    def for_company(self, company: str) -> dict[str, dict[str, str]]:
        """``{table: {key: value}}`` for every override the company has."""
        tables: dict[str, dict[str, str]] = {}
        rows = self._session.execute(sa.select(_m).where(_m.c.company == company).order_by(_m.c.table_name, _m.c.key))
        for row in rows.mappings():
            tables.setdefault(row["table_name"], {})[row["key"]] = row["value"]
        return tables
