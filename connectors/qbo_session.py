"""The requests session python-quickbooks sends through: a bearer token per thread, a timeout, the last status."""

from __future__ import annotations

import threading
from typing import Any

import requests


class BearerSession(requests.Session):
    """The SDK's ``qb.session``: a bearer token, a default timeout, the HTTP status of this thread's last call.

    The SDK only needs ``session.access_token`` and ``session.request()`` (it adds ``Authorization:
    Bearer`` itself), so a plain requests.Session replaces the OAuth2Session that refuses http:// unless
    OAUTHLIB_INSECURE_TRANSPORT is set process-wide. TLS verification stays on; ``trust_env`` is off, so
    no proxy, netrc or CA-bundle environment variable changes where or how the token is sent.
    """

    def __init__(self, access_token: str, timeout: float) -> None:
        super().__init__()
        self._default_token = access_token
        self.trust_env = False
        self._timeout = timeout
        self._last = threading.local()

    @property
    def access_token(self) -> str:
        """This thread's token (``use_token``), else the one given at construction."""
        return getattr(self._last, "token", None) or self._default_token

    def use_token(self, token: str) -> None:
        self._last.token = token

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        self._last.status = None
        response = super().request(method, url, *args, **kwargs)
        self._last.status = response.status_code
        return response

    @property
    def last_status(self) -> int | None:
        return getattr(self._last, "status", None)

    def forget_status(self) -> None:
        self._last.status = None

    def __repr__(self) -> str:
        return "<BearerSession token=***>"
