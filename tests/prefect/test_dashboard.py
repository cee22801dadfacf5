"""`closeout dashboard` starts a local Prefect server in the workspace, says where it is, and Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from closeout.orchestration.prefect_server import free_port, server_answers

CLOSEOUT = str(Path(sys.executable).with_name("closeout"))
# A command typed in a terminal gets Ctrl-C. A test run started in the background of a script inherits SIGINT
# ignored (POSIX shells ignore it for asynchronous commands), the command would too and never hear the Ctrl-C:
# start it as a terminal would, with SIGINT at its default, then exec the real command.
AS_FROM_A_TERMINAL = [sys.executable, "-c",
                      "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.execv(sys.argv[1], sys.argv[1:])"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_closeout_dashboard_serves_a_prefect_api_and_its_ui_on_any_port_until_ctrl_c_or_sigterm(tmp_path, stop):
    port, home = free_port(), tmp_path / "workspace"
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    dashboard = subprocess.Popen([*AS_FROM_A_TERMINAL, CLOSEOUT, "dashboard", "--port", str(port)],
                                 env={**env, "CLOSEOUT_HOME": str(home)},
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said = []
    try:
        for line in dashboard.stdout:  # ends early only if the command stops (it waits for /api/health first)
            said.append(line)
            if "export PREFECT_API_URL=" in line:
                break
        assert f"export PREFECT_API_URL=http://127.0.0.1:{port}/api" in "".join(said), "".join(said)
        assert f"Prefect UI:  http://127.0.0.1:{port}" in "".join(said)
        assert server_answers(f"http://127.0.0.1:{port}")
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://127.0.0.1:{port}/ui-settings", timeout=10) as answer:
            assert json.load(answer)["api_url"] == f"http://127.0.0.1:{port}/api"  # the UI calls this server
        dashboard.send_signal(stop)
        assert dashboard.wait(timeout=180) == 0  # a busy machine may take a while to stop a Prefect server
    finally:
        if dashboard.poll() is None:
            dashboard.kill()
            dashboard.wait()
    assert not server_answers(f"http://127.0.0.1:{port}")
    with socket.socket() as probe:  # nothing of the server is left listening on the port
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert (home / "prefect" / "prefect.db").exists()


def test_closeout_serve_without_a_prefect_server_says_how_to_start_one_and_exits_2(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    demo = Path(__file__).parents[2] / "closeout" / "demo" / "closeout.toml"
    served = subprocess.run([CLOSEOUT, "serve", "--config", str(demo)], env={**env, "CLOSEOUT_HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=120)
    assert served.returncode == 2
    assert "no Prefect server: set PREFECT_API_URL (start one with `closeout dashboard`)" in served.stdout
