"""The mail benchmark (scenario 4) at tiny size: a private Dovecot, a mailbox loaded, ingested, polled."""

import os
from pathlib import Path

import pytest

from bench.scenario_mail import run
from sandbox.dovecot_server import DOVECOT


def test_the_tiny_mail_benchmark_ingests_every_message_compares_it_with_both_floors_and_counts_the_quiet_poll():
    if not Path(DOVECOT).exists():
        message = "Dovecot is not installed: run `make test` as root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    bare, parse, versus_parse, versus_bare, ingest, commands, poll = run("tiny")  # raises if mail is lost or doubled
    assert bare.value > 0 and parse.value > 0 and ingest.unit == "msg/s" and ingest.value > 0
    assert versus_parse.reference == parse.value and versus_parse.ratio == ingest.value / parse.value
    assert versus_bare.reference == bare.value and versus_bare.ratio == ingest.value / bare.value
    assert versus_parse.met in (True, False) and versus_bare.met in (True, False)
    assert commands.unit == "commands" and 1 <= commands.value <= 10
    assert poll.unit == "ms" and poll.value > 0
