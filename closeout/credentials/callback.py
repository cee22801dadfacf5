"""The one-shot redirect listener of ``closeout connect``: 127.0.0.1 only, one callback, then it stops.

RFC 8252 §7.3 (loopback redirect): the app listens on the loopback interface and the browser is redirected
to it with the code. The listener answers exactly one request to the redirect URI's path (anything else gets
404 and is not counted), hands its query parameters to the flow, and closes its socket, so a second callback
(a replayed redirect, a second tab) finds nobody listening. It never logs a request line: that line holds the code.
"""

from __future__ import annotations

import errno
import html
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"


class ListenerError(Exception):
    """The listener could not start (the port is taken, or not allowed): the message says which and what to do."""


class _Handler(BaseHTTPRequestHandler):
    server: _OneShotServer
    timeout = 15  # a connection that sends nothing does not hold the listener for longer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        params = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path != self.server.callback_path or not self.server.take(params):
            self._answer(404, "Not the address Closeout waits on.")
            return
        if "error" in params:
            self._answer(200, "Closeout received the provider's refusal. The terminal says what happened.")
        else:
            self._answer(200, "Closeout received the provider's answer. Go back to the terminal: it says whether "
                              "the connection is made. You can close this tab.")
        self.server.answered.set()  # after the page went out: the flow may now close the listener

    def _answer(self, status: int, text: str) -> None:
        body = (f"<!doctype html><html><head><meta charset='utf-8'><title>Closeout</title></head><body>"
                f"<p>{html.escape(text)}</p></body></html>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the page's URL holds the code
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        """Silent: the request line carries the authorization code."""


class _OneShotServer(ThreadingHTTPServer):
    # A connection per thread: a browser's idle pre-connection must not hold up the callback behind it; closing the
    # listener does not wait for such idle ones.
    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, callback_path: str) -> None:
        self.callback_path = callback_path
        self.received: dict[str, str] | None = None
        self.answered = threading.Event()
        self._taking = threading.Lock()
        super().__init__((LOOPBACK, port), _Handler)

    def take(self, params: dict[str, str]) -> bool:
        """Keep the first callback's parameters; False for any later one (exactly one callback counts)."""
        with self._taking:
            if self.received is not None:
                return False
            self.received = params
            return True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - socketserver's signature
        """A broken connection is not worth a traceback on the terminal; the listener keeps waiting."""


class CallbackListener:
    """Listens on 127.0.0.1:``port`` from construction (a taken port fails here, before the browser opens)."""

    def __init__(self, port: int, callback_path: str = "/callback") -> None:
        try:
            self._server = _OneShotServer(port, callback_path or "/")
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ListenerError(f"port {port} on {LOOPBACK} is taken by another program: stop it, or pass "
                                    "--port with another port (and register that redirect URI with the app)") from None
            raise ListenerError(f"cannot listen on {LOOPBACK}:{port} ({exc.strerror or type(exc).__name__}): "
                                "pass --port with a port above 1023") from None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The callback's query parameters, or None when none came within ``timeout`` seconds; stops either way."""
        deadline = time.monotonic() + timeout
        try:
            while not self._server.answered.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._server.timeout = min(remaining, 0.2)  # wake to see a callback another thread answered
                self._server.handle_request()
            return self._server.received
        finally:
            self.close()

    def close(self) -> None:
        self._server.server_close()
