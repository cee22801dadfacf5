"""Hostile field mail for the campaign: the corpus of ``tests/mail/hostile_mail.py`` aimed at campaign jobs, and
oversized messages (over the mailbox's ``max_message_bytes``, and an attachment over ``max_attachment_bytes``).

Each must end attached to its job or in a case, once, like any other message; the audit counts them.
"""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

from reliability.workload import FIRST_CSV_JOB

CORPUS_FILE = Path(__file__).resolve().parent.parent / "tests" / "mail" / "hostile_mail.py"
LEFT_OUT = ("empty", "not_mail_at_all")
"""A Maildir file that is no message at all may or may not be served by Dovecot: not counted, so not sent."""
MAX_MESSAGE_BYTES = 3_000_000
MAX_ATTACHMENT_BYTES = 1_000_000


def _corpus() -> dict[str, bytes]:
    spec = importlib.util.spec_from_file_location("closeout_hostile_mail", CORPUS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.hostile_corpus()


def _oversized(kind: str, n: int, job: int, size: int) -> bytes:
    data = base64.encodebytes(bytes(range(256)) * (size // 256))
    return (f"From: Tech One <tech@q.example>\r\nTo: field@q.example\r\nDate: Mon, 02 Nov 2026 15:00:00 +0000\r\n"
            f"Message-ID: <campaign-hostile-{kind}-{n}@van.q.example>\r\nSubject: Job #{job} {kind}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: "
            f"text/plain\r\n\r\nSee attached.\r\n--B\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"../../{kind}.bin\"\r\n"
            f"\r\n").encode() + data + b"\r\n--B--\r\n"


def hostile_messages(jobs: int) -> dict[str, bytes]:
    """name -> raw message: the hostile corpus (its job 1042 made a campaign job) and two oversized messages."""
    job = FIRST_CSV_JOB + min(42, max(0, jobs - 1))
    found = {}
    for n, (name, raw) in enumerate(_corpus().items(), start=1):
        if name in LEFT_OUT:
            continue
        raw = raw.replace(f"<hostile{n}@van.acme.example>".encode(), f"<campaign-hostile-{n}@van.q.example>".encode())
        found[f"hostile_{name}"] = raw.replace(b"WO-1042", f"Job #{job}".encode())
    found["hostile_message_over_max_message_bytes"] = _oversized("too-large", 1, job, MAX_MESSAGE_BYTES + 500_000)
    found["hostile_attachment_over_max_attachment_bytes"] = _oversized("big-attachment", 2, job,
                                                                       MAX_ATTACHMENT_BYTES + 200_000)
    return found
