"""Which certificate authorities an outbound TLS client trusts: its config's ``ca_file``, else the process default.

Its own module so that every place that builds a client (``closeout.wiring`` for ledgers, sources and mailboxes;
the OAuth token clients in ``closeout.credentials``) can ask the same question without importing the wiring.
"""

from __future__ import annotations

import os
from pathlib import Path

from services.config import CA_FILE_ENV, ConfigError, check_ca_file


def ca_file_for(configured: Path | None) -> str | None:
    """The CA bundle a client trusts: its own ``ca_file``, else ``$CLOSEOUT_CA_FILE``, else None (the defaults).

    Read explicitly for every client because the standard variables reach only some of them: httpx honours
    ``SSL_CERT_FILE`` and urllib3 (Xero) OpenSSL's defaults, but the QuickBooks session ignores the environment
    (``trust_env`` off, so ``REQUESTS_CA_BUNDLE`` does nothing). A bad value is a ``ConfigError`` in one line.
    """
    if configured is not None:
        return str(configured)
    value = os.environ.get(CA_FILE_ENV, "").strip()
    if not value:
        return None
    try:
        return str(check_ca_file(Path(value).expanduser()))
    except ValueError as exc:
        raise ConfigError(f"{CA_FILE_ENV}: {exc}") from None
