"""The mail benchmark (scenario 4) at tiny size: a private Dovecot, a mailbox loaded, ingested, polled."""

import os
from pathlib import Path

import pytest

from bench.scenario_mail import run
from sandbox.dovecot_server import DOVECOT


def test_the_tiny_mail_benchmark_ingests_every_message_and_counts_the_quiet_poll():
    if not Path(DOVECOT).exists():
        message = "Dovecot is not installed: run `make test` as root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    ingest, versus_bare, commands, poll = run("tiny")  # run() raises if a message is lost or doubled
    assert ingest.unit == "msg/s" and ingest.value > 0 and versus_bare.reference > 0
    assert commands.unit == "commands" and 1 <= commands.value <= 10
    assert poll.unit == "ms" and poll.value > 0
