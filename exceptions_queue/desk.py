"""The port the web UI and the CLI work the queue through, and the pure filtering of a case list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from exceptions_queue.cases import Case, CaseKind, CaseStatus, HistoryEntry
from exceptions_queue.service import CaseNotFoundError
from exceptions_queue.users import Role, User

AGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "3d": timedelta(days=3), "7d": timedelta(days=7)}
"""Age filter choices: cases opened longer ago than this."""


class CaseFilters(BaseModel):
    model_config = ConfigDict(frozen=True)

    statuses: tuple[CaseStatus, ...] = (CaseStatus.open, CaseStatus.in_progress)
    kinds: tuple[CaseKind, ...] = ()
    company: str | None = None
    assignee: str | None = None
    tag: str | None = None
    older_than: str | None = None


class CaseContext(BaseModel):
    """Everything a person needs to decide about one case, gathered from around the product."""

    case: Case
    work_order: dict[str, Any] | None = None
    decisions: list[dict[str, Any]] = []
    push_records: list[dict[str, Any]] = []
    mapping_tables: dict[str, dict[str, str]] = {}
    can_replay: bool = False
    ledger_choices: dict[str, dict[str, str]] = {}
    """For a missing mapping: per table, the ledger's own codes (code → name) a value may be chosen from."""
    ledger_note: str = ""
    """Why the ledger's codes are not offered (it could not be read): a typed value is then stored unchecked."""
    outcomes: tuple[str, ...] = ()
    """For a case about a blocked job, the outcomes (``OUTCOME_NAMES``) its resolve must choose from; empty when a
    plain resolve applies."""
    links: dict[str, str] = {}
    """Where the page's references lead, by ``work_order:<id>``, ``message:<Message-ID>`` and ``ledger:<ledger id>``:
    the look-alike job's page, the case or job an e-mail went to, the ledger's own invoice page (real ledgers only)."""


class WorkOrderStory(BaseModel):
    """One work order as its read-only page shows it: the latest version, where it ended, its cases and documents."""

    work_order: dict[str, Any]
    versions: int
    ending: str
    decisions: list[dict[str, Any]] = []
    """The latest evaluation of the latest version."""
    documents: list[str] = []
    cases: list[Case] = []
    push_records: list[dict[str, Any]] = []
    links: dict[str, str] = {}
    """As ``CaseContext.links``."""


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    action: str
    note: str = ""
    case_id: int | None = None
    subject: str = ""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}


class DecisionError(ValueError):
    """A decision that cannot be taken as asked; the message is shown to the person who asked."""


DECISION_NAMES = ("assign", "start", "unassign", "resolve", "ignore", "undo_ignore", "reopen", "tag", "untag",
                  "comment", "approve_override", "replay", "add_mapping", "fix_price", "link_email",
                  "apply_correction", "apply_as_credit", "keep_invoice", "request_sign_off", "request_photos")
"""Every decision a person takes on a case, by its one name: the page's form, the JSON API's ``"decision"`` and
the command ``closeout cases NAME`` all use it."""

CUSTOMER_REQUESTS = {"request_sign_off": "sign_off_required", "request_photos": "photos_before_after"}
"""The decisions that ask a blocked job's customer by e-mail for what its rule misses (``services.customer_requests``),
by the rule each answers; offered on a ``rule_blocked`` case that rule blocks."""

OUTCOME_NAMES = ("invoice_anyway", "bill_nothing", "wait")
"""What resolving a case about a blocked job does to the job (``services.outcomes``): the page's outcome buttons,
the JSON API's ``"outcome"`` beside ``"decision": "resolve"``, and ``closeout cases resolve --outcome NAME``."""

ACTION_DECISIONS = {"attach_to_work_order": "link_email", "choose_customer": "add_mapping",
                    "add_customer_mapping": "add_mapping", "ignore_duplicate": "ignore", "ignore_change": "keep_invoice",
                    "credit_and_reissue": "apply_correction"}
"""Suggested actions (kept on each case since it opened) that are one of the decisions under another name."""

REPLAYING = ("replay", "add_mapping", "fix_price")
"""The decisions that replay the case's job; whether the replay cleared the case says if the decision worked."""
REPLAYED = "replayed"


def offered_decisions(case: Case) -> tuple[str, ...]:
    """The decisions that apply to the case as it stands, those that may clear it first (the case page's own).

    Each is a name of ``DECISION_NAMES``: what a coordinator can do about the case in Closeout itself.
    """
    if case.status is CaseStatus.ignored:
        return ("undo_ignore", "comment", "tag")
    if not case.is_open:
        return ("reopen", "comment", "tag")
    offered = [ACTION_DECISIONS.get(action, action) for action in case.suggested_actions]
    if case.kind in (CaseKind.missing_mapping, CaseKind.ambiguous_customer, CaseKind.unknown_customer):
        offered.append("add_mapping")
    if case.kind is CaseKind.unmatched_email:
        offered.append("link_email")
    if case.kind is CaseKind.rule_blocked:
        offered += ["approve_override", "fix_price"]
    if case.kind is CaseKind.changed_after_invoiced:  # services.corrections: the plan applied, as credit, or kept
        offered = ["apply_correction", "apply_as_credit", "keep_invoice", *offered]
    if case.work_order_id is not None:
        offered.append("replay")
    offered += ["assign", "resolve", "ignore", "comment", "tag"]
    return tuple(name for name in dict.fromkeys(offered) if name in DECISION_NAMES)


def steps_elsewhere(case: Case) -> tuple[str, ...]:
    """The suggested actions that are not decisions in Closeout: done at the source, in the ledger or by a person
    (``fix_at_source``, ``check_in_ledger``...), then usually followed by a replay."""
    return tuple(action for action in case.suggested_actions
                 if action not in DECISION_NAMES and action not in ACTION_DECISIONS)


def replay_after(case: Case, entries_before: int) -> HistoryEntry | None:
    """The last replay recorded on the case after its first ``entries_before`` history entries, if any ran."""
    return next((entry for entry in reversed(case.history[entries_before:]) if entry.action == REPLAYED), None)


def visible_case(case: Case, actor: User | None) -> Case:
    """The case, when ``actor`` may see it (None: the system, who sees all); otherwise ``CaseNotFoundError`` in the
    words of a case that does not exist, so a person limited to some companies learns nothing of another's cases."""
    if actor is not None and not actor.sees(case.company):
        raise CaseNotFoundError(f"no case #{case.id}")
    return case


def visible_entries(entries: Iterable[AuditEntry], actor: User | None, case_ids: set[int]) -> list[AuditEntry]:
    """The audit entries ``actor`` may read: for a person limited to some companies, those on the cases
    ``case_ids`` (theirs) and those whose subject is one of their companies' (``company/...``), nothing else."""
    if actor is None or not actor.companies:
        return list(entries)
    return [entry for entry in entries
            if (entry.case_id in case_ids if entry.case_id is not None
                else entry.subject.split("/", 1)[0] in actor.companies and "/" in entry.subject)]


class QueueDesk(Protocol):
    """What the UI may ask of the product. ``services.casework.StoreDesk`` implements it on the store.

    Each read takes the ``actor`` it is for and each decision its ``actor``: a person limited to some companies
    (``User.companies``) sees only their cases, and any other case answers like one that does not exist."""

    def list_cases(self, filters: CaseFilters, *, actor: User | None = None) -> list[Case]: ...
    def count_open(self, *, actor: User | None = None) -> dict[str, Any]: ...
    def context(self, case_id: int, *, actor: User | None = None) -> CaseContext: ...
    def work_order(self, reference: str, *, actor: User | None = None) -> WorkOrderStory:
        """A work order by id or job number, read-only; ``LookupError`` when none (or several) match."""
    def decide(self, case_id: int, decision: str, *, actor: User, fields: dict[str, str]) -> Case: ...
    def add_mapping(self, case_id: int, *, actor: User, table: str, key: str, value: str) -> Case: ...
    def fix_price(self, case_id: int, *, actor: User, line: str, price: str, reason: str) -> Case: ...
    def replay(self, case_id: int, *, actor: User) -> Case: ...
    def link_email(self, case_id: int, *, actor: User, work_order: str) -> Case: ...
    def correct(self, case_id: int, *, actor: User, choice: str, reason: str = "") -> Any:
        """A changed-after-invoiced case's decision; answers a report with ``outcome``, ``lines()``, ``as_dict()``."""
    def audit_trail(self, *, limit: int = 200, actor: User | None = None) -> list[AuditEntry]: ...
    def authenticate(self, username: str, password: str) -> User | None: ...
    def user(self, username: str) -> User | None: ...
    def user_for_token(self, token: str) -> User | None: ...
    def users(self) -> list[User]: ...
    def add_user(self, username: str, role: Role, password: str, *, actor: User,
                 companies: Sequence[str] | None = None) -> User:
        """Add or reset a user; ``companies``: the ones they are limited to (``()``: every company; None: as it was,
        and every company for a new user), each one of the config's (``UserError`` otherwise)."""
    def companies(self) -> list[tuple[str, str]]:
        """The config's companies as (id, name), in config order: the users form's choices."""


def filter_cases(cases: Iterable[Case], filters: CaseFilters, *, now: datetime) -> list[Case]:
    """The filters the repository does not apply itself: assignee, tag and age."""
    cutoff = now - AGES[filters.older_than] if filters.older_than in AGES else None
    found = []
    for case in cases:
        if filters.assignee == "-" and case.assignee:
            continue
        if filters.assignee not in (None, "", "-") and case.assignee != filters.assignee:
            continue
        if filters.tag and filters.tag not in case.tags:
            continue
        if cutoff is not None and case.opened_at > cutoff:
            continue
        found.append(case)
    return found


def count_by(cases: Sequence[Case], field: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in cases:
        key = str(getattr(case, field) or "")
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
