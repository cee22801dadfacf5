"""The store: SQLAlchemy tables, repositories and Alembic migrations."""
