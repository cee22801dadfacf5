"""The demo run with a known, unique value in every credential: none of them shows up anywhere but the
credential store (output, Prefect logs and artifacts, every table of the store, workspace files)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))
COMPANIES = ("northwind", "harbour")
KINDS = (
    "qbo-access-token", "qbo-client-id", "qbo-client-secret", "qbo-refresh-token",
    "xero-access-token", "xero-client-id", "xero-client-secret", "xero-refresh-token",
    "csv-drop-api-key", "jobber-client-id", "jobber-client-secret", "jobber-refresh-token",
    "housecallpro-api-key", "housecallpro-webhook-secret",
    "servicetitan-app-key", "servicetitan-client-id", "servicetitan-client-secret", "imap-password-field",
)
CREDENTIAL_STORE = ("tokens",)  # the workspace's 0600 token files: the one place secrets may be
LEDGER_SANDBOX = "sandbox"  # the fake ledgers' own state: they issued the OAuth tokens, so they hold them


def credential_env() -> dict[str, str]:
    """One unique value per credential variable the config can read, plus the UI's session secret."""
    from closeout.credentials.lookup import env_name

    names = [env_name(kind, company) for kind in KINDS for company in COMPANIES]
    names += ["CLOSEOUT_UI_SECRET", "CLOSEOUT_PASSWORD"]
    return {name: f"s3cret-{name.lower()}-{uuid.uuid4().hex}" for name in names}


@pytest.fixture(scope="module")
def fake_jobber() -> str:
    """The demo's fake Jobber (OAuth with rotating refresh tokens, GraphQL jobs) on a free port."""
    import uvicorn

    from sandbox.fake_jobber import create_fake_jobber

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_fake_jobber(), host="127.0.0.1", port=port, log_config=None,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the fake Jobber did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def demo_config_with_jobber(home: Path, jobber_url: str) -> Path:
    """The demo's config, its first company also fed by the fake Jobber, so Jobber credentials are really used."""
    from closeout.workspace import install_demo_config

    home.mkdir(parents=True, exist_ok=True)
    path = install_demo_config(home)
    text = path.read_text(encoding="utf-8")
    head, marker, rest = text.partition("\n[[companies]]\n")
    northwind, marker2, others = rest.partition("\n[[companies]]\n")
    jobber = f'\n[[companies.sources]]\nkind = "jobber"\nname = "jobber"\napi_url = "{jobber_url}"\n'
    path.write_text(head + marker + northwind + jobber + marker2 + others, encoding="utf-8")
    return path


def run_closeout(*args: str, home: Path, secrets: dict[str, str]) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, **secrets, "CLOSEOUT_HOME": str(home), "PREFECT_API_URL": PREFECT_API_URL.value(),
           "COLUMNS": "200", "NO_COLOR": "1"}
    for name in ("CLOSEOUT_DATABASE_URL", "CLOSEOUT_CONFIG"):
        env.pop(name, None)
    return subprocess.run([CLOSEOUT, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def demo_run(prefect_api, tmp_path_factory, fake_jobber):
    from sandbox.fake_jobber import FAKE_REFRESH_TOKEN

    home = tmp_path_factory.mktemp("leaks") / "workspace"
    secrets = credential_env()
    config = demo_config_with_jobber(home, fake_jobber)
    # The fake Jobber takes only its own first refresh token; the ones it rotates to are checked below.
    done = run_closeout("demo", "--config", str(config), home=home,
                        secrets={**secrets, "CLOSEOUT_JOBBER_REFRESH_TOKEN_NORTHWIND": FAKE_REFRESH_TOKEN})
    assert done.returncode in (0, 1) and "Closeout demo" in done.stdout, done.stdout + done.stderr
    secrets.pop("CLOSEOUT_JOBBER_REFRESH_TOKEN_NORTHWIND")
    issued = _issued_tokens(home)
    assert issued, "the demo's ledgers ran on OAuth tokens kept in the credential store"
    return {"home": home, "secrets": {**secrets, **issued}, "configured": secrets, "output": done.stdout + done.stderr}


def _issued_tokens(home: Path) -> dict[str, str]:
    """The OAuth tokens the ledger sandboxes issued during the run, read from the credential store."""
    found = {}
    for path in (home / "tokens").glob("*.json"):
        for key, value in json.loads(path.read_text()).items():
            if "token" in key and isinstance(value, str) and len(value) >= 16:
                found[f"{path.stem}:{key}"] = value
    return found


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets found in ``text``: whole, or their last 20 characters (a copy cut at the front);
    20 random characters never turn up by chance."""
    return [name for name, value in secrets.items() if value in text or value[-20:] in text]


def test_no_credential_appears_in_the_demos_output(demo_run):
    assert leaks(demo_run["output"], demo_run["secrets"]) == []


def _every(read, page: int = 200) -> list:
    """All of a Prefect listing, page by page."""
    found: list = []
    while len(batch := read(limit=page, offset=len(found))) == page:
        found += batch
    return found + batch


def test_no_credential_appears_in_prefect_logs_artifacts_runs_or_their_state_messages(demo_run):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        logs = _every(client.read_logs)
        artifacts = _every(client.read_artifacts)
        runs = _every(client.read_flow_runs)
        tasks = _every(client.read_task_runs)
        variables = client.read_variables()
    assert runs and logs, "the demo ran as Prefect flow runs"
    places = {
        **{f"log {log.id}": log.message for log in logs},
        **{f"artifact {a.key or a.id}": json.dumps(a.data, default=str) + str(a.description) for a in artifacts},
        **{f"flow run {run.name}": json.dumps(run.parameters, default=str) + str(run.state and run.state.message)
           for run in runs},
        **{f"task run {task.name}": json.dumps(task.task_inputs, default=str) + str(task.state and task.state.message)
           for task in tasks},
        **{f"variable {variable.name}": str(variable.value) for variable in variables}}
    found = [f"{place}: {name}" for place, text in places.items() for name in leaks(text, demo_run["secrets"])]
    assert found == []


def _databases(home: Path) -> list[Path]:
    return [path for path in home.rglob("*") if path.is_file() and path.read_bytes()[:16] == b"SQLite format 3\x00"]


def test_no_credential_is_in_any_column_of_any_table_of_the_store(demo_run):
    databases = _databases(demo_run["home"])
    assert any(path.name.startswith("closeout") for path in databases), databases
    found, rows = [], 0
    for path in databases:
        secrets = demo_run["configured"] if LEDGER_SANDBOX in path.relative_to(demo_run["home"]).parts else \
            demo_run["secrets"]
        with sqlite3.connect(path) as db:
            tables = [name for (name,) in db.execute("select name from sqlite_master where type = 'table'")]
            for table in tables:
                for row in db.execute(f'select * from "{table}"'):
                    rows += 1
                    for value in row:
                        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                        found += [f"{path.name}:{table}: {name}" for name in leaks(text, secrets)]
    assert rows > 100 and found == []


def test_no_credential_is_in_any_workspace_file_outside_the_credential_store(demo_run):
    home = demo_run["home"]
    files = [path for path in home.rglob("*") if path.is_file()
             and path.relative_to(home).parts[0] not in CREDENTIAL_STORE]
    assert files
    found = [f"{path.relative_to(home)}: {name}" for path in files
             for name in leaks(path.read_bytes().decode("utf-8", "replace"),
                               demo_run["configured"] if path.relative_to(home).parts[0] == LEDGER_SANDBOX
                               else demo_run["secrets"])]
    assert found == []


def test_the_jobber_source_really_ran_on_its_credentials(demo_run):
    assert any(name.startswith("northwind-jobber:") for name in demo_run["secrets"]), \
        "the fake Jobber issued tokens, kept in the credential store"


def test_refused_credentials_are_not_repeated_in_the_error_messages(demo_run, fake_jobber, tmp_path):
    home = tmp_path / "workspace"
    secrets = credential_env()
    config = demo_config_with_jobber(home, fake_jobber)
    done = run_closeout("doctor", "--config", str(config), home=home, secrets=secrets)
    assert done.returncode != 0 and "jobber" in done.stdout, done.stdout + done.stderr
    assert leaks(done.stdout + done.stderr, secrets) == []
