"""Hostile field mail for the campaign: the corpus of ``tests/mail/hostile_mail.py`` aimed at campaign jobs,
oversized messages (over the mailbox's ``max_message_bytes``, and an attachment over ``max_attachment_bytes``), and
forged evidence for jobs ``sign_off_required`` blocks: a stranger's ``signature.png`` and a sign-off under the
customer's From that the receiving server failed (``spf=fail; dmarc=fail``).

Each must end attached to its job or in a case, once, like any other message; the audit counts them. The forged
evidence must also release nothing: ``audit_forged_evidence`` proves each of its jobs is still blocked, with no
invoice, and its message kept, placed on the job and not counted (``mappings.mail_provenance``).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import random
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from reliability.workload import FIRST_CSV_JOB, csv_rows

CORPUS_FILE = Path(__file__).resolve().parent.parent / "tests" / "mail" / "hostile_mail.py"
LEFT_OUT = ("empty", "not_mail_at_all")
"""A Maildir file that is no message at all may or may not be served by Dovecot: not counted, so not sent."""
MAX_MESSAGE_BYTES = 3_000_000
MAX_ATTACHMENT_BYTES = 1_000_000
RECEIVING_SERVER = "mx.q.example"
"""The authserv-id the campaign's mailbox trusts (``workload.write_config``): the forged sign-off's verdict is its."""
TINY_PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)
FORGED = ("forged_stranger_signature_photo", "forged_sender_failing_authentication")
"""The names of the forged-evidence messages, each for a job of its own that ``sign_off_required`` blocks."""
FORGED_MESSAGE_IDS = {"forged_stranger_signature_photo": "<campaign-forged-stranger-{job}@elsewhere.example>",
                      "forged_sender_failing_authentication": "<campaign-forged-auth-{job}@forger.example>"}


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


def sign_off_blocked_jobs(csv_jobs: int, *, seed: int) -> list[int]:
    """The job numbers of the CSV drop (``workload.write_csv_drop``, the same seed) completed without a signature and
    otherwise clean: each waits on ``sign_off_required``, so only evidence that counts could release it."""
    rng = random.Random(seed)
    blocked = []
    for n in range(csv_jobs):
        labour, part = csv_rows(n, rng)
        if labour["status"] == "completed" and not labour["signed_by"] and part["quantity"].isdigit():
            blocked.append(FIRST_CSV_JOB + n)
    return blocked


def forged_targets(csv_jobs: int, *, seed: int) -> dict[str, int]:
    """Forged-evidence message name -> the blocked job it aims at (fewer when the drop has fewer blocked jobs); never
    the corpus's job, whose messages carry evidence of their own."""
    blocked = [job for job in sign_off_blocked_jobs(csv_jobs, seed=seed) if job != _corpus_job(csv_jobs)]
    return dict(zip(FORGED, blocked, strict=False))


def _corpus_job(jobs: int) -> int:
    return FIRST_CSV_JOB + min(42, max(0, jobs - 1))


def _stranger_photo(job: int) -> bytes:
    """Someone the job does not know sends "WO-<job> photo" with a tiny PNG named as a signature."""
    return (f"From: Random Stranger <random.stranger@elsewhere.example>\r\nTo: field@q.example\r\n"
            f"Date: Mon, 02 Nov 2026 15:00:00 +0000\r\nMessage-ID: "
            f"{FORGED_MESSAGE_IDS['forged_stranger_signature_photo'].format(job=job)}"
            f"\r\nSubject: WO-{job} photo\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n"
            f"\r\n--B\r\nContent-Type: text/plain\r\n\r\nSigned, see attached.\r\n--B\r\nContent-Type: image/png\r\n"
            f"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"signature.png\"\r\n\r\n"
            ).encode() + base64.encodebytes(TINY_PNG) + b"--B--\r\n"


def _failing_sign_off(job: int) -> bytes:
    """The job's customer's From, a sign-off in words and a signature image, on a message the trusted receiving
    server says failed SPF and DMARC: the From is not to be believed."""
    c = (job - FIRST_CSV_JOB) % 40  # the customer ``workload.csv_rows`` gives job n
    return (f"Authentication-Results: {RECEIVING_SERVER}; spf=fail smtp.mailfrom=billing{c}@q.example; "
            f"dkim=none; dmarc=fail header.from=q.example\r\n"
            f"From: Q Customer {c} <billing{c}@q.example>\r\nTo: field@q.example\r\n"
            f"Date: Mon, 02 Nov 2026 15:00:00 +0000\r\nMessage-ID: "
            f"{FORGED_MESSAGE_IDS['forged_sender_failing_authentication'].format(job=job)}\r\n"
            f"Subject: Job #{job} sign-off\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n"
            f"\r\n--B\r\nContent-Type: text/plain\r\n\r\nWe approve the work. Signed off.\r\n--B\r\n"
            f"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment; filename=\"signature.png\"\r\n\r\n"
            ).encode() + base64.encodebytes(TINY_PNG) + b"--B--\r\n"


_FORGERS = {"forged_stranger_signature_photo": _stranger_photo,
            "forged_sender_failing_authentication": _failing_sign_off}


def hostile_messages(jobs: int, *, seed: int = 7) -> dict[str, bytes]:
    """name -> raw message: the hostile corpus (its job 1042 made a campaign job), two oversized messages, and the
    forged evidence for blocked jobs of the CSV drop written with ``seed`` (``forged_targets``)."""
    job = _corpus_job(jobs)
    found = {}
    for n, (name, raw) in enumerate(_corpus().items(), start=1):
        if name in LEFT_OUT:
            continue
        raw = raw.replace(f"<hostile{n}@van.acme.example>".encode(), f"<campaign-hostile-{n}@van.q.example>".encode())
        found[f"hostile_{name}"] = raw.replace(b"WO-1042", f"Job #{job}".encode())
    found["hostile_message_over_max_message_bytes"] = _oversized("too-large", 1, job, MAX_MESSAGE_BYTES + 500_000)
    found["hostile_attachment_over_max_attachment_bytes"] = _oversized("big-attachment", 2, job,
                                                                       MAX_ATTACHMENT_BYTES + 200_000)
    for name, target in forged_targets(jobs, seed=seed).items():
        found[name] = _FORGERS[name](target)
    return found


@dataclass(frozen=True)
class ForgedOutcome:
    """What became of one forged-evidence message and of the blocked job it aimed at."""

    name: str
    job: int
    stored: int
    """Rows of the message in the store (1: kept once)."""
    placed_on: str | None
    """The work order its match placed it on; None: unmatched (then a case must hold it)."""
    standings: tuple[str, ...]
    """The standing of each piece of evidence it brought (``EvidenceStanding``): none may be ``counts``."""
    invoiced: bool
    """A push record of the job exists: its sign-off was taken from somewhere."""
    sign_off_blocks: bool
    """The job's latest version is blocked by ``sign_off_required``."""
    open_case: bool

    @property
    def released(self) -> bool:
        return self.invoiced or not self.sign_off_blocks or "counts" in self.standings

    @property
    def accounted(self) -> bool:
        return self.stored == 1 and (self.placed_on == f"csv:Q{self.job}" or self.open_case)

    def problems(self) -> list[str]:
        found = []
        if self.released:
            found.append(f"{self.name} released job {self.job}: invoiced {self.invoiced}, still blocked by "
                         f"sign_off_required {self.sign_off_blocks}, evidence standings {list(self.standings)}")
        if not self.accounted:
            found.append(f"{self.name} for job {self.job} is not accounted for: {self.stored} row(s), placed on "
                         f"{self.placed_on}, open case {self.open_case}")
        return found


def audit_forged_evidence(engine: sa.Engine, targets: dict[str, int]) -> list[ForgedOutcome]:
    """For each forged message and its job: kept once and placed, and the job still blocked and not invoiced."""
    outcomes = []
    with engine.connect() as connection:
        for name, job in sorted(targets.items()):
            work_order_id = f"csv:Q{job}"
            message_id = FORGED_MESSAGE_IDS[name].format(job=job)
            rows = connection.execute(sa.text(
                "SELECT m.id, x.work_order_id, x.evidence FROM mail_messages m LEFT JOIN mail_matches x "
                "ON x.message_pk = m.id WHERE m.message_id = :mid"), {"mid": message_id}).all()
            placed = rows[0][1] if rows else None
            standings = tuple(sorted(_standings(rows[0][2]) if rows and rows[0][2] else ()))
            invoiced = connection.execute(sa.text(
                "SELECT COUNT(*) FROM push_records WHERE work_order_id = :w"), {"w": work_order_id}).scalar_one() > 0
            blocks = connection.execute(sa.text(
                "SELECT COUNT(*) FROM rule_decisions d WHERE d.work_order_id = :w AND d.rule_id = 'sign_off_required'"
                " AND d.outcome = 'block' AND d.work_order_version = (SELECT MAX(v.version) FROM work_order_versions v"
                " WHERE v.work_order_id = :w)"), {"w": work_order_id}).scalar_one() > 0
            open_case = connection.execute(sa.text(
                "SELECT COUNT(*) FROM cases WHERE (work_order_id = :w OR subject LIKE :mail) "
                "AND status IN ('open', 'in_progress')"),
                {"w": work_order_id, "mail": f"%{message_id}%"}).scalar_one() > 0
            outcomes.append(ForgedOutcome(name, job, len(rows), placed, standings, invoiced, blocks, open_case))
    return outcomes


def _standings(evidence) -> list[str]:
    """Every ``provenance.standing`` in a match's evidence (JSON, as the store returns it)."""
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    found: list[str] = []
    stack = [evidence]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            provenance = item.get("provenance")
            if isinstance(provenance, dict) and "standing" in provenance:
                found.append(str(provenance["standing"]))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
