"""A response that promises a body and drops the connection: how the sandboxes imitate resets and lost answers."""

from __future__ import annotations

from starlette.types import Receive, Scope, Send


class BrokenResponse:
    """Headers promising 4 KiB, one byte, then the connection closes: the client sees a broken read.

    For the "lost response" fault the work is already committed when this is sent, so the client cannot
    know whether the request took effect; for "reset" nothing was done.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionResetError("sandbox fault: connection dropped")
