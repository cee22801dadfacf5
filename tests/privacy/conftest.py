"""Fixtures of the privacy tests: a finished pipeline run on SQLite (copied per test) or on a PostgreSQL schema."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from privacy_workspace import Workspace, write_workspace
from tests.storage.conftest import postgres_server, private_schema  # noqa: F401  (postgres_server is a fixture)


@pytest.fixture(scope="module")
def sqlite_run(tmp_path_factory) -> Path:
    """One finished run on SQLite per module; each test works on a copy (``workspace``)."""
    home = tmp_path_factory.mktemp("privacy") / "workspace"
    write_workspace(home)
    Workspace(home, f"sqlite:///{home / 'closeout.db'}").run()
    return home


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def workspace(request, sqlite_run, tmp_path) -> Iterator[Workspace]:
    """A finished run of its own: a copy of the module's SQLite run, or a new run on a private PostgreSQL schema."""
    home = tmp_path / "workspace"
    if request.param == "sqlite":
        shutil.copytree(sqlite_run, home)
        yield Workspace(home, f"sqlite:///{home / 'closeout.db'}")
        return
    with private_schema(request.getfixturevalue("postgres_server")) as url:
        write_workspace(home)
        ran = Workspace(home, url)
        ran.run()
        yield ran
