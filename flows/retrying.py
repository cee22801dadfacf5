"""When a task is worth retrying: only when the other side said it may work later."""

from __future__ import annotations

from connectors.errors import RetriableError


def is_retriable(task, task_run, state) -> bool:
    """Retry timeouts, dropped connections, 429 and 5xx (RetriableError); a refusal or a config error never."""
    try:
        state.result()
    except RetriableError:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth retrying
        return False
    return False
