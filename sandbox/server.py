"""Serve the ledger sandbox: blocking for ``closeout sandbox``, or in a background thread for tests and demos."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.mail_oauth import mail_oauth_routes
from sandbox.qbo_app import qbo_routes
from sandbox.qbo_store import QboStore
from sandbox.rate_limits import RateLimits
from sandbox.xero_app import xero_routes
from sandbox.xero_store import XeroStore

START_TIMEOUT = 10.0


def create_app(state_dir: Path, *, limits: RateLimits | None = None) -> Starlette:
    """The sandbox app: every ledger imitation over state kept in ``state_dir`` (created if missing).

    ``limits`` (shared by both ledgers) is off unless enabled; ``POST /_sandbox/limits`` with
    ``{"enabled": true, "time_scale": 60}`` switches it at run time (see sandbox.rate_limits).
    """
    limits = limits or RateLimits()

    async def configure_limits(request: Request) -> Response:
        if request.method == "GET":  # what the limits counted: accepted, refused, peak concurrency
            return JSONResponse({"enabled": limits.enabled, "time_scale": limits.time_scale, **limits.counts()})
        try:
            spec = json.loads(await request.body())
            limits.configure(enabled=bool(spec["enabled"]), time_scale=float(spec.get("time_scale", 1)))
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected {'enabled': true|false, 'time_scale': x > 0}"}, status_code=400)
        return JSONResponse({"enabled": limits.enabled, "time_scale": limits.time_scale})

    routes = qbo_routes(QboStore(Path(state_dir)), limits) + xero_routes(XeroStore(Path(state_dir)), limits)
    routes += mail_oauth_routes(Path(state_dir))  # Microsoft 365's and Google's sign-in for IMAP
    return Starlette(routes=routes + [Route("/_sandbox/limits", configure_limits, methods=["GET", "POST"])])


def serve_sandbox(*, host: str = "127.0.0.1", port: int, state_dir: Path, rate_limits: bool = False,
                  time_scale: float = 1.0) -> None:
    """Serve the sandbox until interrupted (Ctrl-C): QBO under ``http://{host}:{port}/v3``, Xero under ``/api.xro/2.0``."""
    limits = RateLimits(enabled=rate_limits, time_scale=time_scale)
    uvicorn.run(create_app(state_dir, limits=limits), host=host, port=port, log_level="warning", lifespan="off")


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_sandbox(state_dir: Path, *, port: int = 0) -> Iterator[str]:
    """Run the sandbox on 127.0.0.1 in a daemon thread; yield its base URL (``http://127.0.0.1:54321``).

    ``port=0`` picks a free port. Returns only once the server answers; on exit the server stops and the
    port is released. Raises RuntimeError if it does not come up within START_TIMEOUT seconds.
    """
    # proto must say TCP, or asyncio skips TCP_NODELAY on accepted connections and Nagle adds ~40 ms a call
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if port:  # a fixed port may still be in TIME_WAIT from the last run; a free one (0) needs no reuse
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    # listen at once: a port bound but not listening can be bound again by another process's SO_REUSEADDR
    # socket, and whichever listens first wins (a side-by-side test run lost it: EADDRINUSE in uvicorn)
    sock.listen(2048)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # log_config=None: an embedded server must not reconfigure the host's logging. uvicorn's dictConfig
    # flushes and closes every existing handler, which deadlocks against Prefect's API log handler.
    config = uvicorn.Config(
        create_app(state_dir), log_config=None, log_level="warning", access_log=False, lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="closeout-sandbox", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (server.started and _answers(base_url + "/_sandbox/health")):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the ledger sandbox did not start on {base_url}")
            time.sleep(0.02)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
