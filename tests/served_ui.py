"""The web UI served by uvicorn on a free loopback port in a thread, and a browser signed in to it: the browser tests'
shared set-up."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PASSWORD = "a long enough password"
"""The password the browser tests give their users (long enough for the store's policy)."""
DESKTOP = {"width": 1280, "height": 900}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(web: Any) -> Iterator[str]:
    """Serve the ASGI app ``web`` on 127.0.0.1 until the block ends; yields its base URL. Raises if it never starts."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the UI server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign_in(browser: Any, url: str, username: str, *, password: str = PASSWORD,
            viewport: dict[str, int] | None = None) -> tuple[Any, Any]:
    """A new browser context (``viewport``, desktop by default) signed in at ``url`` as ``username``: (context, page)."""
    context = browser.new_context(viewport=viewport or DESKTOP)
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return context, page
