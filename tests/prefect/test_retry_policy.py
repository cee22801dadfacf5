"""Prefect retries a task only when the other side said the call may work later."""

from __future__ import annotations

import pytest

from connectors.errors import AuthError, FatalError, RejectedError, RetriableError, UncertainOutcomeError
from flows._tasks import is_retriable


class Finished:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def result(self):
        if self.error is not None:
            raise self.error
        return 1


@pytest.mark.parametrize("error", [RetriableError("429", system="qbo"), UncertainOutcomeError("timeout", system="xero")])
def test_a_throttle_a_timeout_or_an_uncertain_outcome_is_retried(error):
    assert is_retriable(None, None, Finished(error)) is True


@pytest.mark.parametrize("error", [AuthError("401", system="qbo"), FatalError("bad config", system="jobber"),
                                   RejectedError("6140", system="qbo"), ValueError("a bug")])
def test_a_refusal_a_login_failure_or_a_bug_is_not_retried(error):
    assert is_retriable(None, None, Finished(error)) is False


def test_a_task_that_succeeded_is_not_retried():
    assert is_retriable(None, None, Finished(None)) is False
