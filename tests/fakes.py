"""In-memory fakes of the ports the use cases stand on (``services.runtime``, ``workorders.ports``), for unit tests."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.errors import RejectedError
from connectors.source_paging import SourceJob, SourcePage
from exceptions_queue.cases import Case, CaseKind, CaseStatus, HistoryEntry
from exceptions_queue.desk import AuditEntry
from exceptions_queue.users import Role, User
from mappings.csv_drop import map_csv_job
from notifications.messages import Notice, NoticeRecord, NoticeStatus
from mappings.company_tables import MappingTables
from services.config import CloseoutConfig, CompanyConfig, CsvSourceConfig, LedgerConfig, SourceConfig
from services.mailbox_config import MailboxConfig
from workorders.correction_steps import CorrectionRecord, CorrectionStatus, CorrectionStep
from workorders.decisions import RuleDecision
from workorders.drafts import InvoiceDraft
from workorders.money import round_money
from workorders.ports import LandedPayload, RawJob, SavedWorkOrder
from workorders.push import EMAIL, EvidenceItem, PushRecord, PushStatus
from workorders.rules import Cutover
from workorders.work_order import WorkOrder

CLAIMABLE = (PushStatus.ready, PushStatus.uncertain)


# ---- the case repository -----------------------------------------------------------------------


class InMemoryCases:
    """``services.runtime.Cases`` in a dict: the contract suite holds it to ``storage.sql_cases.SqlCases``."""

    def __init__(self) -> None:
        self._cases: dict[int, Case] = {}

    def add(self, case: Case) -> Case:
        stored = case.model_copy(update={"id": len(self._cases) + 1})
        self._cases[stored.id] = stored
        return stored

    def add_many(self, cases: Sequence[Case]) -> list[Case]:
        return [self.add(case) for case in cases]

    def get(self, case_id: int) -> Case | None:
        return self._cases.get(case_id)

    def find_open(self, *, kind: CaseKind, subject: str) -> Case | None:
        for case in self._cases.values():
            if case.kind == kind and case.subject == subject and case.is_open:
                return case
        return None

    def open_subjects(self, *, kind: CaseKind, subjects: Sequence[str]) -> set[str]:
        wanted = set(subjects)
        return {case.subject for case in self._cases.values()
                if case.kind == kind and case.is_open and case.subject in wanted}

    def work_orders_with_cases(self, work_order_ids: Sequence[str], *, kinds: Sequence[CaseKind],
                               statuses: Sequence[CaseStatus]) -> set[str]:
        wanted = set(work_order_ids)
        return {case.work_order_id for case in self._cases.values()
                if case.work_order_id in wanted and case.kind in kinds and case.status in statuses}

    def update(self, case: Case, entry: HistoryEntry) -> Case:
        stored = case.model_copy(update={"history": self._cases[case.id].history + (entry,)})
        self._cases[case.id] = stored
        return stored

    def list(
        self,
        *,
        statuses: Sequence[CaseStatus] = (),
        kinds: Sequence[CaseKind] = (),
        company: str | None = None,
        work_order_id: str | None = None,
        limit: int = 500,
    ) -> list[Case]:
        found = [
            case
            for case in sorted(self._cases.values(), key=lambda c: c.id, reverse=True)
            if (not statuses or case.status in statuses)
            and (not kinds or case.kind in kinds)
            and (company is None or case.company == company)
            and (work_order_id is None or case.work_order_id == work_order_id)
        ]
        return found[:limit]

    def count_by_status(self) -> dict[CaseStatus, int]:
        counts = {status: 0 for status in CaseStatus}
        for case in self._cases.values():
            counts[case.status] += 1
        return counts


# ---- the store ----------------------------------------------------------------------------------


@dataclass
class _Tables:
    """Everything a FakeStore holds; a unit of work changes a copy and a commit puts the copy in place."""

    raw: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    versions: dict[str, list[WorkOrder]] = field(default_factory=dict)
    stored_order: list[str] = field(default_factory=list)  # (id) in the order each latest version was stored
    decisions: list[RuleDecision] = field(default_factory=list)
    push: dict[str, PushRecord] = field(default_factory=dict)
    evidence: dict[tuple[str, str], EvidenceItem] = field(default_factory=dict)
    corrections: dict[str, CorrectionRecord] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    cutovers: list[tuple] = field(default_factory=list)
    cases: InMemoryCases = field(default_factory=InMemoryCases)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    matches: dict[int, dict[str, Any]] = field(default_factory=dict)
    polls: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, tuple[User, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    notifications: dict[str, NoticeRecord] = field(default_factory=dict)


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _t(self) -> _Tables:
        return self._uow.tables


class FakeRawLanding(_Repository):
    def land_many(self, jobs: list[RawJob]) -> list[LandedPayload]:
        landed = []
        for job in jobs:
            digest = hashlib.sha256(json.dumps(job.payload, sort_keys=True, default=str).encode()).hexdigest()
            rows = self._t.raw.setdefault((job.source, job.external_id), [])
            is_new = not rows or rows[-1]["hash"] != digest
            if is_new:
                rows.append({"hash": digest, "stream": job.stream, "locator": job.locator,
                             "payload": copy.deepcopy(dict(job.payload))})
            landed.append(LandedPayload(id=len(rows), payload_hash=digest, is_new=is_new))
        return landed

    def replay(self, *, source: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        for (kind, external_id), rows in sorted(self._t.raw.items()):
            if kind == source:
                yield rows[-1]["stream"], external_id, rows[-1]["locator"], copy.deepcopy(rows[-1]["payload"])

    def job_ids(self) -> list[str]:
        return [f"{source}:{external_id}" for source, external_id in self._t.raw]


class FakeWorkOrders(_Repository):
    def save(self, order: WorkOrder) -> SavedWorkOrder:
        versions = self._t.versions.setdefault(order.id, [])
        if versions and versions[-1].content_hash() == order.content_hash():
            return SavedWorkOrder(order=order.with_version(versions[-1].version), changed=False)
        stored = order.with_version(len(versions) + 1)
        versions.append(stored)
        if order.id in self._t.stored_order:
            self._t.stored_order.remove(order.id)
        self._t.stored_order.append(order.id)
        return SavedWorkOrder(order=stored, changed=True)

    def save_many(self, orders: list[WorkOrder]) -> list[SavedWorkOrder]:
        return [self.save(order) for order in orders]

    def get(self, work_order_id: str, version: int | None = None) -> WorkOrder | None:
        versions = self._t.versions.get(work_order_id, [])
        if version is None:
            return versions[-1] if versions else None
        return next((v for v in versions if v.version == version), None)

    def versions(self, work_order_id: str) -> list[WorkOrder]:
        return list(self._t.versions.get(work_order_id, []))

    def latest(self, *, company: str | None = None) -> Iterator[WorkOrder]:
        for work_order_id in sorted(self._t.versions):
            order = self._t.versions[work_order_id][-1]
            if company is None or order.company == company:
                yield order

    def pending_evaluation(self, *, limit: int = 1000) -> list[WorkOrder]:
        decided = {(d.work_order_id, d.work_order_version) for d in self._t.decisions}
        latest = [self._t.versions[i][-1] for i in self._t.stored_order]
        return [order for order in latest if (order.id, order.version) not in decided][:limit]

    def possible_duplicates(self, order: WorkOrder, *, limit: int = 50) -> list[WorkOrder]:
        """Every other latest job of the company: the rule compares customer, site, day and amount itself."""
        return [other for other in self.latest(company=order.company) if other.id != order.id][:limit]

    def possible_duplicates_many(self, orders: list[WorkOrder]) -> dict[str, list[WorkOrder]]:
        return {order.id: self.possible_duplicates(order) for order in orders}

    def ids_for_job_number(self, job_number: str, *, company: str | None = None) -> list[str]:
        return [order.id for order in self.latest(company=company) if order.job_number == job_number]


class FakeDecisions(_Repository):
    def add(self, decisions: Sequence[RuleDecision]) -> None:
        self._t.decisions.extend(decisions)

    def for_work_order(self, work_order_id: str, version: int | None = None) -> list[RuleDecision]:
        return [d for d in self._t.decisions
                if d.work_order_id == work_order_id and version in (None, d.work_order_version)]


class FakePushRecords(_Repository):
    """Push records with the SQL store's guards: a pushed record stays pushed, only ready or uncertain is claimed."""

    def add_ready(self, draft: InvoiceDraft) -> PushRecord:
        key = draft.idempotency_key
        if key not in self._t.push:
            self._t.push[key] = PushRecord(
                idempotency_key=key, company=draft.company, ledger=draft.ledger, work_order_id=draft.work_order_id,
                work_order_version=draft.work_order_version, doc_number=draft.doc_number, amount=draft.total,
                status=PushStatus.ready, draft=draft, updated_at=self._uow.clock())
        return self._t.push[key]

    def add_ready_many(self, drafts: Sequence[InvoiceDraft]) -> None:
        for draft in drafts:
            self.add_ready(draft)

    def supersede_unsent(self, newer: Sequence[tuple[str, int]]) -> list[PushRecord]:
        latest: dict[str, int] = {}
        for work_order_id, version in newer:
            latest[work_order_id] = max(version, latest.get(work_order_id, 0))
        withdrawn = []
        for key, record in list(self._t.push.items()):
            newest = latest.get(record.work_order_id, 0)
            if record.status in (PushStatus.ready, PushStatus.rejected) and record.work_order_version < newest:
                self._t.push[key] = record.model_copy(update={
                    "status": PushStatus.superseded, "updated_at": self._uow.clock(),
                    "last_error": f"superseded by version {newest} before it reached the ledger"})
                withdrawn.append(self._t.push[key])
        return withdrawn

    def withdraw_unsent(self, work_order_id: str, *, because: str) -> list[PushRecord]:
        withdrawn = []
        for key, record in list(self._t.push.items()):
            if record.work_order_id == work_order_id and record.status in (PushStatus.ready, PushStatus.rejected):
                self._t.push[key] = record.model_copy(update={
                    "status": PushStatus.superseded, "updated_at": self._uow.clock(), "last_error": because[:500]})
                withdrawn.append(self._t.push[key])
        return withdrawn

    def claim(self, *, ledger: str, company: str | None = None, limit: int = 30) -> list[PushRecord]:
        chosen = [r for r in self._t.push.values()
                  if r.status in CLAIMABLE and r.ledger == ledger and company in (None, r.company)][:max(limit, 0)]
        return [self._take(record) for record in chosen]

    def claim_keys(self, keys: Sequence[str]) -> list[PushRecord]:
        return [self._take(self._t.push[key]) for key in keys
                if key in self._t.push and self._t.push[key].status in CLAIMABLE]

    def _take(self, record: PushRecord) -> PushRecord:
        taken = record.model_copy(update={"status": PushStatus.pushing, "attempts": record.attempts + 1,
                                          "updated_at": self._uow.clock()})
        self._t.push[record.idempotency_key] = taken
        return taken

    def mark_many(self, outcomes: Sequence[tuple[str, PushStatus, str | None, str]]) -> None:
        for key, status, ledger_id, error in outcomes:
            record = self._t.push[key]
            if record.status is PushStatus.pushed and status is not PushStatus.pushed:
                raise ValueError(f"push record {key} was pushed; it cannot become {status}")
            self._t.push[key] = record.model_copy(update={
                "status": PushStatus(status), "last_error": error, "updated_at": self._uow.clock(),
                "ledger_id": ledger_id if ledger_id is not None else record.ledger_id})

    def note_ledger_totals(self, totals: Sequence[tuple[str, Decimal, Decimal]]) -> None:
        for key, tax, total in totals:
            self._t.push[key] = self._t.push[key].model_copy(update={"ledger_tax": tax, "ledger_total": total})

    def note_payments(self, readings) -> None:
        for reading in readings:
            self._t.push[reading.idempotency_key] = self._t.push[reading.idempotency_key].model_copy(update={
                "payment_state": reading.state.value, "ledger_balance": reading.balance,
                "payment_read_at": self._uow.clock()})

    def release_stale(self, older_than: timedelta, *, ledger: str | None = None) -> int:
        now, moved = self._uow.clock(), 0
        for key, record in list(self._t.push.items()):
            if (record.status is PushStatus.pushing and ledger in (None, record.ledger)
                    and record.updated_at is not None and record.updated_at < now - older_than):
                self._t.push[key] = record.model_copy(update={
                    "status": PushStatus.uncertain, "updated_at": now,
                    "last_error": f"left in pushing for over {older_than}; look it up in the ledger before resending"})
                moved += 1
        return moved

    def get(self, key: str) -> PushRecord | None:
        return self._t.push.get(key)

    def for_work_order(self, work_order_id: str) -> list[PushRecord]:
        return [r for r in self._t.push.values() if r.work_order_id == work_order_id]

    def holding_ledger_ids(self, *, ledger: str, company: str, ledger_ids: Sequence[str]) -> dict[str, str]:
        wanted = set(ledger_ids)
        return {r.ledger_id: r.idempotency_key for r in self._t.push.values()
                if (r.ledger, r.company, r.status) == (ledger, company, PushStatus.pushed) and r.ledger_id in wanted}

    def for_work_orders(self, work_order_ids: Sequence[str]) -> dict[str, list[PushRecord]]:
        found: dict[str, list[PushRecord]] = {}
        for work_order_id in work_order_ids:
            records = self.for_work_order(work_order_id)
            if records:
                found[work_order_id] = records
        return found

    def all(self, *, status: PushStatus | None = None) -> list[PushRecord]:
        return [r for r in self._t.push.values() if status in (None, r.status)]

    def refresh_rejected(self, draft: InvoiceDraft) -> bool:
        record = self._t.push.get(draft.idempotency_key)
        if record is None or record.status is not PushStatus.rejected:
            return False
        self._t.push[draft.idempotency_key] = record.model_copy(update={
            "draft": draft, "amount": draft.total, "doc_number": draft.doc_number, "status": PushStatus.ready,
            "last_error": "", "updated_at": self._uow.clock()})
        return True

    def unmapped_customers(self, *, ledger: str, company: str) -> set[tuple[str, str | None]]:
        return {(r.draft.customer_name, r.draft.customer_email) for r in self._t.push.values()
                if r.status in CLAIMABLE and r.ledger == ledger and r.company == company and not r.draft.customer_ref}


class FakeCorrections(_Repository):
    def record(self, steps: Sequence[CorrectionStep], *, case_id: int | None, actor: str) -> None:
        for step in steps:
            self._t.corrections.setdefault(step.key, CorrectionRecord(step=step, status=CorrectionStatus.planned,
                                                                      case_id=case_id, actor=actor,
                                                                      updated_at=self._uow.clock()))

    def claim(self, keys: Sequence[str], *, stale_after: timedelta) -> list[CorrectionRecord]:
        claimed = []
        for key in keys:
            record = self._t.corrections.get(key)
            if record is not None and record.status in (CorrectionStatus.planned, CorrectionStatus.uncertain):
                record = record.model_copy(update={"status": CorrectionStatus.sending, "attempts": record.attempts + 1})
                self._t.corrections[key] = record
                claimed.append(record)
        return claimed

    def finish(self, key: str, status: CorrectionStatus, *, ledger_id: str | None = None,
               ledger_total: Decimal | None = None, error: str = "") -> None:
        record = self._t.corrections[key]
        if record.status is not CorrectionStatus.done:
            self._t.corrections[key] = record.model_copy(update={"status": status, "ledger_id": ledger_id,
                                                                 "ledger_total": ledger_total, "last_error": error})

    def get(self, keys: Sequence[str]) -> list[CorrectionRecord]:
        return [self._t.corrections[k] for k in keys if k in self._t.corrections]

    def for_work_orders(self, work_order_ids: Sequence[str]) -> dict[str, list[CorrectionRecord]]:
        found: dict[str, list[CorrectionRecord]] = {}
        for record in self._t.corrections.values():
            if record.step.work_order_id in work_order_ids:
                found.setdefault(record.step.work_order_id, []).append(record)
        return found

    def for_work_order(self, work_order_id: str) -> list[CorrectionRecord]:
        return self.for_work_orders([work_order_id]).get(work_order_id, [])

    def all(self, *, status: CorrectionStatus | None = None) -> list[CorrectionRecord]:
        return [r for r in self._t.corrections.values() if status is None or r.status is status]


class FakePushEvidence(_Repository):
    def plan(self, key: str, *, company: str, ledger: str, items: Iterable[Mapping[str, Any]]) -> None:
        for values in items:
            self._t.evidence.setdefault((key, values["item"]), EvidenceItem(
                idempotency_key=key, company=company, ledger=ledger, status="pending", ledger_ref=None, attempts=0,
                last_error="", **values))

    def claim(self, *, company: str, ledger: str, limit: int = 100,
              retry_delay: timedelta = timedelta(0)) -> list[EvidenceItem]:
        def files_waiting(key: str) -> bool:
            return any(i.idempotency_key == key and i.item != EMAIL and i.status in ("pending", "sending")
                       for i in self._t.evidence.values())

        chosen = [i for i in self._t.evidence.values()
                  if i.status == "pending" and i.company == company and i.ledger == ledger
                  and (i.item != EMAIL or not files_waiting(i.idempotency_key))][:limit]
        claimed = []
        for item in chosen:
            taken = EvidenceItem(**{**item.__dict__, "status": "sending", "attempts": item.attempts + 1})
            self._t.evidence[(item.idempotency_key, item.item)] = taken
            claimed.append(taken)
        return claimed

    def finish(self, key: str, item: str, status: str, *, ledger_ref: str | None = None, error: str = "") -> None:
        current = self._t.evidence[(key, item)]
        self._t.evidence[(key, item)] = EvidenceItem(**{**current.__dict__, "status": status, "last_error": error,
                                                        "ledger_ref": ledger_ref or current.ledger_ref})

    def release_stale(self, older_than: timedelta, *, ledger: str) -> int:
        return 0  # a fake's unit of work never dies holding an item


class FakeCursors(_Repository):
    def get(self, stream: str) -> str | None:
        return self._t.cursors.get(stream)

    def set(self, stream: str, value: str) -> None:
        self._t.cursors[stream] = value


class FakeMappingOverrides(_Repository):
    def for_company(self, company: str) -> dict[str, dict[str, str]]:
        return copy.deepcopy(self._t.overrides.get(company, {}))

    def put(self, *, company: str, table: str, key: str, value: str, actor: str) -> str | None:
        entries = self._t.overrides.setdefault(company, {}).setdefault(table, {})
        previous = entries.get(key)
        entries[key] = value
        return previous


class FakeCutovers(_Repository):
    def record(self, *, company: str, invoiced_before, jobs, actor: str) -> None:
        self._t.cutovers.append((company, invoiced_before, sorted(set(jobs)), actor, self._uow.clock()))

    def for_company(self, company: str):
        return Cutover.merged([row[1:] for row in self._t.cutovers if row[0] == company])


@dataclass(frozen=True)
class FakeMessage:
    """``services.runtime.StoredMessage`` and ``MessagePlacement`` in one."""

    pk: int
    company: str
    message_id: str
    content_hash: str
    status: str
    raw_path: str
    work_order_id: str | None = None
    job_number: str = ""
    mailbox: str = ""


class FakeMessages(_Repository):
    """Kept mail as rows: messages, their attachments in order, at most one match each, and the mailbox polls."""

    def find_many(self, *, company: str, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return self.stored_pairs(company=company, message_ids=[mid for mid, _ in keys]) & set(keys)

    def stored_pairs(self, *, company: str, message_ids: Sequence[str]) -> set[tuple[str, str]]:
        wanted = set(message_ids)
        return {(m["message_id"], m["content_hash"]) for m in self._t.messages.values()
                if m["company"] == company and m["message_id"] in wanted}

    def add_many(self, messages: Sequence[dict[str, Any]]) -> list[int]:
        pks = []
        for message in messages:
            pk = len(self._t.messages) + 1
            self._t.messages[pk] = dict(message)
            pks.append(pk)
        return pks

    def add_attachments_many(self, items: Iterable[tuple[int, Iterable[dict[str, Any]]]]) -> None:
        for pk, rows in items:
            self._t.attachments.setdefault(pk, []).extend(dict(row) for row in rows)

    def add_match(self, message_pk: int, *, work_order_id: str, job_number: str, method: str, confidence: float,
                  explanation: str, evidence: dict[str, Any]) -> None:
        self._t.matches[message_pk] = dict(work_order_id=work_order_id, job_number=job_number, method=method,
                                           confidence=confidence, explanation=explanation, evidence=evidence)

    def add_matches(self, items: Iterable[tuple[int, dict[str, Any]]]) -> None:
        for pk, row in items:
            self.add_match(pk, **row)

    def thread_hits(self, *, company: str, message_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        wanted = set(message_ids)
        return {m["message_id"]: (self._t.matches[pk]["work_order_id"], self._t.matches[pk]["job_number"])
                for pk, m in sorted(self._t.messages.items())
                if m["company"] == company and m["message_id"] in wanted and pk in self._t.matches}

    def evidence_for(self, work_order_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(match["evidence"]) for _, match in sorted(self._t.matches.items())
                if match["work_order_id"] == work_order_id]

    def evidence_for_many(self, work_order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        found = {work_order_id: self.evidence_for(work_order_id) for work_order_id in set(work_order_ids)}
        return {work_order_id: evidence for work_order_id, evidence in found.items() if evidence}

    def get(self, *, company: str, message_id: str, content_hash: str | None = None) -> FakeMessage | None:
        return next((self._row(pk) for pk, m in sorted(self._t.messages.items())
                     if m["company"] == company and m["message_id"] == message_id
                     and content_hash in (None, m["content_hash"])), None)

    def set_status(self, message_pk: int, status: str) -> None:
        self._t.messages[message_pk]["status"] = status

    def attachments(self, message_pk: int) -> list[dict[str, Any]]:
        return [dict(row, seq=seq) for seq, row in enumerate(self._t.attachments.get(message_pk, []), start=1)]

    def record_poll(self, *, company: str, mailbox: str, outcome: str, detail: str = "", fetched: int = 0) -> None:
        self._t.polls.append({"company": company, "mailbox": mailbox, "outcome": outcome, "at": self._uow.clock()})

    def last_poll(self, *, company: str, mailbox: str, outcome: str | None = None) -> datetime | None:
        times = [p["at"] for p in self._t.polls if (p["company"], p["mailbox"]) == (company, mailbox)
                 and outcome in (None, p["outcome"])]
        return max(times, default=None)

    def first_poll(self, *, company: str, mailbox: str) -> datetime | None:
        return min((p["at"] for p in self._t.polls if (p["company"], p["mailbox"]) == (company, mailbox)), default=None)

    def placements(self) -> list[FakeMessage]:
        return [self._row(pk) for pk in sorted(self._t.messages)]

    def _row(self, pk: int) -> FakeMessage:
        message, match = self._t.messages[pk], self._t.matches.get(pk, {})
        return FakeMessage(pk=pk, company=message["company"], message_id=message["message_id"],
                           content_hash=message["content_hash"], status=message["status"],
                           raw_path=message["raw_path"], work_order_id=match.get("work_order_id"),
                           job_number=match.get("job_number", ""), mailbox=message.get("mailbox", ""))


class FakeUsers(_Repository):
    def add(self, username: str, role: Role, password_hash: str, *, email: str | None = None,
            companies: tuple[str, ...] | None = None) -> User:
        existing = self._t.users.get(username)
        if existing is None:
            user = User(username=username, role=role, created_at=self._uow.clock(), email=email,
                        companies=tuple(companies or ()))
        else:
            user = existing[0].model_copy(update={
                "role": role, "email": existing[0].email if email is None else email,
                "companies": existing[0].companies if companies is None else tuple(companies)})
        self._t.users[username] = (user, password_hash)
        return user

    def get(self, username: str) -> User | None:
        return self._t.users[username][0] if username in self._t.users else None

    def password_hash(self, username: str) -> str | None:
        return self._t.users[username][1] if username in self._t.users else None

    def all(self) -> list[User]:
        return [user for user, _ in self._t.users.values()]

    def add_token(self, username: str, digest: str, label: str) -> None:
        self._t.tokens[digest] = username

    def user_for_token(self, digest: str) -> User | None:
        return self.get(self._t.tokens[digest]) if digest in self._t.tokens else None


class FakeAuditLog(_Repository):
    def append(self, *, actor: str, action: str, subject: str = "", note: str = "",
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        self._t.audit.append(AuditEntry(at=self._uow.clock(), actor=actor, action=action, subject=subject, note=note,
                                        before=before or {}, after=after or {}))

    def recent(self, *, limit: int = 200) -> list[AuditEntry]:
        return list(reversed(self._t.audit))[:limit]


class FakeNotifications(_Repository):
    """``services.runtime.Notifications`` in a dict by key, with the SQL adapter's once-only record and claim."""

    def record(self, notices: Sequence[Notice]) -> list[str]:
        added = []
        for notice in notices:
            if notice.key not in self._t.notifications:
                now = self._uow.clock()
                self._t.notifications[notice.key] = NoticeRecord(
                    notice=notice, status=NoticeStatus.pending, attempts=0, last_error="", created_at=now,
                    next_attempt_at=now, sent_at=None)
                added.append(notice.key)
        return added

    def due(self, *, limit: int = 100) -> list[NoticeRecord]:
        now = self._uow.clock()
        return [r for r in self._t.notifications.values() if r.status is NoticeStatus.pending
                and r.next_attempt_at is not None and r.next_attempt_at <= now][:limit]

    def claim(self, key: str, *, lease: timedelta) -> NoticeRecord | None:
        record, now = self._t.notifications.get(key), self._uow.clock()
        if record is None or record.status is not NoticeStatus.pending or record.next_attempt_at is None \
                or record.next_attempt_at > now:
            return None
        claimed = dataclasses.replace(record, attempts=record.attempts + 1, next_attempt_at=now + lease)
        self._t.notifications[key] = claimed
        return claimed

    def mark_sent(self, key: str) -> None:
        self._t.notifications[key] = dataclasses.replace(self._t.notifications[key], status=NoticeStatus.sent,
                                                         sent_at=self._uow.clock(), next_attempt_at=None,
                                                         last_error="")

    def mark_failed(self, key: str, *, error: str, retry_at: datetime | None) -> None:
        record = self._t.notifications[key]
        self._t.notifications[key] = dataclasses.replace(
            record, last_error=error, next_attempt_at=retry_at,
            status=NoticeStatus.failed if retry_at is None else record.status)

    def get(self, key: str) -> NoticeRecord | None:
        return self._t.notifications.get(key)

    def for_case(self, case_id: int) -> list[NoticeRecord]:
        return [r for r in self._t.notifications.values() if r.notice.case_id == case_id]

    def all(self, *, status: NoticeStatus | None = None, limit: int = 1000) -> list[NoticeRecord]:
        found = [r for r in reversed(self._t.notifications.values()) if status is None or r.status is status]
        return found[:limit]


class FakeUnitOfWork:
    """``services.runtime.UnitOfWork`` on a copy of the store's tables: nothing is seen by others until ``commit``.

    A commit puts the whole copy in place, so units of work that overlap and both commit lose the first one's
    writes: a fake for use cases that take one unit of work at a time (no concurrent workers).
    """

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.clock = store.clock
        self.tables = copy.deepcopy(store.tables)
        self.raw = FakeRawLanding(self)
        self.work_orders = FakeWorkOrders(self)
        self.decisions = FakeDecisions(self)
        self.push_records = FakePushRecords(self)
        self.push_evidence = FakePushEvidence(self)
        self.corrections = FakeCorrections(self)
        self.cursors = FakeCursors(self)
        self.mapping_overrides = FakeMappingOverrides(self)
        self.cutovers = FakeCutovers(self)
        self.messages = FakeMessages(self)
        self.users = FakeUsers(self)
        self.audit = FakeAuditLog(self)
        self.notifications = FakeNotifications(self)

    @property
    def cases(self) -> InMemoryCases:
        return self.tables.cases

    def commit(self) -> None:
        self._store.tables = copy.deepcopy(self.tables)
        self._store.commits += 1

    def rollback(self) -> None:
        self.tables = copy.deepcopy(self._store.tables)

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rollback()


class Clock:
    """A clock that moves a millisecond a reading, and further when told."""

    def __init__(self, start: datetime = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeStore:
    """``services.runtime.Store`` in memory; ``read()`` is a unit of work for a test to look at what was committed."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or Clock()
        self.tables = _Tables()
        self.commits = 0

    def unit_of_work(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def read(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


# ---- sources ------------------------------------------------------------------------------------


class FakeSource:
    """``workorders.ports.Source`` over fixed pages; the cursor after a page is the one it carries.

    ``fail_at`` raises that exception instead of the page with that index (a source gone mid-pull).
    """

    def __init__(self, pages: Sequence[SourcePage], *, name: str = "csv-drop",
                 fail_at: dict[int, Exception] | None = None) -> None:
        self.name, self.pages, self.fail_at = name, list(pages), dict(fail_at or {})
        self.asked_from: list[str | None] = []

    def fetch_pages(self, *, cursor: str | None) -> Iterator[SourcePage]:
        self.asked_from.append(cursor)
        cursors = [page.next_cursor for page in self.pages]
        start = cursors.index(cursor) + 1 if cursor in cursors else 0
        for index in range(start, len(self.pages)):
            if index in self.fail_at:
                raise self.fail_at.pop(index)
            yield self.pages[index]

    def fetch_job(self, external_id: str) -> SourcePage:
        return SourcePage(jobs=tuple(job for page in self.pages for job in page.jobs if job.external_id == external_id),
                          next_cursor=None)


CSV_COLUMNS = (
    "job_id,job_number,customer_id,customer_name,customer_email,site_name,site_address,job_type,priority,status,"
    "completed_at,updated_at,timezone,technician,crew,line_kind,item_code,description,quantity,unit_price,unit_cost,"
    "taxable,hours_start,hours_end,signed_by,signed_at,approved_by,approved_at,notes,po_number,currency,billing,"
    "photos_before,photos_after").split(",")


def csv_job(job_id: str, job_number: str, **cells: str) -> SourceJob:
    """One finished, signed job of the csv-drop source with a single trip-charge line; ``cells`` change columns."""
    values = dict.fromkeys(CSV_COLUMNS, "")
    values.update(job_id=job_id, job_number=job_number, customer_id="C-1003", customer_name="Maple Street Bakery",
                  customer_email="hello@maplestreetbakery.example", site_name="Maple Street Bakery",
                  site_address="231 Maple St, Minneapolis, MN 55414", job_type="general_maintenance",
                  priority="normal", status="completed", completed_at="2026-11-16 09:10",
                  updated_at="2026-11-16T09:35:00-06:00", timezone="America/Chicago", technician="Dana Ruiz",
                  crew="Crew A", line_kind="fee", item_code="TRIP-STD", description="Trip charge", quantity="1",
                  unit_price="89.00", taxable="no", signed_by="Grace Kim", signed_at="2026-11-16 09:13",
                  notes="Checked the unit.", currency="USD")
    values.update(cells)
    return SourceJob(source="csv", stream="jobs", external_id=job_id, locator=f"jobs.csv#{job_id}",
                   payload={"file": "jobs.csv", "rows": [{"row": 2, "values": values}]})


def company_config(company_id: str = "acme", *, ledger: str = "quickbooks", **fields: Any) -> CompanyConfig:
    """A company with one csv-drop source, a ledger that may create customers, and the tables ``csv_job`` needs."""
    account = {"realm_id": "9130355221"} if ledger == "quickbooks" else {"tenant_id": "6f1c2a8e-demo"}
    tax = {"taxable": "TAX", "exempt": "NON"} if ledger == "quickbooks" else {"taxable": "OUTPUT2", "exempt": "NONE"}
    settings: dict[str, Any] = dict(
        id=company_id, name=f"{company_id.title()} Services", timezone="America/Chicago", currency="USD",
        ledger=LedgerConfig(kind=ledger, create_customers=True, **account),
        sources=(CsvSourceConfig(kind="csv", name="csv-drop", path=Path("jobs")),),
        mappings=MappingTables(items={"TRIP-STD": "4"}, default_items={"labour": "1", "fee": "4"}, tax_codes=tax,
                               doc_number_prefix="AC-", due_days=20 if ledger == "xero" else None))
    settings.update(fields)
    return CompanyConfig(**settings)


# ---- ledgers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeInvoice:
    """``workorders.ports.LedgerInvoice``."""

    ledger_id: str
    doc_number: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    customer_ref: str
    currency: str = ""
    balance: Decimal | None = None
    status: str = ""


DUPLICATE_CODE = {"quickbooks": "6140", "xero": "duplicate_invoice_number"}
DUPLICATE_NAME_CODE = {"quickbooks": "6240", "xero": "duplicate_name"}


class FakeLedger:
    """``workorders.ports.Ledger`` in memory, reading QBO's or Xero's invoice JSON as the real ledger would.

    It keeps invoices by idempotency key (a repeated key gets the first answer) and by doc number (a taken one
    is refused with the ledger's duplicate code), and can be told to fail the next creates: ``fail_next_create``
    with a ``connectors.errors`` exception, after creating the invoice when ``landed`` (an answer lost on the way
    back). ``calls`` lists each method called, in order.
    """

    def __init__(self, name: str = "quickbooks", *, max_batch: int = 30, tax_rate: Decimal = Decimal(0)) -> None:
        self.name, self.max_batch, self.tax_rate = name, max_batch, tax_rate
        self.customers: dict[str, tuple[str, str | None]] = {}
        self.invoices: dict[str, FakeInvoice] = {}
        self.by_key: dict[str, FakeInvoice | RejectedError] = {}
        self.calls: list[str] = []
        self.attached: dict[str, list[tuple[str, str, bytes]]] = {}
        self._failures: list[tuple[Exception, bool]] = []

    def fail_next_create(self, error: Exception, *, landed: bool = False) -> None:
        self._failures.append((error, landed))

    def offer_catalog(self, catalog: Any) -> None:
        """Give this ledger the optional ``read_catalog`` port: it answers ``catalog`` (a ``LedgerCatalog``), or
        raises it when it is an exception. Left uncalled, the fake has no ``read_catalog``, like a ledger that
        cannot list its codes."""

        def read_catalog() -> Any:
            self.calls.append("read_catalog")
            if isinstance(catalog, Exception):
                raise catalog
            return catalog

        self.read_catalog = read_catalog

    # customers

    def find_customers(self, *, name: str, email: str | None) -> list[str]:
        self.calls.append("find_customers")
        if email:
            found = [i for i, (_, e) in self.customers.items() if e and e.casefold() == email.casefold()]
            if found:
                return found
        return [i for i, (n, _) in self.customers.items() if n == name]

    def list_customers(self, *, page: int = 1) -> list[tuple[str, str, str | None]]:
        self.calls.append("list_customers")
        rows = [(i, n, e) for i, (n, e) in self.customers.items()]
        return rows[(page - 1) * 1000:page * 1000]

    def create_customer(self, *, name: str, email: str | None,
                        addresses: Mapping[str, Mapping[str, str]] | None = None) -> str:
        self.calls.append("create_customer")
        if any(n == name for n, _ in self.customers.values()):
            raise RejectedError(f"The name supplied already exists: {name}", code=DUPLICATE_NAME_CODE[self.name],
                                system=self.name, operation="create_customer")
        ledger_id = f"C{len(self.customers) + 1}"
        self.customers[ledger_id] = (name, email)
        return ledger_id

    # invoices

    def create_invoice(self, payload: Mapping[str, Any], *, idempotency_key: str) -> FakeInvoice:
        self.calls.append("create_invoice")
        result = self._create(payload, idempotency_key)
        if isinstance(result, RejectedError):
            raise result
        return result

    def create_invoices(self, items: Sequence[tuple[Mapping[str, Any], str]]) -> list[FakeInvoice | RejectedError]:
        self.calls.append("create_invoices")
        if not 1 <= len(items) <= self.max_batch:
            raise ValueError(f"a batch holds 1-{self.max_batch} invoices")
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure[1]:
            raise failure[0]
        results = [self._create(payload, key, failing=False) for payload, key in items]
        if failure is not None:
            raise failure[0]
        return results

    def _create(self, payload: Mapping[str, Any], key: str, *, failing: bool = True) -> FakeInvoice | RejectedError:
        failure = self._failures.pop(0) if failing and self._failures else None
        if failure is not None and not failure[1]:
            raise failure[0]
        if key in self.by_key:
            return self.by_key[key]
        doc, customer, lines = self._read(payload)
        result: FakeInvoice | RejectedError
        if any(invoice.doc_number == doc for invoice in self.invoices.values()):
            result = RejectedError("Duplicate Document Number Error", code=DUPLICATE_CODE[self.name],
                                   system=self.name, operation="create_invoice")
        else:
            inclusive = payload.get("LineAmountTypes") == "Inclusive"
            tax = round_money(lines * self.tax_rate / (1 + self.tax_rate) if inclusive else lines * self.tax_rate)
            subtotal = lines - tax if inclusive else lines
            result = FakeInvoice(ledger_id=f"INV{len(self.invoices) + 1}", doc_number=doc, subtotal=subtotal, tax=tax,
                                 total=subtotal + tax, customer_ref=customer,
                                 currency=str(payload.get("CurrencyCode") or ""))
            self.invoices[result.ledger_id] = result
        self.by_key[key] = result
        if failure is not None:
            raise failure[0]
        return result

    def _read(self, payload: Mapping[str, Any]) -> tuple[str, str, Decimal]:
        if self.name == "xero":
            return (payload["InvoiceNumber"], payload["Contact"]["ContactID"],
                    sum((Decimal(str(line["LineAmount"])) for line in payload["LineItems"]), Decimal(0)))
        return (payload["DocNumber"], payload["CustomerRef"]["value"],
                sum((Decimal(str(line["Amount"])) for line in payload["Line"]), Decimal(0)))

    def find_invoices(self, doc_numbers: Sequence[str]) -> list[FakeInvoice]:
        self.calls.append("find_invoices")
        wanted = set(doc_numbers)
        return [invoice for invoice in self.invoices.values() if invoice.doc_number in wanted]

    def list_invoices(self) -> Iterator[FakeInvoice]:
        self.calls.append("list_invoices")
        yield from list(self.invoices.values())

    def attach_file(self, ledger_id: str, *, file_name: str, content_type: str, data: bytes) -> str:
        """As the real ledgers: the file goes on the invoice (``attached[ledger_id]``), its reference comes back."""
        self.calls.append("attach_file")
        files = self.attached.setdefault(ledger_id, [])
        files.append((file_name, content_type, data))
        return f"file-{ledger_id}-{len(files)}"

    def attachment_names(self, ledger_id: str) -> list[str]:
        return [name for name, _, _ in self.attached.get(ledger_id, [])]

    def close(self) -> None:
        pass


class FakePacer:
    """``services.runtime.Pacer`` that never waits; ``calls`` lists the connector calls it was asked to pace."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @contextmanager
    def slot(self, call: str, *args: Any, **kwargs: Any) -> Iterator[None]:
        self.calls.append(call)
        yield


# ---- the runtime --------------------------------------------------------------------------------


class FakeRuntime:
    """``services.runtime.Runtime`` on the fakes: one FakeLedger per company, one FakeSource per source name.

    Payloads map as the shell maps them (``mappings.csv_drop.map_csv_job`` for the ``csv`` kind).
    """

    def __init__(self, config: CloseoutConfig, *, home: Path, store: FakeStore | None = None,
                 ledgers: dict[str, FakeLedger] | None = None, sources: dict[str, FakeSource] | None = None) -> None:
        self.config, self.home = config, home
        self.store = store or FakeStore()
        self.customer_refs: dict[str, dict[str, Any]] = {}
        self.ledgers = ledgers if ledgers is not None else {
            c.id: FakeLedger(c.ledger.kind, max_batch=30 if c.ledger.kind == "quickbooks" else 50)
            for c in config.companies}
        self.sources = sources or {}
        self.pacer = FakePacer()

    def companies(self) -> tuple[CompanyConfig, ...]:
        return self.config.companies

    def ledger_for(self, company: CompanyConfig) -> FakeLedger:
        return self.ledgers[company.id]

    def source_for(self, source: SourceConfig, company: CompanyConfig | None = None) -> FakeSource:
        return self.sources[source.name]

    def api_source_for(self, source: SourceConfig, company: CompanyConfig) -> FakeSource:
        return self.sources[source.name]

    def map_payload(self, kind: str, payload: dict[str, Any], company: CompanyConfig) -> Any:
        if kind != "csv":
            raise NotImplementedError(f"FakeRuntime maps csv payloads only, not {kind!r}")
        return map_csv_job(payload, company=company.id, default_timezone=company.timezone)

    def inbox_for(self, company: CompanyConfig, mailbox: MailboxConfig) -> Any:
        raise NotImplementedError("FakeRuntime has no mailboxes")

    def pacer_for(self, company: CompanyConfig) -> FakePacer:
        return self.pacer

    def ledger_token_expiry(self, company: CompanyConfig) -> datetime | None:
        return None
