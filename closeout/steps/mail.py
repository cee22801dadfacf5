"""Mail intake: read a mailbox, keep every message, attach what can be placed to its work order, queue the rest.

A matched message adds its evidence (note, photos, signature, sign-off, change request) to the work order by
storing a new version of it, so the rules run again on what the job now carries. ``merge_mail_evidence`` is
applied by intake too, so a later pull of the same job from its source keeps the evidence instead of dropping it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from closeout.config import CompanyConfig
from closeout.mailbox_config import MailboxConfig
from closeout.secrets import read_secret
from closeout.steps.counts import StepCounts
from closeout.wiring import App
from connectors.errors import AuthError, ConnectorError
from connectors.imap_inbox import ImapInbox, MailCursor
from connectors.maildir_inbox import MaildirInbox
from exceptions_queue.service import CaseQueue
from mappings.mail_evidence import MailEvidence, attachment_kind, evidence_from, with_evidence
from mappings.mail_match import MailMatch, ThreadHit, match_message, sender_role
from mappings.mail_parse import ParsedMessage, parse_message
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.work_order import WorkOrder

Emit = Callable[[str, dict], None]


@dataclass
class MailCounts:
    fetched: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    unparseable: int = 0
    attachments_stored: int = 0
    attachments_skipped: int = 0
    versions: int = 0
    cases_opened: Counter = field(default_factory=Counter)
    methods: Counter = field(default_factory=Counter)

    def __add__(self, other: "MailCounts") -> "MailCounts":
        merged = MailCounts()
        for name in ("fetched", "duplicates", "matched", "unmatched", "unparseable", "attachments_stored",
                     "attachments_skipped", "versions"):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        merged.cases_opened = self.cases_opened + other.cases_opened
        merged.methods = self.methods + other.methods
        return merged

    def as_rows(self) -> list[dict[str, str]]:
        rows = [("messages fetched", self.fetched), ("already stored (skipped)", self.duplicates),
                ("attached to work orders", self.matched), ("queued: unmatched or ambiguous", self.unmatched),
                ("queued: unparseable", self.unparseable), ("attachments stored", self.attachments_stored),
                ("attachments over the size cap", self.attachments_skipped),
                ("work order versions from mail", self.versions)]
        rows += [(f"matched by {method}", n) for method, n in sorted(self.methods.items())]
        rows += [(f"cases opened: {kind}", n) for kind, n in sorted(self.cases_opened.items())]
        return [{"measure": name, "value": str(value)} for name, value in rows]

    def as_step_counts(self) -> StepCounts:
        """For the pipeline's run summary: new work order versions and the cases mail opened."""
        return StepCounts(changed=self.versions, cases_opened=Counter(self.cases_opened))


def inbox_for(company: CompanyConfig, mailbox: MailboxConfig) -> ImapInbox | MaildirInbox:
    if mailbox.kind in ("maildir", "mbox"):
        return MaildirInbox(mailbox.path, batch_size=mailbox.batch_size, name=mailbox.name)
    return ImapInbox(mailbox.host, mailbox.imap_port, mailbox.username,
                     read_secret(f"imap-password-{mailbox.name}", company.id), security=mailbox.security,
                     ca_file=str(mailbox.ca_file) if mailbox.ca_file else None,
                     connect_timeout=mailbox.connect_timeout, read_timeout=mailbox.read_timeout,
                     batch_size=mailbox.batch_size, name=mailbox.name)


def merge_mail_evidence(uow, order: WorkOrder) -> WorkOrder:
    """The work order with the evidence of every message matched to it (unchanged when there is none)."""
    stored = uow.messages.evidence_for(order.id)
    return with_evidence(order, [MailEvidence.from_json(item) for item in stored]) if stored else order


def ingest_mailbox(app: App, company: CompanyConfig, mailbox: MailboxConfig, *,
                   inbox: ImapInbox | MaildirInbox | None = None, emit: Emit | None = None) -> MailCounts:
    """Read every folder from its cursor; each batch commits with its cursor, so a crash loses and repeats nothing.

    Every poll is recorded. A refused login or a failed read opens (or keeps) a ``mailbox_stalled`` case once
    the mailbox has gone ``stall_after_minutes`` without a good read, emits an event, and re-raises.
    """
    counts = MailCounts()
    inbox = inbox or inbox_for(company, mailbox)
    try:
        with inbox:
            for folder in mailbox.folders:
                _ingest_folder(app, company, mailbox, inbox, folder, counts)
    except ConnectorError as exc:
        _record_failure(app, company, mailbox, exc, emit)
        raise
    with app.store.unit_of_work() as uow:
        uow.messages.record_poll(company=company.id, mailbox=mailbox.name, outcome="ok", fetched=counts.fetched)
        queue = CaseQueue(uow.cases)
        stalled = uow.cases.find_open(kind=AnomalyCode.mailbox_stalled, subject=_subject(company, mailbox))
        if stalled is not None:
            queue.close_if_cleared(stalled, note="the mailbox was read successfully again")
        uow.commit()
    return counts


def _subject(company: CompanyConfig, mailbox: MailboxConfig) -> str:
    return f"mailbox:{company.id}/{mailbox.name}"


def _ingest_folder(app: App, company: CompanyConfig, mailbox: MailboxConfig, inbox, folder: str,
                   counts: MailCounts) -> None:
    stream = f"mail/{company.id}/{mailbox.name}/{folder}"
    keeps_cursor = mailbox.kind == "imap"
    with app.store.unit_of_work() as uow:
        cursor = MailCursor.decode(uow.cursors.get(stream)) if keeps_cursor else None
    orders: dict[str, WorkOrder] | None = None  # loaded only when there is mail to match
    for batch in inbox.fetch_new(folder, cursor):
        with app.store.unit_of_work() as uow:
            if orders is None and batch.messages:
                orders = {order.id: order for order in uow.work_orders.latest(company=company.id)}
            queue = CaseQueue(uow.cases)
            for uid, raw in batch.messages:
                counts.fetched += 1
                _ingest_one(app, uow, queue, company, mailbox, folder, batch.cursor.uid_validity, uid, raw,
                            orders, counts)
            if keeps_cursor:
                uow.cursors.set(stream, batch.cursor.encode())
            uow.commit()
        if mailbox.move_processed_to and batch.messages:
            inbox.move_processed(folder, [uid for uid, _ in batch.messages], mailbox.move_processed_to)


def _ingest_one(app: App, uow, queue: CaseQueue, company: CompanyConfig, mailbox: MailboxConfig, folder: str,
                validity: int, uid: int, raw: bytes, orders: dict[str, WorkOrder], counts: MailCounts) -> None:
    message = parse_message(raw, max_attachment_bytes=mailbox.max_attachment_bytes)
    if uow.messages.find(company=company.id, message_id=message.message_id, content_hash=message.content_hash):
        counts.duplicates += 1
        return
    raw_path = _keep(app.home / "mail" / "raw", f"{message.content_hash}.eml", raw)
    match = (match_message(message, list(orders.values()), patterns=mailbox.job_number_patterns,
                           thread=_thread(uow, company, message)) if message.parsed
             else MailMatch(None, "unparseable", 0.0, "the message could not be parsed"))
    status = "matched" if match.matched else ("unparseable" if not message.parsed else match.method)
    pk = uow.messages.add(company=company.id, mailbox=mailbox.name, folder=folder, uid_validity=validity, uid=uid,
                          message_id=message.message_id, content_hash=message.content_hash,
                          subject=message.subject, from_address=message.from_address, sent_at=message.sent_at,
                          status=status, raw_path=str(raw_path), problems=message.problems)
    rows = []
    for attachment in message.attachments:
        if attachment.skipped:
            counts.attachments_skipped += 1
        else:
            _keep(app.home / "attachments" / attachment.content_hash[:2], attachment.content_hash, attachment.content)
            counts.attachments_stored += 1
        rows.append({"content_hash": attachment.content_hash, "file_name": attachment.file_name,
                     "media_type": attachment.media_type, "size_bytes": attachment.size_bytes,
                     "kind": attachment_kind(attachment.file_name, attachment.media_type, message.text).value,
                     "skipped": attachment.skipped})
    uow.messages.add_attachments(pk, rows)
    if not match.matched:
        counts.unparseable += not message.parsed
        counts.unmatched += message.parsed
        anomaly = _queue_anomaly(company, mailbox, message, match, raw_path, orders)
        _, opened = queue.open_case(anomaly)
        counts.cases_opened[anomaly.code.value] += opened
        return
    saved = _apply_match(uow, pk, message, match, orders[match.work_order_id])
    orders[saved.order.id] = saved.order
    counts.matched += 1
    counts.methods[match.method] += 1
    counts.versions += saved.changed


def _apply_match(uow, pk: int, message: ParsedMessage, match: MailMatch, order: WorkOrder):
    """Store the match and a new version of the work order carrying the message's evidence (one path for all)."""
    evidence = evidence_from(message, match, order, received_at=datetime.now(UTC))
    uow.messages.add_match(pk, work_order_id=order.id, job_number=order.job_number, method=match.method,
                           confidence=match.confidence, explanation=match.explanation, evidence=evidence.as_json())
    return uow.work_orders.save(with_evidence(order, [evidence]))


class MessageLinkError(ValueError):
    """The message cannot be linked as asked (unknown, already placed, or its raw copy is gone)."""


def attach_message(uow, company: str, message_id: str, work_order_id: str, *, actor: str) -> WorkOrder:
    """Link a stored message by hand: a ``manual`` match (confidence 1.0), then the evidence and new work order
    version an automatic match gives (re-parsed from the kept raw message; attachments skipped then stay so)."""
    stored = uow.messages.get(company=company, message_id=message_id)
    if stored is None:
        raise MessageLinkError(f"no message {message_id} is stored for {company}")
    if stored.work_order_id is not None:
        raise MessageLinkError(f"message {message_id} is already linked to job {stored.job_number}")
    order = uow.work_orders.get(work_order_id)
    if order is None or order.company != company:
        raise MessageLinkError(f"there is no work order {work_order_id} in {company}")
    try:
        raw = Path(stored.raw_path).read_bytes()
    except OSError as exc:
        raise MessageLinkError(f"the raw copy of message {message_id} cannot be read: {exc.strerror}") from None
    kept = [a["size_bytes"] for a in uow.messages.attachments(stored.pk) if not a["skipped"]]
    message = parse_message(raw, max_attachment_bytes=max([1, *kept]))
    match = MailMatch(order.id, "manual", 1.0, f"linked by {actor}", sender_role=sender_role(message, order))
    saved = _apply_match(uow, stored.pk, message, match, order)
    uow.messages.set_status(stored.pk, "matched")
    return saved.order


def _thread(uow, company: CompanyConfig, message: ParsedMessage) -> dict[str, ThreadHit]:
    hits = uow.messages.thread_hits(company=company.id, message_ids=message.thread_ids)
    return {mid: ThreadHit(mid, work_order_id, job) for mid, (work_order_id, job) in hits.items()}


def _keep(folder: Path, name: str, content: bytes) -> Path:
    """Write a file named by its content hash once; an existing one already holds these bytes."""
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(content)
        partial.replace(path)
    return path


def _queue_anomaly(company: CompanyConfig, mailbox: MailboxConfig, message: ParsedMessage, match: MailMatch,
                   raw_path: Path, orders: dict[str, WorkOrder]) -> Anomaly:
    evidence = {"mailbox": mailbox.name, "message_id": message.message_id, "from": message.from_address,
                "subject": message.subject, "sent_at": message.sent_at.isoformat() if message.sent_at else None,
                "why": match.explanation, "raw_message": str(raw_path), "problems": list(message.problems),
                "candidates": [{"work_order_id": c, "job_number": orders[c].job_number} for c in match.candidates]}
    if not message.parsed:
        return Anomaly(code=AnomalyCode.source_payload_invalid, subject=f"mail:{company.id}/{message.content_hash}",
                       company=company.id, evidence=evidence,
                       summary=f"A message in mailbox {mailbox.name} could not be parsed; the raw message is kept.",
                       suggested_actions=("attach_to_work_order", "ignore"))
    listed = ", ".join(orders[c].job_number for c in match.candidates)
    summary = (f"Mail from {message.from_address or 'an unknown sender'} ({message.subject or 'no subject'!r}) "
               f"could not be placed: {match.explanation}" + (f". Candidates: {listed}" if listed else ""))
    return Anomaly(code=AnomalyCode.unmatched_email, subject=f"mail:{company.id}/{message.message_id}",
                   company=company.id, summary=summary[:900], evidence=evidence,
                   suggested_actions=("attach_to_work_order", "ignore"))


def _record_failure(app: App, company: CompanyConfig, mailbox: MailboxConfig, exc: ConnectorError,
                    emit: Emit | None) -> None:
    outcome = "auth_failed" if isinstance(exc, AuthError) else "failed"
    with app.store.unit_of_work() as uow:
        uow.messages.record_poll(company=company.id, mailbox=mailbox.name, outcome=outcome, detail=str(exc)[:500])
        uow.commit()
    check_mailbox_health(app, company, mailbox, emit=emit, failure=exc)


def check_mailbox_health(app: App, company: CompanyConfig, mailbox: MailboxConfig, *, emit: Emit | None = None,
                         failure: ConnectorError | None = None, now: datetime | None = None) -> bool:
    """Open a ``mailbox_stalled`` case (and emit an event) when the login fails or no read succeeded for too long.

    A mailbox never read successfully counts from its first poll. Returns True when the mailbox is healthy.
    """
    now = now or datetime.now(UTC)
    subject = _subject(company, mailbox)
    with app.store.unit_of_work() as uow:
        last_ok = uow.messages.last_poll(company=company.id, mailbox=mailbox.name, outcome="ok")
        since = last_ok or uow.messages.first_poll(company=company.id, mailbox=mailbox.name)
        overdue = since is not None and now - since > timedelta(minutes=mailbox.stall_after_minutes)
        if not isinstance(failure, AuthError) and not overdue:
            return True
        why = ("the login was refused" if isinstance(failure, AuthError)
               else f"no successful read since {since.isoformat() if since else 'never'}")
        anomaly = Anomaly(
            code=AnomalyCode.mailbox_stalled, subject=subject, company=company.id,
            summary=f"Mailbox {mailbox.name} is not being read: {why}.",
            evidence={"mailbox": mailbox.name, "kind": mailbox.kind, "last_success": last_ok.isoformat() if last_ok
                      else None, "last_error": str(failure) if failure else "",
                      "stall_after_minutes": mailbox.stall_after_minutes},
            suggested_actions=("fix_credentials", "check_server", "ignore"),
        )
        CaseQueue(uow.cases).open_case(anomaly)
        uow.commit()
    if emit is not None:
        emit("closeout.mailbox.stalled", {"company": company.id, "mailbox": mailbox.name, "why": why})
    return False


def import_mail(app: App, path: Path, *, company_id: str | None = None) -> MailCounts:
    """``closeout mail import PATH``: one pass over an exported Maildir or mbox, as mailbox ``import``."""
    from closeout.config import ConfigError

    companies = app.companies()
    if company_id is None and len(companies) != 1:
        raise ConfigError(f"the config has {len(companies)} companies: say which with --company")
    company = app.config.company(company_id) if company_id else companies[0]
    path = Path(path).expanduser().resolve()
    inbox = MaildirInbox(path, name="import")
    kind = inbox.kind()  # a clear error for a path that is neither
    mailbox = MailboxConfig(kind=kind, name="import", path=path)
    return ingest_mailbox(app, company, mailbox, inbox=inbox)
