"""Whether a Prefect API server is configured: the one answer every part of the shell asks for."""

from __future__ import annotations


def prefect_api_url() -> str | None:
    """The configured Prefect API (``PREFECT_API_URL`` or the active profile), or None when every run would use
    a per-process ephemeral API: no shared limits, no blocks, no deployments, no events worth emitting."""
    from prefect.settings import get_current_settings  # deferred: the CLI starts without loading Prefect

    return get_current_settings().api.url or None


def prefect_api_configured() -> bool:
    return prefect_api_url() is not None
