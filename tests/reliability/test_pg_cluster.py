"""The campaign's private PostgreSQL cluster: its own server, stopped fast or immediately and started again."""

from __future__ import annotations

import glob
import os

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from reliability.pg_cluster import private_cluster


@pytest.fixture
def postgres_binaries() -> None:
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail("PostgreSQL server binaries are required under CI=true")
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")


@pytest.mark.postgres
def test_a_private_cluster_keeps_committed_rows_through_a_fast_and_an_immediate_restart_and_is_removed_after(
        postgres_binaries):
    with private_cluster() as cluster:
        cluster.create_database("kept")
        engine = sa.create_engine(cluster.url("kept"), poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (n int)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
        held = engine.connect()
        held.execute(sa.text("SELECT 1"))

        cluster.restart("fast", down_seconds=0)
        with pytest.raises(sa.exc.OperationalError):  # a session open across the restart is gone
            held.execute(sa.text("SELECT 1"))
        cluster.restart("immediate", down_seconds=0)  # a crash: recovery on start

        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2
        assert cluster.running()
        folder = cluster.folder
    assert not folder.exists() and not cluster.running()
