"""The queue's web UI: server-rendered pages and a JSON API over a ``QueueDesk`` (see ``create_app``)."""

from exceptions_queue.web.app import create_app

__all__ = ["create_app"]
