"""Mail intake: read a mailbox, keep every message, attach what can be placed to its work order, queue the rest.

A matched message adds its evidence (note, photos, signature, sign-off, change request) to the work order by
storing a new version of it, so the rules run again on what the job now carries. ``merge_mail_evidence`` is
applied by intake too, so a later pull of the same job from its source keeps the evidence instead of dropping it.
Counts are in ``mail_counts``, mailbox health (stalled mailboxes) in ``mail_health``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from services.config import CompanyConfig
from services.mailbox_config import MailboxConfig
from services.mail.counts import MailCounts
from services.mail.files import FileKeeper, attachment_path, raw_message_path
from services.mail.health import check_mailbox_health, mailbox_subject, record_failure
from mappings.mail_index import OrderIndex
from services.mail.parsing import BatchParser
from services.cases_in_bulk import open_in_bulk
from services.collector import collector_paused
from services.runtime import Emit, Inbox, Runtime, UnitOfWork
from connectors.errors import ConnectorError
from connectors.imap_inbox import MailCursor
from exceptions_queue.service import CaseQueue
from mappings.mail_evidence import MailEvidence, attachment_kind, evidence_from, with_evidence
from mappings.mail_match import MailMatch, ThreadHit, match_message, sender_role
from mappings.mail_parse import ParsedMessage, parse_message
from mappings.mail_provenance import ProvenancePolicy
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.work_order import WorkOrder

def merge_mail_evidence(uow: UnitOfWork, order: WorkOrder) -> WorkOrder:
    """The work order with the evidence of every message matched to it (unchanged when there is none)."""
    stored = uow.messages.evidence_for(order.id)
    return with_evidence(order, [MailEvidence.from_json(item) for item in stored]) if stored else order


def ingest_mailbox(app: Runtime, company: CompanyConfig, mailbox: MailboxConfig, *,
                   inbox: Inbox | None = None, emit: Emit | None = None) -> MailCounts:
    """Read every folder from its cursor; each batch commits with its cursor, so a crash loses and repeats nothing.

    Every poll is recorded. A refused login or a failed read opens (or keeps) a ``mailbox_stalled`` case once
    the mailbox has gone ``stall_after_minutes`` without a good read, emits an event, and re-raises.
    """
    counts = MailCounts()
    inbox = inbox or app.inbox_for(company, mailbox)
    try:
        with inbox:
            for folder in mailbox.folders:
                _ingest_folder(app, company, mailbox, inbox, folder, counts)
    except ConnectorError as exc:
        record_failure(app, company, mailbox, exc, emit)
        raise
    with app.store.unit_of_work() as uow:
        uow.messages.record_poll(company=company.id, mailbox=mailbox.name, outcome="ok", fetched=counts.fetched)
        queue = CaseQueue(uow.cases)
        stalled = uow.cases.find_open(kind=AnomalyCode.mailbox_stalled, subject=mailbox_subject(company, mailbox))
        if stalled is not None:
            queue.close_if_cleared(stalled, note="the mailbox was read successfully again")
        uow.commit()
    return counts


def _ingest_folder(app: Runtime, company: CompanyConfig, mailbox: MailboxConfig, inbox, folder: str,
                   counts: MailCounts) -> None:
    """Each batch commits with its cursor; the company's work orders are read once, when mail first arrives.

    The next batch is fetched and its parsing started (in worker processes) before this one is stored, and the
    one after is read (on a thread: the wait is the server's) while this one is stored, so reading, parsing and
    storing overlap; at most three batches are held. A read that fails still stores the batches before it.
    """
    stream = f"mail/{company.id}/{mailbox.name}/{folder}"
    keeps_cursor = mailbox.kind == "imap"
    with app.store.unit_of_work() as uow:
        cursor = MailCursor.decode(uow.cursors.get(stream)) if keeps_cursor else None
    index: list[OrderIndex] = []  # loaded only when there is mail to match

    def store(batch, parsing) -> None:
        with collector_paused(), app.store.unit_of_work() as uow:  # the batch's objects are not rescanned
            if not index and batch.messages:
                index.append(OrderIndex(uow.work_orders.latest(company=company.id)))
            messages = parsing.result()  # with its files written when the workers parsed it
            _ingest_batch(app, uow, company, mailbox, batch, messages, index[0] if index else None,
                          None if parsing.kept else files, counts)
            if keeps_cursor:
                uow.cursors.set(stream, batch.cursor.encode())
            files.wait()  # a committed row never names a file that is not written
            uow.commit()
        if mailbox.move_processed_to and batch.messages:
            inbox.move_processed(folder, [uid for uid, _ in batch.messages], mailbox.move_processed_to)

    moves = bool(mailbox.move_processed_to)  # a move uses the connection: the next read then waits for it
    with FileKeeper() as files, BatchParser(mailbox.max_attachment_bytes, app.home) as parser, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="closeout-mail-read") as reader:
        batches, pending = iter(inbox.fetch_new(folder, cursor)), None
        reading = reader.submit(next, batches, None)
        while True:
            try:
                batch = reading.result()
            except ConnectorError:
                if pending is not None:
                    store(*pending)
                raise
            if batch is None:
                break
            ahead = (batch, parser.start([raw for _, raw in batch.messages]))
            reading = None if moves else reader.submit(next, batches, None)  # read while the batch before is stored
            if pending is not None:
                store(*pending)
            pending = ahead
            if reading is None:
                reading = reader.submit(next, batches, None)
        if pending is not None:
            store(*pending)


def _ingest_batch(app: Runtime, uow: UnitOfWork, company: CompanyConfig, mailbox: MailboxConfig, batch, messages: list[ParsedMessage],
                  index: OrderIndex | None, files: FileKeeper | None, counts: MailCounts) -> None:
    """Parsed once, checked for duplicates in one read, its work order versions written together."""
    parsed = [(uid, raw, message) for (uid, raw), message in zip(batch.messages, messages, strict=True)]
    hashes: dict[str, set[str]] = {}
    for message_id, content_hash in uow.messages.stored_pairs(company=company.id,
                                                              message_ids=[m.message_id for _, _, m in parsed]):
        hashes.setdefault(message_id, set()).add(content_hash)
    over_cap = dict(batch.over_cap)
    state = _BatchState(hashes=hashes, files=files, raw_folder=raw_message_path(app.home, "-").parent,
                        threads=uow.messages.thread_hits(company=company.id, message_ids=sorted(
                            {mid for _, _, m in parsed if m.parsed for mid in m.thread_ids})))
    for uid, raw, message in parsed:
        counts.fetched += 1
        if uid in over_cap:
            message = _over_cap(message, over_cap[uid], mailbox.max_message_bytes)
        _ingest_one(app, company, mailbox, (batch.folder, batch.cursor.uid_validity, uid), raw, message,
                    index, state, counts, too_large=over_cap.get(uid))
    _open_cases(uow, state.anomalies, counts)
    pks = uow.messages.add_many(state.rows)  # the batch's rows in three statements, not three per message
    uow.messages.add_attachments_many([(pks[n], rows) for n, rows in state.attachments])
    uow.messages.add_matches([(pks[n], row) for n, row in state.matches])
    for saved in uow.work_orders.save_many(state.versions):  # in arrival order: one version per message, as before
        index.orders[saved.order.id] = saved.order
        counts.versions += saved.changed


@dataclass
class _BatchState:
    hashes: dict[str, set[str]]  # Message-ID -> content hashes of the messages stored under it, this batch's too
    files: FileKeeper | None  # None when the parsing workers kept the batch's files
    threads: dict[str, tuple[str, str]]  # Message-ID -> (work order id, job number) of matched mail, this batch's too
    raw_folder: Path = Path()  # where raw messages are kept (``raw_message_path``'s folder)
    versions: list[WorkOrder] = field(default_factory=list)  # matched orders to save, in arrival order
    rows: list[dict] = field(default_factory=list)  # messages to store, in arrival order
    attachments: list[tuple[int, list[dict]]] = field(default_factory=list)  # (position in rows, attachment rows)
    matches: list[tuple[int, dict]] = field(default_factory=list)  # (position in rows, match row)
    anomalies: list[Anomaly] = field(default_factory=list)  # cases to open at the batch's end, in arrival order


def _open_cases(uow: UnitOfWork, anomalies: list[Anomaly], counts: MailCounts) -> None:
    """Open the batch's cases in the order met, in bulk (``open_in_bulk``); nothing in the batch's loop reads cases."""
    for anomaly, opened in zip(anomalies, open_in_bulk(uow.cases, anomalies), strict=True):
        counts.cases_opened[anomaly.code.value] += opened


def _over_cap(message: ParsedMessage, size: int, cap: int) -> ParsedMessage:
    """A message read by its headers only: nothing in it is evidence, and it says why."""
    return replace(message, text="", attachments=(), problems=(
        f"the message is {size} bytes, over max_message_bytes ({cap}): only its headers were read",
        *message.problems))


def _ingest_one(app: Runtime, company: CompanyConfig, mailbox: MailboxConfig,
                where: tuple[str, int, int], raw: bytes, message: ParsedMessage, index: OrderIndex,
                state: _BatchState, counts: MailCounts, *, too_large: int | None = None) -> None:
    """Keep one message and place it; a matched one appends its work order's next version to the batch's.

    A message is known by its Message-ID and its content: a second message under an id already stored is a
    message of its own (a broken mailer, or a replay on purpose), and its case is named by its content hash.
    """
    folder, validity, uid = where
    known = state.hashes.setdefault(message.message_id, set())
    if message.content_hash in known:
        counts.duplicates += 1
        return
    shares_id = bool(known)
    known.add(message.content_hash)
    raw_path = state.raw_folder / f"{message.content_hash}.eml"  # raw_message_path, without rebuilding the folder
    if state.files is not None:
        state.files.keep(raw_path.parent, raw_path.name, raw)
    orders = index.orders
    if too_large is not None:
        match = MailMatch(None, "too_large", 0.0, message.problems[0])
    elif message.parsed:
        thread = {mid: ThreadHit(mid, *state.threads[mid]) for mid in message.thread_ids if mid in state.threads}
        match = match_message(message, index.candidates(message, mailbox.job_number_patterns, thread),
                              patterns=mailbox.job_number_patterns, thread=thread)
    else:
        match = MailMatch(None, "unparseable", 0.0, "the message could not be parsed")
    status = ("matched" if match.matched else "too_large" if too_large is not None
              else "unparseable" if not message.parsed else match.method)
    pk = len(state.rows)  # its position in the batch; the store gives the row its id when the batch is written
    state.rows.append(dict(company=company.id, mailbox=mailbox.name, folder=folder, uid_validity=validity, uid=uid,
                           message_id=message.message_id, content_hash=message.content_hash,
                           subject=message.subject, from_address=message.from_address, sent_at=message.sent_at,
                           status=status, raw_path=str(raw_path), problems=message.problems))
    rows = []
    for attachment in message.attachments:
        if attachment.skipped:
            counts.attachments_skipped += 1
        else:
            if state.files is not None:
                path = attachment_path(app.home, attachment.content_hash)
                state.files.keep(path.parent, path.name, attachment.content)
            counts.attachments_stored += 1
        rows.append({"content_hash": attachment.content_hash, "file_name": attachment.file_name,
                     "media_type": attachment.media_type, "size_bytes": attachment.size_bytes,
                     "kind": attachment_kind(attachment.file_name, attachment.media_type, message.text).value,
                     "skipped": attachment.skipped})
    if rows:
        state.attachments.append((pk, rows))
    if not match.matched:
        if too_large is not None:
            counts.too_large += 1
            anomaly = _too_large_anomaly(company, mailbox, message, too_large, raw_path)
        else:
            counts.unparseable += not message.parsed
            counts.unmatched += message.parsed
            anomaly = _queue_anomaly(company, mailbox, message, match, raw_path, orders, shares_id=shares_id)
        state.anomalies.append(anomaly)  # opened with the batch's others, in this order
        return
    row, order = _match_row(message, match, orders[match.work_order_id], mailbox.provenance_policy())
    state.matches.append((pk, row))
    state.threads[message.message_id] = (order.id, order.job_number)
    orders[order.id] = order
    state.versions.append(order)
    counts.matched += 1
    counts.methods[match.method] += 1


def _match_row(message: ParsedMessage, match: MailMatch, order: WorkOrder,
               policy: ProvenancePolicy) -> tuple[dict, WorkOrder]:
    """The match to store, and the work order carrying the message's evidence, for the caller to save."""
    evidence = evidence_from(message, match, order, received_at=datetime.now(UTC), policy=policy)
    return (dict(work_order_id=order.id, job_number=order.job_number, method=match.method,
                 confidence=match.confidence, explanation=match.explanation, evidence=evidence.as_json()),
            with_evidence(order, [evidence]))


def _record_match(uow: UnitOfWork, pk: int, message: ParsedMessage, match: MailMatch, order: WorkOrder,
                  policy: ProvenancePolicy) -> WorkOrder:
    """Store the match; the work order carrying the message's evidence, for the caller to save (one path for all)."""
    row, updated = _match_row(message, match, order, policy)
    uow.messages.add_match(pk, **row)
    return updated


class MessageLinkError(ValueError):
    """The message cannot be linked as asked (unknown, already placed, or its raw copy is gone)."""


def attach_message(uow: UnitOfWork, company: str, message_id: str, work_order_id: str, *, actor: str,
                   content_hash: str | None = None, mailboxes: Sequence[MailboxConfig] = ()) -> WorkOrder:
    """Link a stored message by hand: a ``manual`` match (confidence 1.0), then the evidence and new work order
    version an automatic match gives (re-parsed from the kept raw message; attachments skipped then stay so).

    ``content_hash`` names the message where several share ``message_id`` (their cases carry it). Linking
    places the message; it vouches for nobody: its evidence is judged by the policy of the mailbox it came
    from (one of the company's ``mailboxes``), as an automatic match's is.
    """
    stored = uow.messages.get(company=company, message_id=message_id, content_hash=content_hash)
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
    policy = mailbox_policy(mailboxes, stored.mailbox)
    saved = uow.work_orders.save(_record_match(uow, stored.pk, message, match, order, policy))
    uow.messages.set_status(stored.pk, "matched")
    return saved.order


def mailbox_policy(mailboxes: Sequence[MailboxConfig], name: str) -> ProvenancePolicy:
    """The provenance policy of the mailbox called ``name``; for any other (an import) the strictest of all."""
    policies = [m.provenance_policy() for m in mailboxes]
    named = [policy for policy, m in zip(policies, mailboxes) if m.name == name]
    if named or not policies:
        return named[0] if named else ProvenancePolicy()
    strictest = policies[0]
    for policy in policies[1:]:
        strictest = strictest.strictest(policy)
    return strictest


def company_mailboxes(app: Runtime, company_id: str) -> tuple[MailboxConfig, ...]:
    """The mailboxes configured for ``company_id`` (none for a company the config no longer has)."""
    return next((c.mailboxes for c in app.companies() if c.id == company_id), ())


def _too_large_anomaly(company: CompanyConfig, mailbox: MailboxConfig, message: ParsedMessage, size: int,
                       raw_path: Path) -> Anomaly:
    summary = (f"A message in mailbox {mailbox.name} is {size} bytes, over max_message_bytes "
               f"({mailbox.max_message_bytes}): only its headers were read and kept. From "
               f"{message.from_address or 'an unknown sender'}, subject {message.subject or 'none'!r}.")
    return Anomaly(code=AnomalyCode.source_payload_invalid, subject=f"mail:{company.id}/{message.content_hash}",
                   company=company.id, summary=summary[:900],
                   evidence={"mailbox": mailbox.name, "message_id": message.message_id,
                             "content_hash": message.content_hash, "from": message.from_address,
                             "subject": message.subject, "size_bytes": size,
                             "max_message_bytes": mailbox.max_message_bytes,
                             "sent_at": message.sent_at.isoformat() if message.sent_at else None,
                             "raw_message": str(raw_path), "problems": list(message.problems)},
                   suggested_actions=("read_in_mail_client", "ignore"))


def _queue_anomaly(company: CompanyConfig, mailbox: MailboxConfig, message: ParsedMessage, match: MailMatch,
                   raw_path: Path, orders: dict[str, WorkOrder], *, shares_id: bool = False) -> Anomaly:
    """The case of a message that could not be placed. Named by its Message-ID, or by its content hash when
    another stored message has the same id: each message is a case of its own, and links on its own."""
    evidence = {"mailbox": mailbox.name, "message_id": message.message_id, "content_hash": message.content_hash,
                "shares_message_id": shares_id, "from": message.from_address,
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
               f"could not be placed: {match.explanation}" + (f". Candidates: {listed}" if listed else "")
               + (". Another message has the same Message-ID; this one is told apart by its content"
                  if shares_id else ""))
    key = message.content_hash if shares_id else message.message_id
    return Anomaly(code=AnomalyCode.unmatched_email, subject=f"mail:{company.id}/{key}",
                   company=company.id, summary=summary[:900], evidence=evidence,
                   suggested_actions=("attach_to_work_order", "ignore"))


def import_mail(app: Runtime, path: Path, *, company_id: str | None = None) -> MailCounts:
    """``closeout mail import PATH``: one pass over an exported Maildir or mbox, as mailbox ``import``."""
    from services.config import ConfigError

    companies = app.companies()
    if company_id is None and len(companies) != 1:
        raise ConfigError(f"the config has {len(companies)} companies: say which with --company")
    company = app.config.company(company_id) if company_id else companies[0]
    path = Path(path).expanduser().resolve()
    if path.is_file():
        kind = "mbox"
    elif (path / "cur").is_dir() or (path / "new").is_dir():
        kind = "maildir"
    else:  # said before anything is read, so a wrong path records no failed poll
        raise ConfigError(f"{path} is neither a Maildir folder (with cur/ and new/) nor an mbox file")
    return ingest_mailbox(app, company, import_mailbox(company, kind, path))


def import_mailbox(company: CompanyConfig, kind: str, path: Path) -> MailboxConfig:
    """The mailbox an import reads as: the company's mail came from one of its mailboxes, so the import holds it
    to all of them at once (the strictest provenance policy, the smallest caps); the defaults without any."""
    boxes = company.mailboxes
    policy = mailbox_policy(boxes, "import")
    limits = {name: min(getattr(box, name) for box in boxes)
              for name in ("max_message_bytes", "max_attachment_bytes", "max_batch_bytes")} if boxes else {}
    return MailboxConfig(kind=kind, name="import", path=path, auth_results=policy.auth_results,
                         trusted_authserv_ids=policy.trusted_authserv_ids, staff_addresses=policy.staff_addresses,
                         **limits)


__all__ = ["MailCounts", "MessageLinkError", "attach_message", "check_mailbox_health", "company_mailboxes",
           "import_mail", "import_mailbox", "ingest_mailbox", "mailbox_policy", "merge_mail_evidence"]
