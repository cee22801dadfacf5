"""A demo workspace made once per test module by `closeout demo`, and a private copy of it for each test, worked
with the installed `closeout` command in a child process as a coordinator or a script would.

Child processes, not typer's in-process runner: an in-process run sets up Prefect's logging in a way later tests
of this repository trip on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def lines(self) -> list[str]:
        """The output's non-empty lines, without Prefect's own log lines (a temporary server's start and stop)."""
        return [line for line in self.output.splitlines() if line.strip() and "| INFO " not in line]


class Closeout:
    """`closeout ARGS` against one workspace (``home``) and the test session's Prefect API."""

    def __init__(self, home: Path, api_url: str) -> None:
        self.home = home
        self._env = {**os.environ, "CLOSEOUT_HOME": str(home), "PREFECT_API_URL": api_url, "COLUMNS": "200",
                     "NO_COLOR": "1"}
        for name in ("CLOSEOUT_DATABASE_URL", "CLOSEOUT_CONFIG"):
            self._env.pop(name, None)

    def __call__(self, *args: str, stdin: str | None = None) -> Ran:
        done = subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, env=self._env, input=stdin,
                              timeout=300)
        return Ran(done.returncode, done.stdout, done.stderr)

    def store_url(self) -> str:
        return f"sqlite:///{self.home / 'closeout.db'}"


@pytest.fixture(scope="module")
def prefect_api_url(prefect_api) -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, prefect_api_url) -> tuple[Path, Ran]:
    """The workspace after `closeout demo`, and what the demo printed."""
    home = tmp_path_factory.mktemp("demo") / "workspace"
    ran = Closeout(home, prefect_api_url)("demo")
    assert ran.exit_code == 0, ran.output
    return home, ran


@pytest.fixture
def closeout(demo_run, tmp_path, prefect_api_url) -> Closeout:
    """`closeout` on this test's own copy of the demo workspace (the demo's config lives in it too)."""
    home = tmp_path / "workspace"
    shutil.copytree(demo_run[0], home)
    return Closeout(home, prefect_api_url)
