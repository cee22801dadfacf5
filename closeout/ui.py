"""Wiring for the queue's web UI: the desk on the app's store, the cookie secret from the workspace, uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from services.casework import StoreDesk
from services.users import sync_config_users, ui_secret
from closeout.credentials.web_connect import WorkspaceConnections
from closeout.wiring import App, open_app
from exceptions_queue.web import create_app


def build_ui(app: App, *, secure_cookies: bool = False) -> FastAPI:
    """The UI over the app's store; the config's ``[[users]]`` are synced into the store first. Sign-ins and the
    sign-in throttle are kept in the store too, so every UI process over it shares them across restarts. The
    Connections page's redirect URIs start with ``CLOSEOUT_PUBLIC_URL`` when set (the UI behind a proxy), else
    with the address the browser used."""
    sync_config_users(app.store, app.config.users)
    connections = WorkspaceConnections(app, public_url=os.environ.get("CLOSEOUT_PUBLIC_URL"))
    return create_app(StoreDesk(app), secret_key=ui_secret(app.home), secure_cookies=secure_cookies,
                      sign_ins=app.store, connections=connections)


def serve_ui(*, host: str, port: int, config_path: Path | None, secure_cookies: bool = False) -> None:
    """Serve until interrupted; the ledger sandbox (when the config uses it) runs alongside for replays."""
    import uvicorn

    with open_app(config_path=config_path) as app:
        uvicorn.run(build_ui(app, secure_cookies=secure_cookies), host=host, port=port, log_level="warning",
                    proxy_headers=False)
