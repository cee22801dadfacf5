"""Erasure: ``closeout erase --customer``: a person's data out of payloads, mail, work orders and cases; the books kept.

Who: a customer named by e-mail address or by name (exactly, any case; a name erases every customer of that name in
the scope, so an address is the surer key), in one company or all. Their identifiers are then every name, address,
phone and street line those work orders give the customer.

What changes, for each work order that is the person's or names them, once it is finished (``services.retention``'s
sense: invoiced or decided, nothing open about it):

- its raw payloads are deleted (so it can no longer be replayed), with any other payload naming the person;
- every version's snapshot, every rule decision's reason and evidence, Closeout's copy of each draft sent and each
  correction step: the person's name becomes ``erased customer <hash>``, their e-mail and phone are dropped, their
  billing and site addresses blanked, their own notes become ``[erased]``, and any other mention is replaced;
- the mail from their address, about their work orders or naming them: the raw message and its attachments are
  deleted, the row's sender and subject rewritten, the evidence it gave its work order rewritten like the snapshot;
- the summary and evidence of every closed case about these, or naming the person;
- the notifications sent to them or naming them (a customer request asking them for a sign-off, an assignment or
  digest quoting a case summary): recipient, subject, body and error rewritten like any text, the recipient that
  is them becoming the placeholder. One still pending, or about an open case or an unfinished work order, is kept.

What stays: the ledger's invoice (the books of record; erase there if the law asks), and in Closeout each push
record's doc number, amount, status, ledger ids and customer reference, so ``closeout audit`` and ``reconcile``
still find every invoice; each case's status and history; the audit trail, as written. A work order that is not
finished, its mail and its open cases are left untouched and named in the report: erase again once decided.

The erasure is one entry in the audit trail, naming only the request's hash and the counts. The source system keeps
its own copy: a job it sends again unchanged makes no new version (the latest version keeps the content hash a
re-pull computes), but one it changes comes back with what the source holds. Erase there too.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from exceptions_queue.cases import CaseStatus
from services.mail.files import attachment_path, raw_message_path
from notifications.messages import NoticeStatus
from services.retention import KeptAttachment, KeptMessage, KeptNotice, RetentionFacts, facts_of, mail_subjects
from services.runtime import Runtime
from workorders.drafts import InvoiceDraft
from workorders.work_order import Approval, Attachment, ChangeRequest, Note, WorkOrder

CUSTOMER_ERASED = "customer_erased"
"""The audit trail's action for one erasure that changed anything."""
ERASED = "[erased]"
MIN_TEXT = 4
"""Identifiers shorter than this are erased where they are a field (a name, an e-mail), never searched in text."""
_OPEN = {CaseStatus.open.value, CaseStatus.in_progress.value}
_ADDRESS_KEYS = ("billing_address", "address")
_THEIR_WORDS = ("text", "first")  # a Note's text; the excerpt ``job_note_present`` quotes in its evidence
_SCAN_BLOCK = 1 << 20


class ErasureError(ValueError):
    """The erasure cannot be asked so (no one named); the message says what to give."""


class CaseText(Protocol):
    id: int
    company: str
    subject: str
    status: str
    work_order_id: str | None
    summary: str
    evidence: dict[str, Any]


class ErasureFacts(RetentionFacts, Protocol):
    """What erasure reads and rewrites in the store (``storage.sql_retention.SqlRetention``)."""

    def work_orders_containing(self, needles: Sequence[str], *, company: str | None) -> set[str]: ...

    def versions_of(self, work_order_id: str) -> list[tuple[int, dict[str, Any], str]]: ...

    def rewrite_version(self, work_order_id: str, version: int, *, snapshot: dict[str, Any],
                        content_hash: str) -> None: ...

    def decisions_of(self, work_order_ids: Iterable[str]) -> list[tuple[int, str, Any]]: ...

    def rewrite_decision(self, decision_id: int, *, reason: str, evidence: Any) -> None: ...

    def drafts_of(self, work_order_ids: Iterable[str]) -> list[tuple[str, str, dict[str, Any]]]: ...

    def rewrite_draft(self, idempotency_key: str, draft: dict[str, Any]) -> None: ...

    def evidence_targets(self, idempotency_keys: Iterable[str]) -> list[tuple[str, str, str]]: ...

    def rewrite_evidence_target(self, idempotency_key: str, item: str, target: str) -> None: ...

    def corrections_of(self, work_order_ids: Iterable[str]) -> list[tuple[str, str, Any, Any]]: ...

    def rewrite_correction(self, key: str, *, draft: Any, target: Any) -> None: ...

    def payloads_of(self, work_order_ids: Iterable[str]) -> list[int]: ...

    def payloads_containing(self, needles: Sequence[str]) -> dict[int, str]: ...

    def payload_documents(self, ids: Iterable[int]) -> dict[int, Any]: ...

    def messages_of_company(self, company: str | None) -> Sequence[KeptMessage]: ...

    def messages_from_or_naming(self, *, addresses: Sequence[str], needles: Sequence[str],
                                company: str | None) -> Sequence[KeptMessage]: ...

    def messages_matched_to(self, work_order_ids: Iterable[str]) -> Sequence[KeptMessage]: ...

    def match_evidence(self, message_pks: Iterable[int]) -> dict[int, dict[str, Any]]: ...

    def evidence_of_work_orders(self, work_order_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]: ...

    def rewrite_message(self, pk: int, *, subject: str, from_address: str) -> None: ...

    def rewrite_match_evidence(self, pk: int, evidence: dict[str, Any]) -> None: ...

    def rewrite_attachment_name(self, message_pk: int, seq: int, file_name: str) -> None: ...

    def cases_about(self, *, work_order_ids: Iterable[str] = (),
                    subjects: Iterable[str] = ()) -> Sequence[CaseText]: ...

    def cases_containing(self, needles: Sequence[str], *, company: str | None) -> Sequence[CaseText]: ...

    def rewrite_case(self, case_id: int, *, summary: str, evidence: dict[str, Any]) -> None: ...

    def history_of(self, case_ids: Iterable[int]) -> list[tuple[int, int, str, Any, Any]]: ...

    def notices_to_or_naming(self, *, addresses: Sequence[str], needles: Sequence[str],
                             company: str | None) -> Sequence[KeptNotice]: ...


def erasure_digest(asked: str) -> str:
    """The hash that stands for the person in the placeholder and the audit trail: the same request, the same hash."""
    return hashlib.sha256(f"closeout-erasure:{normalised(asked).casefold()}".encode()).hexdigest()[:12]


def normalised(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Person:
    """Whom to erase: the names and e-mail addresses that are them (casefolded), and more text that identifies
    them (phones, street lines), searched in free text only."""

    digest: str
    names: frozenset[str]
    emails: frozenset[str]
    others: frozenset[str] = frozenset()

    @property
    def placeholder(self) -> str:
        return f"erased customer {self.digest}"

    def is_them(self, value: Any) -> bool:
        return isinstance(value, str) and normalised(value).casefold() in self.names | self.emails

    def searched(self) -> list[str]:
        """The identifiers searched in text, longest first (a name inside an address is replaced as part of it)."""
        return sorted({text for text in self.names | self.emails | self.others if len(text) >= MIN_TEXT},
                      key=lambda text: (-len(text), text))


class Scrubber:
    """Rewrites JSON and text so nothing in it identifies the person; the same input always gives the same output,
    so evidence rewritten here and inside a snapshot stay equal (a re-pull then merges it without a new version)."""

    def __init__(self, person: Person) -> None:
        self.person = person
        searched = person.searched()
        self._pattern = re.compile(
            r"(?<![\w@.])(?:" + "|".join(re.escape(text) for text in searched) + r")(?![\w@]|\.\w)", re.IGNORECASE
        ) if searched else None

    def text(self, value: str) -> str:
        return self._pattern.sub(self.person.placeholder, value) if self._pattern else value

    def mentions(self, value: str) -> bool:
        return bool(self._pattern and self._pattern.search(value))

    def json(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self._object(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def _object(self, value: dict[str, Any]) -> dict[str, Any]:
        them, person = self.person.is_them, self.person
        out = {self.text(key) if isinstance(key, str) else key: self.json(item) for key, item in value.items()}
        if them(value.get("name")) or them(value.get("email")):  # a customer, contact or technician record
            _set(out, "name", person.placeholder)
            _set(out, "email", None)
            _set(out, "phone", None)
            for key in _ADDRESS_KEYS:
                if isinstance(out.get(key), dict):
                    out[key] = _blank(out[key])
        customer = value.get("customer")
        if isinstance(customer, dict) and (them(customer.get("name")) or them(customer.get("email"))) \
                and isinstance(out.get("site"), dict) and isinstance(out["site"].get("address"), dict):
            out["site"] = {**out["site"], "address": _blank(out["site"]["address"])}  # their job's site: their home
        if them(value.get("customer_name")) or them(value.get("customer_email")):  # a draft of theirs
            _set(out, "customer_name", person.placeholder)
            for key in ("customer_email", "bill_to", "ship_to"):
                _set(out, key, None)
        if them(value.get("author")) or self.mentions(str(value.get("author") or "")):
            for key in _THEIR_WORDS:  # a note they wrote, or a decision quoting it
                _set(out, key, ERASED)
        if them(value.get("from")):  # a case's evidence about their message
            out["from"] = person.placeholder
            _set(out, "subject", ERASED)
        return out


def _set(document: dict[str, Any], key: str, value: Any) -> None:
    if key in document:
        document[key] = value


def _blank(address: dict[str, Any]) -> dict[str, Any]:
    return {key: "" if isinstance(item, str) else item for key, item in address.items()}


@dataclass
class ErasureReport:
    """What the erasure changed (``applied``) or would change, and what it left because it is not finished."""

    applied: bool
    digest: str
    company: str | None = None
    work_orders: int = 0
    versions: int = 0
    decisions: int = 0
    drafts: int = 0
    corrections: int = 0
    evidence_targets: int = 0
    payloads: int = 0
    messages: int = 0
    match_evidence: int = 0
    raw_messages: int = 0
    attachments: int = 0
    cases: int = 0
    notifications: int = 0
    kept_work_orders: list[str] = field(default_factory=list)
    kept_messages: int = 0
    kept_cases: list[int] = field(default_factory=list)
    kept_notifications: int = 0
    """Notifications naming the person still to be sent, or about an open case or an unfinished work order."""
    kept_history_entries: int = 0
    """Entries of the rewritten cases' history naming the person: the history is append-only, so they stay."""

    def counts(self) -> dict[str, int]:
        """What was (or would be) changed, by kind."""
        return {name: getattr(self, name) for name in _CHANGED}

    @property
    def changed(self) -> int:
        return sum(self.counts().values())

    @property
    def nothing(self) -> bool:
        return (not self.changed and not self.kept_work_orders and not self.kept_messages and not self.kept_cases
                and not self.kept_notifications)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_CHANGED = ("work_orders", "versions", "decisions", "drafts", "corrections", "evidence_targets", "payloads", "messages",
            "match_evidence", "raw_messages", "attachments", "cases", "notifications")


@dataclass
class _Plan:
    """The rewrites, computed in full before any is made, so a dry run and an erasure count alike."""

    versions: list[tuple[str, int, dict[str, Any], str]] = field(default_factory=list)
    decisions: list[tuple[int, str, Any]] = field(default_factory=list)
    drafts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    targets: list[tuple[str, str, str]] = field(default_factory=list)
    corrections: list[tuple[str, Any, Any]] = field(default_factory=list)
    payloads: set[int] = field(default_factory=set)
    messages: list[tuple[int, str, str]] = field(default_factory=list)
    match_evidence: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    attachment_names: list[tuple[int, int, str]] = field(default_factory=list)
    cases: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    notices: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def erase_customer(app: Runtime, who: str, *, company: str | None = None, apply: bool = False,
                   actor: str = "closeout") -> ErasureReport:
    """Erase (with ``apply``) or only count the person's data; the rewrites and the audit entry commit together,
    the files go after the commit. ``company`` must be a configured id (``ConfigError`` otherwise)."""
    asked = normalised(who)
    if not asked:
        raise ErasureError("say whose data to erase: --customer takes a name or an e-mail address")
    if company is not None:
        app.config.company(company)  # an unknown id is the user's mistake, named
    report = ErasureReport(applied=apply, digest=erasure_digest(asked), company=company)
    with app.store.unit_of_work() as uow:
        facts: ErasureFacts = facts_of(uow)
        person, theirs = _find_person(facts, asked, report.digest, company)
        scrub = Scrubber(person)
        plan = _Plan()
        erased = _plan_work_orders(facts, scrub, theirs, company, plan, report)
        _plan_payloads(facts, scrub, erased, company, plan, report)
        mail = _plan_mail(app.home, facts, scrub, theirs, erased, company, plan, report)
        _plan_cases(facts, scrub, erased, mail, company, plan, report)
        _plan_notices(facts, scrub, company, plan, report)
        report.payloads = len(plan.payloads)
        if apply and report.changed:
            _write(facts, plan)
            uow.audit.append(actor=actor, action=CUSTOMER_ERASED, subject=f"erasure:{report.digest}",
                             note=describe_erasure(report)[:2000],
                             after={"company": company, **report.counts(),
                                    "kept_work_orders": len(report.kept_work_orders)})
            uow.commit()
    if apply and report.changed:
        for path in plan.files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return report


def describe_erasure(report: ErasureReport) -> str:
    """One line of counts, naming no one (the request is its hash)."""
    verb = "erased" if report.applied else "would erase"
    line = (f"{verb} customer {report.digest}: {report.work_orders} work order(s) ({report.versions} version(s), "
            f"{report.decisions} decision(s), {report.drafts} invoice draft(s), {report.corrections} correction(s)), "
            f"{report.payloads} raw payload(s), {report.messages} message(s) ({report.raw_messages} raw file(s), "
            f"{report.attachments} attachment(s)), {report.cases} case(s), {report.notifications} notification(s)")
    waiting = []
    if report.kept_work_orders:
        waiting.append(f"{len(report.kept_work_orders)} unfinished work order(s): {', '.join(report.kept_work_orders)}")
    if report.kept_messages:
        waiting.append(f"{report.kept_messages} message(s) on them or awaiting a decision")
    if report.kept_cases:
        waiting.append(f"{len(report.kept_cases)} open case(s): {', '.join(f'#{n}' for n in report.kept_cases)}")
    if report.kept_notifications:
        waiting.append(f"{report.kept_notifications} notification(s) still to be sent or about those")
    if waiting:
        line += "; kept until finished (erase again then): " + "; ".join(waiting)
    if report.kept_history_entries:
        line += f"; {report.kept_history_entries} case history entr(ies) kept as written (the history is append-only)"
    return line


def _find_person(facts: ErasureFacts, asked: str, digest: str, company: str | None) -> tuple[Person, set[str]]:
    """The person as asked, widened by what their work orders say of them; and those work orders' ids."""
    folded = asked.casefold()
    first = Person(digest, names=frozenset() if "@" in asked else frozenset({folded}),
                   emails=frozenset({folded}) if "@" in asked else frozenset())
    names, emails, others, theirs = set(first.names), set(first.emails), set(), set()
    for work_order_id in sorted(facts.work_orders_containing([asked], company=company)):
        for _, snapshot, _ in facts.versions_of(work_order_id):
            customer = snapshot.get("customer") or {}
            if not (first.is_them(customer.get("name")) or first.is_them(customer.get("email"))):
                continue
            theirs.add(work_order_id)
            for value, into in ((customer.get("name"), names), (customer.get("email"), emails),
                                (customer.get("phone"), others)):
                if isinstance(value, str) and value.strip():
                    into.add(normalised(value).casefold())
            for address in (customer.get("billing_address") or {}, (snapshot.get("site") or {}).get("address") or {}):
                line = normalised(str(address.get("line1") or ""))
                if line:
                    others.add(line.casefold())
    return Person(digest, frozenset(names), frozenset(emails), frozenset(others)), theirs


def _plan_work_orders(facts: ErasureFacts, scrub: Scrubber, theirs: set[str], company: str | None, plan: _Plan,
                      report: ErasureReport) -> set[str]:
    """The finished work orders that are the person's or name them, with their rewrites; unfinished ones are kept."""
    candidates = theirs | facts.work_orders_containing(scrub.person.searched(), company=company)
    versions = {work_order_id: facts.versions_of(work_order_id) for work_order_id in sorted(candidates)}
    named = {work_order_id for work_order_id, rows in versions.items()
             if work_order_id in theirs or any(scrub.json(snapshot) != snapshot for _, snapshot, _ in rows)}
    finished = facts.finished_work_orders(named)
    report.kept_work_orders = sorted(named - finished)
    evidence = facts.evidence_of_work_orders(finished)
    for work_order_id in sorted(finished):
        rows = versions[work_order_id]
        for version, snapshot, content_hash in rows:
            scrubbed = scrub.json(snapshot)
            if scrubbed == snapshot:
                continue
            WorkOrder.model_validate(scrubbed)  # still a work order: explain, corrections and the audit read it
            if version == rows[-1][0]:
                content_hash = _repull_hash(scrub, snapshot, evidence.get(work_order_id, []), content_hash)
            plan.versions.append((work_order_id, version, scrubbed, content_hash))
    for decision_id, reason, found in facts.decisions_of(finished):
        rewritten = (scrub.text(reason), scrub.json(found))
        if rewritten != (reason, found):
            plan.decisions.append((decision_id, *rewritten))
    records = facts.drafts_of(finished)
    for key, _, draft in records:
        scrubbed = scrub.json(draft)
        if scrubbed != draft:
            InvoiceDraft.model_validate(scrubbed)
            plan.drafts.append((key, scrubbed))
    for key, item, target in facts.evidence_targets(key for key, _, _ in records):
        if (new_target := scrub.text(target)) != target:
            plan.targets.append((key, item, new_target))
    for key, _, draft, target in facts.corrections_of(finished):
        rewritten = (scrub.json(draft), scrub.json(target))
        if rewritten != (draft, target):
            plan.corrections.append((key, *rewritten))
    report.work_orders = len({work_order_id for work_order_id, _, _, _ in plan.versions})
    report.versions, report.decisions = len(plan.versions), len(plan.decisions)
    report.drafts, report.evidence_targets = len(plan.drafts), len(plan.targets)
    report.corrections = len(plan.corrections)
    return finished


_PIECES = {"notes": Note, "attachments": Attachment, "approvals": Approval, "change_requests": ChangeRequest}


def _repull_hash(scrub: Scrubber, snapshot: dict[str, Any], evidence: list[dict[str, Any]], stored: str) -> str:
    """The content hash the next pull of the unchanged job computes, so it is not taken for a change.

    A pull maps the source's payload (unchanged: it is the source's copy) and merges the mail evidence, which
    the erasure rewrites: so the stored version with only its mail pieces rewritten. Without mail, the stored hash.
    """
    order = WorkOrder.model_validate(snapshot)
    updates: dict[str, tuple[Any, ...]] = {}
    for name, model in _PIECES.items():
        replaced = {model.model_validate(piece): model.model_validate(scrub.json(piece))
                    for item in evidence for piece in item.get(name, ())}
        if any(before != after for before, after in replaced.items()):
            updates[name] = tuple(replaced.get(piece, piece) for piece in getattr(order, name))
    return order.model_copy(update=updates).content_hash() if updates else stored


def _plan_payloads(facts: ErasureFacts, scrub: Scrubber, erased: set[str], company: str | None, plan: _Plan,
                   report: ErasureReport) -> None:
    """Every payload of an erased work order, and any other naming the person whose job nothing waits on: a job
    never mapped (no work order: its case, if any, decided) or a finished one. One still open is kept and named.
    With ``company``, a job is its work order's company's, or its case's when it never mapped."""
    plan.payloads.update(facts.payloads_of(erased))
    naming = facts.payloads_containing(scrub.person.searched())
    documents = facts.payload_documents(set(naming) - plan.payloads)
    jobs = {naming[row] for row, document in documents.items() if scrub.json(document) != document}
    if not jobs:
        return
    owners = {job: {snapshot.get("company") for _, snapshot, _ in facts.versions_of(job)} for job in jobs}
    cases_of = {job: list(facts.cases_about(subjects=[job])) for job in jobs if not owners[job]}
    for job, cases in cases_of.items():
        owners[job] = {case.company for case in cases}
    mine = {job for job in jobs if company is None or company in owners[job]}
    finished = facts.finished_work_orders(mine)
    for row in sorted(documents):
        job = naming[row]
        if job not in mine or job in report.kept_work_orders:
            continue
        never_mapped = job in cases_of
        if job in finished or (never_mapped and not any(c.status in _OPEN for c in cases_of[job])):
            plan.payloads.add(row)
        else:
            report.kept_work_orders.append(job)
    report.kept_work_orders = sorted(set(report.kept_work_orders))


def _plan_mail(home: Path, facts: ErasureFacts, scrub: Scrubber, their_orders: set[str], erased: set[str],
               company: str | None, plan: _Plan, report: ErasureReport) -> list[KeptMessage]:
    """The person's messages (from them, about their work orders, naming them) and the evidence of every message
    on an erased work order; a message on an unfinished order, or unplaced with an open case, is kept."""
    person = scrub.person
    found = {m.pk: m for m in facts.messages_from_or_naming(addresses=sorted(person.emails), needles=person.searched(),
                                                           company=company)}
    found.update((m.pk, m) for m in facts.messages_matched_to(their_orders))
    for message in facts.messages_of_company(company):
        if message.pk not in found and _file_mentions(raw_message_path(home, message.content_hash), person.searched()):
            found[message.pk] = message
    orders = {m.work_order_id for m in found.values() if m.work_order_id}
    done = erased | facts.finished_work_orders(orders - erased - set(report.kept_work_orders))
    statuses = facts.case_statuses(s for m in found.values() if not m.work_order_id for s in mail_subjects(m))
    chosen: list[KeptMessage] = []
    for _, message in sorted(found.items()):
        if message.work_order_id is not None:
            waiting = message.work_order_id not in done
        else:
            waiting = any(statuses.get(s, set()) & _OPEN for s in mail_subjects(message))
        if waiting:
            report.kept_messages += 1  # its work order is not finished, or its case still open
        else:
            chosen.append(message)
    for message in chosen:
        sender = person.is_them(message.from_address)
        subject = ERASED if sender else scrub.text(message.subject)
        address = person.placeholder if sender else scrub.text(message.from_address)
        if (subject, address) != (message.subject, message.from_address):
            plan.messages.append((message.pk, subject, address))
    pks = {m.pk for m in chosen}
    evidence = facts.match_evidence({m.pk for m in facts.messages_matched_to(erased)} | pks)
    for pk, document in sorted(evidence.items()):
        if (scrubbed := scrub.json(document)) != document:
            plan.match_evidence.append((pk, scrubbed))
    attachments: list[KeptAttachment] = list(facts.attachments_of(pks))
    for attachment in attachments:
        if (name := scrub.text(attachment.file_name)) != attachment.file_name:
            plan.attachment_names.append((attachment.message_pk, attachment.seq, name))
    _plan_files(home, facts, pks, [m.content_hash for m in chosen], attachments, plan, report)
    files = set(plan.files)
    touched = {pk for pk, _, _ in plan.messages} | {pk for pk, _ in plan.match_evidence if pk in pks}
    touched |= {pk for pk, _, _ in plan.attachment_names}
    touched |= {m.pk for m in chosen if raw_message_path(home, m.content_hash) in files}
    report.messages, report.match_evidence = len(touched), len(plan.match_evidence)
    return chosen


def _plan_files(home: Path, facts: ErasureFacts, pks: set[int], hashes: list[str],
                attachments: list[KeptAttachment], plan: _Plan, report: ErasureReport) -> None:
    """A raw message or attachment goes when no message outside the erasure keeps it and no invoice awaits it."""
    for content_hash, holders in sorted(facts.messages_with_content(hashes).items()):
        path = raw_message_path(home, content_hash)
        if holders <= pks and path.exists():
            plan.files.append(path)
            report.raw_messages += 1
    kept = {a.content_hash for a in attachments if not a.skipped}
    waiting = facts.files_awaiting_upload(kept)
    for content_hash, holders in sorted(facts.messages_with_attachments(kept).items()):
        path = attachment_path(home, content_hash)
        if holders <= pks and content_hash not in waiting and path.exists():
            plan.files.append(path)
            report.attachments += 1


def _plan_cases(facts: ErasureFacts, scrub: Scrubber, erased: set[str], messages: list[KeptMessage],
                company: str | None, plan: _Plan, report: ErasureReport) -> None:
    """The closed cases about what is erased or naming the person; an open one (or one of a kept order) stays."""
    kept_orders = set(report.kept_work_orders)
    subjects = [subject for message in messages for subject in mail_subjects(message)]
    found = {case.id: case for case in facts.cases_about(work_order_ids=erased, subjects=subjects)}
    found.update((case.id, case) for case in facts.cases_containing(scrub.person.searched(), company=company))
    for case_id, case in sorted(found.items()):
        summary, evidence = scrub.text(case.summary), scrub.json(case.evidence)
        if (summary, evidence) == (case.summary, case.evidence):
            continue
        if case.status in _OPEN or case.work_order_id in kept_orders or case.subject in kept_orders:
            report.kept_cases.append(case_id)
            continue
        plan.cases.append((case_id, summary, evidence))
    report.kept_history_entries = sum(  # append-only in the database: kept as written, and counted
        1 for _, _, note, before, after in facts.history_of(case_id for case_id, _, _ in plan.cases)
        if (scrub.text(note), scrub.json(before), scrub.json(after)) != (note, before, after))
    report.cases = len(plan.cases)


def _plan_notices(facts: ErasureFacts, scrub: Scrubber, company: str | None, plan: _Plan,
                  report: ErasureReport) -> None:
    """The notifications to the person or naming them, rewritten once nothing will send them again and their case
    is decided; a pending one, or one about an open case or a kept work order, is kept (and counted)."""
    person, kept_orders, kept_cases = scrub.person, set(report.kept_work_orders), set(report.kept_cases)
    for notice in facts.notices_to_or_naming(addresses=sorted(person.emails), needles=person.searched(),
                                             company=company):
        recipient = person.placeholder if person.is_them(notice.recipient) else scrub.text(notice.recipient)
        words = (notice.recipient, notice.subject, notice.body, notice.last_error)
        rewritten = (recipient, scrub.text(notice.subject), scrub.text(notice.body), scrub.text(notice.last_error))
        if rewritten == words:
            continue
        if (notice.status == NoticeStatus.pending.value or notice.case_status in _OPEN or notice.case_id in kept_cases
                or notice.case_work_order_id in kept_orders or notice.case_subject in kept_orders):
            report.kept_notifications += 1
            continue
        plan.notices.append((notice.id, *rewritten))
    report.notifications = len(plan.notices)


def _write(facts: ErasureFacts, plan: _Plan) -> None:
    for work_order_id, version, snapshot, content_hash in plan.versions:
        facts.rewrite_version(work_order_id, version, snapshot=snapshot, content_hash=content_hash)
    for decision_id, reason, evidence in plan.decisions:
        facts.rewrite_decision(decision_id, reason=reason, evidence=evidence)
    for key, draft in plan.drafts:
        facts.rewrite_draft(key, draft)
    for key, item, target in plan.targets:
        facts.rewrite_evidence_target(key, item, target)
    for key, draft, target in plan.corrections:
        facts.rewrite_correction(key, draft=draft, target=target)
    facts.drop_payloads(plan.payloads)
    for pk, subject, address in plan.messages:
        facts.rewrite_message(pk, subject=subject, from_address=address)
    for pk, evidence in plan.match_evidence:
        facts.rewrite_match_evidence(pk, evidence)
    for pk, seq, name in plan.attachment_names:
        facts.rewrite_attachment_name(pk, seq, name)
    for case_id, summary, evidence in plan.cases:
        facts.rewrite_case(case_id, summary=summary, evidence=evidence)
    for notice_id, recipient, subject, body, last_error in plan.notices:
        facts.rewrite_notice(notice_id, recipient=recipient, subject=subject, body=body, last_error=last_error)


def _file_mentions(path: Path, needles: Sequence[str]) -> bool:
    """Whether the file's bytes name the person (a needle as a whole word, any ASCII case), read a block at a time:
    a kept message may be tens of megabytes, and the person may be named only in a header (``To:``) or the body."""
    wanted = [re.escape(needle.encode()) for needle in needles if needle.isascii()]
    if not wanted:
        return False
    pattern = re.compile(rb"(?<![\w@.])(?:" + b"|".join(wanted) + rb")(?![\w@]|\.\w)", re.IGNORECASE)
    overlap = max(len(needle) for needle in needles) + 2  # a name across two blocks, with its boundary bytes
    try:
        with path.open("rb") as handle:
            tail = b""
            while block := handle.read(_SCAN_BLOCK):
                window = tail + block
                if pattern.search(window):
                    return True
                tail = window[-overlap:]
    except OSError:
        return False  # gone already (retention, or a missing copy the audit reports)
    return False
