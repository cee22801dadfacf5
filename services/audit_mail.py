"""The audit's mail half: every stored message is attached, in a case, or ignored; no kept raw message is lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from exceptions_queue.cases import Case, CaseStatus
from services.runtime import MessagePlacement, UnitOfWork


@dataclass
class MailAudit:
    messages_seen: int = 0
    accounted: Counter = field(default_factory=Counter)
    unaccounted: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unaccounted and not self.lost


def audit_mail(uow: UnitOfWork, cases: Iterable[Case], raw_folder: Path) -> MailAudit:
    """Place every message row once (``attached``, ``case``, ``ignored``); a raw copy with no row is ``lost``.

    A message is kept as raw bytes (named by its content hash) just before its row is committed; a crash in
    between re-reads it, so at rest every kept raw message has a row. A case accounts for the one message it is
    about: the one its content hash names. Several messages may share a Message-ID, so a case that names only
    the id (one opened before cases carried the hash) accounts for a message only when no other shares its id.
    """
    report = MailAudit()
    subjects = {case.subject: (case.status, str(case.evidence.get("content_hash") or ""))
                for case in cases if case.subject.startswith("mail:")}
    rows = uow.messages.placements()
    hashes = set()
    sharing = Counter((row.company, row.message_id) for row in rows)
    for row in rows:
        report.messages_seen += 1
        hashes.add(row.content_hash)
        place = _place_of(row, subjects, shared=sharing[(row.company, row.message_id)] > 1)
        if place is None:
            report.unaccounted.append(f"{row.company}/{row.message_id}")
        else:
            report.accounted[place] += 1
    if raw_folder.is_dir():
        report.lost = sorted(path.name for path in raw_folder.glob("*.eml") if path.stem not in hashes)
    return report


def _place_of(row: MessagePlacement, subjects: dict[str, tuple[CaseStatus, str]], *, shared: bool) -> str | None:
    if row.work_order_id is not None:
        return "attached"
    if row.status == "matched":
        return None  # says it was attached, but the match (its evidence) is gone
    status, _ = subjects.get(f"mail:{row.company}/{row.content_hash}", (None, ""))  # names this message itself
    if status is None:
        status, about = subjects.get(f"mail:{row.company}/{row.message_id}", (None, ""))
        if about and about != row.content_hash or not about and shared:
            status = None  # the case is about another message with the same id, or cannot say which
    if status is None:
        return None
    return "ignored" if status is CaseStatus.ignored else "case"
