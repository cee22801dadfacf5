"""A ledger whose every call waits for the company's turn (closeout.pacing) and waits out a 429 before going again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from connectors.errors import RetriableError, UncertainOutcomeError
from services.runtime import Pacer

MAX_THROTTLE_WAIT = 120.0
"""The longest a push waits in-process when the ledger says "too many requests"; a longer ask re-raises."""
THROTTLE_RETRIES = 3
UNPACED = {"close"}
"""Ledger methods that make no API call, so never wait for a turn."""


class ThrottledLedger:
    """A ledger whose calls, when refused with a wait (429, ``RetriableError.retry_after``), wait and go again.

    A 429 means the ledger did not process the request, so even a create is safe to resend (and its
    idempotency key would catch a double anyway). An UncertainOutcomeError is never retried here: it is
    looked up first by the push step. Waits over ``max_wait`` and the ``retries + 1``-th refusal re-raise,
    leaving the retry to the flow. ``waited`` sums the seconds slept.
    """

    def __init__(self, ledger: Any, *, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = MAX_THROTTLE_WAIT, retries: int = THROTTLE_RETRIES,
                 pacer: Pacer | None = None) -> None:
        self.ledger, self._sleep, self._max_wait, self._retries = ledger, sleep, max_wait, retries
        self.pacer = pacer  # waits for the company's turn before every call (closeout.pacing)
        self.waited = 0.0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.ledger, name)
        if not callable(attribute) or name in UNPACED:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(self._retries + 1):
                try:
                    if self.pacer is None:
                        return attribute(*args, **kwargs)
                    with self.pacer.slot(name, *args, **kwargs):
                        return attribute(*args, **kwargs)
                except UncertainOutcomeError:
                    raise
                except RetriableError as exc:
                    wait = exc.retry_after
                    if wait is None or wait > self._max_wait or attempt == self._retries:
                        raise
                    self.waited += wait
                    self._sleep(wait)
            raise AssertionError("unreachable")

        return call
