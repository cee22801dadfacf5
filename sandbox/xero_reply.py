"""The answer a Xero sandbox handler produces; a leaf shared by ``sandbox.xero_app`` and ``sandbox.xero_attachments``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    broken: bool = False


__all__ = ["Reply"]
