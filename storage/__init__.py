"""The store: SQLAlchemy tables, repositories and Alembic migrations."""

from storage.database import open_store
from storage.unit_of_work import SqlStore, SqlUnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork", "open_store"]
