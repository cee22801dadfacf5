"""WebhookNotifier: a notice as one Slack- or Teams-style JSON post, ``{"text": ...}``, on our own httpx.Client."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from notifications.errors import NotifyError, translate_error
from notifications.messages import Channel, Notice, webhook_text


class WebhookNotifier:
    """Posts to an incoming-webhook URL. The URL is a secret (it is the credential): only its host is ever shown."""

    channel = Channel.webhook

    def __init__(self, url: str, *, client: httpx.Client | None = None, timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("a webhook URL starts with https:// and names a host")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("a webhook URL is https:// (http:// only for a receiver on this machine)")
        self._url = url
        self.server = f"{parts.scheme}://{parts.hostname}"
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, notice: Notice) -> None:
        """Post the notice; NotifyError (retriable or not) when the receiver did not take it."""
        try:
            response = self._client.post(self._url, json={"text": webhook_text(notice)})
            response.raise_for_status()
        except NotifyError:
            raise
        except Exception as exc:  # noqa: BLE001 - translate_error re-raises what is not a delivery failure
            raise translate_error(exc, server=self.server) from None

    def close(self) -> None:
        self._client.close()
