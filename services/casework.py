"""StoreDesk: the queue desk on the app's store, what the UI, the JSON API and the CLI call to work cases."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from services.case_links import case_links, latest_evaluation, work_order_story
from services.config import ConfigError
from services.line_prices import store_line_price
from services.mapping_overrides import (LEDGER_CHECKED, MappingOverrideError, check_against_ledger, check_override,
                                       effective_tables)
from services.notify import record_case_assigned
from services.outcomes import about_blocked_job, refuse_plain_resolve, resolve_with_outcome
from services.mail.ingest import MessageLinkError, attach_message, company_mailboxes
from services.preflight import TABLE_KINDS, CatalogCache, codes_of
from services.replay_case import replay_as_system, replay_case
from services.corrections import CorrectionChoice, CorrectionReport, correct_case
from services.customer_requests import request_from_customer
from services.runtime import Runtime, Store, UnitOfWork, Users
from exceptions_queue.cases import Case, CaseKind, CaseStatus
from exceptions_queue.desk import CUSTOMER_REQUESTS, WorkOrderStory
from exceptions_queue.desk import (OUTCOME_NAMES, AuditEntry, CaseContext, CaseFilters, DecisionError, count_by,
                                   filter_cases, visible_case, visible_entries)
from exceptions_queue.service import CaseQueue, CaseTransitionError
from exceptions_queue.users import Role, User, UserError, check_username, hash_password, token_digest, verify_password

# Verifying against this when a username is unknown makes sign-in take as long either way.
_DUMMY_HASH = hash_password("not-a-real-password-ever")


class StoreDesk:
    """Each call is one unit of work; decisions check the person's role before touching anything."""

    def __init__(self, app: Runtime, *, clock: Callable[[], datetime] | None = None,
                 catalogs: CatalogCache | None = None) -> None:
        self.app = app
        self._clock = clock or (lambda: datetime.now(UTC))
        self.catalogs = catalogs or CatalogCache(app)
        """Each company's ledger catalog for a few minutes: the mapping form's choices and the check of its answer."""

    def list_cases(self, filters: CaseFilters, *, actor: User | None = None) -> list[Case]:
        """The cases the filters select, of the companies ``actor`` sees (None: every company's)."""
        with self.app.store.unit_of_work() as uow:
            found = cases_seen(uow, actor, statuses=filters.statuses, kinds=filters.kinds,
                                company=filters.company or None, limit=2000)
        return filter_cases(found, filters, now=self._clock())

    def count_open(self, *, actor: User | None = None) -> dict[str, Any]:
        with self.app.store.unit_of_work() as uow:
            open_cases = cases_seen(uow, actor, statuses=(CaseStatus.open, CaseStatus.in_progress), limit=100_000)
            if actor is None or not actor.companies:
                by_status = uow.cases.count_by_status()
            else:
                seen = cases_seen(uow, actor, statuses=tuple(CaseStatus), limit=100_000)
                by_status = {status: sum(1 for case in seen if case.status is status) for status in CaseStatus}
        return {"status": {str(k): v for k, v in by_status.items()}, "kind": count_by(open_cases, "kind"),
                "company": count_by(open_cases, "company"), "severity": count_by(open_cases, "severity"),
                "assignee": count_by(open_cases, "assignee")}

    def context(self, case_id: int, *, actor: User | None = None) -> CaseContext:
        """Everything about one case; ``CaseNotFoundError`` when there is none, or it is not ``actor``'s to see."""
        with self.app.store.unit_of_work() as uow:
            case = visible_case(self._queue(uow).get(case_id), actor)
            context = CaseContext(case=case, can_replay=case.work_order_id is not None and case.is_open)
            if case.work_order_id is not None:
                order = uow.work_orders.get(case.work_order_id, case.work_order_version)
                if order is not None:
                    context.work_order = order.model_dump(mode="json")
                decisions = latest_evaluation(uow.decisions.for_work_order(case.work_order_id, case.work_order_version))
                context.decisions = [d.model_dump(mode="json") for d in decisions]
                if case.is_open and about_blocked_job(uow, case):
                    context.outcomes = OUTCOME_NAMES
                context.push_records = [r.model_dump(mode="json", exclude={"draft"})
                                        for r in uow.push_records.for_work_order(case.work_order_id)]
            linked = [e.after for e in case.history if e.action == EMAIL_LINKED and e.after.get("work_order_id")]
            if case.work_order_id is None and linked:
                order = uow.work_orders.get(linked[-1]["work_order_id"], linked[-1].get("work_order_version"))
                context.work_order = order.model_dump(mode="json") if order is not None else None
            context.links = case_links(uow, case, decisions=context.decisions, work_order=context.work_order,
                                       push_records=context.push_records, ledger=self._ledger_of(case.company))
            if case.kind is CaseKind.missing_mapping and case.company:
                tables = effective_tables(uow, self.app.config.company(case.company))
                context.mapping_tables = {"items": dict(tables.items), "default_items": dict(tables.default_items),
                                          "tax_codes": dict(tables.tax_codes)}
        if case.kind is CaseKind.missing_mapping and case.company and case.is_open:
            self._offer_ledger_codes(context)  # after the unit of work: the ledger may take a while to answer
        return context

    def work_order(self, reference: str, *, actor: User | None = None) -> WorkOrderStory:
        """A work order's read-only page; ``LookupError`` when none matches, or it is not ``actor``'s to see."""
        with self.app.store.unit_of_work() as uow:
            story = work_order_story(uow, reference, ledger_of=self._ledger_of)
        company = story.work_order.get("company")
        if actor is not None and actor.companies and company not in actor.companies:
            raise LookupError(f"no work order has the id or job number {reference!r}")
        return story

    def _ledger_of(self, company: str | None) -> Any:
        """The company's ledger config, for links to the ledger's own pages; None when unknown."""
        try:
            return self.app.config.company(company).ledger if company else None
        except ConfigError:
            return None

    def _offer_ledger_codes(self, context: CaseContext) -> None:
        """The ledger's own codes for each table the case's missing entries name, or why they could not be read."""
        read = self.catalogs.read(self.app.config.company(context.case.company or ""))
        tables = {str(m.get("table")) for m in context.case.evidence.get("missing", [])} & set(LEDGER_CHECKED)
        if not read.was_read or read.catalog is None:
            context.ledger_note = read.detail
            return
        for table in sorted(tables):
            codes = codes_of(read.catalog, TABLE_KINDS[table])
            if codes is not None:
                context.ledger_choices[table] = dict(codes)

    def decide(self, case_id: int, decision: str, *, actor: User, fields: dict[str, str]) -> Case:
        """One of the named decisions (see ``DECISIONS``); the reason/note/assignee/tag come in ``fields``.

        ``resolve`` with an ``outcome`` (``OUTCOME_NAMES``) decides what becomes of the case's blocked job
        (``services.outcomes``); the note is its reason."""
        if decision == "resolve" and _field(fields, "outcome"):
            _must_decide(actor)
            self._must_see(case_id, actor)
            return resolve_with_outcome(self.app, case_id, actor=actor.username, outcome=_field(fields, "outcome"),
                                        reason=_field(fields, "note"))
        if decision in CUSTOMER_REQUESTS:  # an e-mail to the job's customer, from the company's notify config
            _must_decide(actor)
            self._must_see(case_id, actor)
            return request_from_customer(self.app, case_id, decision, actor=actor.username,
                                         note=_field(fields, "note"))
        return take_decision(self.app.store, case_id, decision, actor=actor, fields=fields)

    def add_mapping(self, case_id: int, *, actor: User, table: str, key: str, value: str) -> Case:
        """Store the mapping for the case's company, note it on the case, replay it, then any others it clears."""
        _must_decide(actor)
        self._must_see(case_id, actor)
        try:
            table, key, value = check_override(table, key, value)
        except MappingOverrideError as exc:
            raise DecisionError(str(exc)) from None
        unchecked = self._check_with_ledger(case_id, table, key, value)
        note = f"{table}: {key} → {value}" + (f" (not checked against the ledger: {unchecked})" if unchecked else "")
        with self.app.store.unit_of_work() as uow:
            queue = self._queue(uow)
            case = queue.get(case_id)
            if not case.company:
                raise DecisionError(f"case #{case_id} names no company to map for")
            previous = uow.mapping_overrides.put(company=case.company, table=table, key=key, value=value,
                                                 actor=actor.username)
            before = {f"{table}[{key}]": previous}
            after = {f"{table}[{key}]": value}
            queue.record(case_id, actor=actor.username, action="mapping_added", note=note,
                         before=before, after=after)
            uow.audit.append(actor=actor.username, action="mapping_added", subject=f"{case.company}/{table}/{key}",
                             note=f"from case #{case_id}", before=before, after=after)
            uow.commit()
        if case.is_open and case.work_order_id is not None:
            replay_case(self.app, case_id, actor=actor.username)
        self._replay_cleared(case, table, key)
        return self.context(case_id).case

    def _check_with_ledger(self, case_id: int, table: str, key: str, value: str) -> str:
        """Refuse (DecisionError) a code the case's ledger does not have; "" when it does, else why it went unchecked.

        A code missing from the kept catalog is looked up once more in a fresh one: the item may have been made in
        the ledger a minute ago, for this very case."""
        if table not in LEDGER_CHECKED:
            return ""
        with self.app.store.unit_of_work() as uow:
            company = self._queue(uow).get(case_id).company
        if not company:
            return ""  # refused below, with the case's own words
        config = self.app.config.company(company)
        try:
            return check_against_ledger(table, key, value, self.catalogs.read(config))
        except MappingOverrideError:
            pass
        try:
            return check_against_ledger(table, key, value, self.catalogs.read(config, fresh=True))
        except MappingOverrideError as exc:
            raise DecisionError(str(exc)) from None

    def fix_price(self, case_id: int, *, actor: User, line: str, price: str, reason: str) -> Case:
        """Coordinators and admins only: a new unit price for one line of the case's job, then a replay of it."""
        if actor.role not in LINKERS:
            raise PermissionError(f"{actor.username} is a {actor.role}: only a coordinator or an admin fixes a price")
        self._must_see(case_id, actor)
        return fix_price(self.app, case_id, line, price, reason, actor=actor.username)

    def replay(self, case_id: int, *, actor: User) -> Case:
        _must_decide(actor)
        self._must_see(case_id, actor)
        replay_case(self.app, case_id, actor=actor.username)
        return self.context(case_id).case

    def link_email(self, case_id: int, *, actor: User, work_order: str) -> Case:
        """Coordinators and admins only: attach the case's email to a work order (id or job number), resolving it."""
        if actor.role not in LINKERS:
            raise PermissionError(f"{actor.username} is a {actor.role}: only a coordinator or an admin links email")
        self._must_see(case_id, actor)
        return link_email(self.app, case_id, work_order, actor=actor.username)

    def correct(self, case_id: int, *, actor: User, choice: str, reason: str = "") -> CorrectionReport:
        """Decide a changed-after-invoiced case (``services.corrections``): apply_correction, apply_as_credit or
        keep_invoice; the report says what each ledger step came to."""
        _must_decide(actor)
        self._must_see(case_id, actor)
        try:
            chosen = CorrectionChoice(choice)
        except ValueError:
            raise DecisionError(f"unknown correction decision {choice!r}: apply_correction, apply_as_credit or "
                                "keep_invoice") from None
        return correct_case(self.app, case_id, actor=actor.username, choice=chosen, reason=reason)

    def audit_trail(self, *, limit: int = 200, actor: User | None = None) -> list[AuditEntry]:
        """The newest entries; for a person limited to some companies, only those about their companies' cases and
        settings (``visible_entries``), read from further back so the page is not left short."""
        with self.app.store.unit_of_work() as uow:
            if actor is None or not actor.companies:
                return uow.audit.recent(limit=limit)
            theirs = {case.id for case in cases_seen(uow, actor, statuses=tuple(CaseStatus), limit=100_000)
                      if case.id is not None}
            return visible_entries(uow.audit.recent(limit=limit * 10), actor, theirs)[:limit]

    def authenticate(self, username: str, password: str) -> User | None:
        try:
            name = check_username(username)
        except UserError:
            verify_password(password, _DUMMY_HASH)
            return None
        with self.app.store.unit_of_work() as uow:
            stored = uow.users.password_hash(name)
            user = uow.users.get(name)
        if not verify_password(password, stored or _DUMMY_HASH) or stored is None:
            return None
        return user

    def user(self, username: str) -> User | None:
        with self.app.store.unit_of_work() as uow:
            return uow.users.get(username)

    def user_for_token(self, token: str) -> User | None:
        with self.app.store.unit_of_work() as uow:
            return uow.users.user_for_token(token_digest(token))

    def users(self) -> list[User]:
        with self.app.store.unit_of_work() as uow:
            return uow.users.all()

    def add_user(self, username: str, role: Role, password: str, *, actor: User,
                 companies: Sequence[str] | None = None) -> User:
        if not actor.can_manage_users:
            raise PermissionError("only an admin manages users")
        from services.users import add_user

        known = {company_id for company_id, _ in self.companies()}
        unknown = [company for company in companies or () if company not in known]
        if unknown:
            raise UserError(f"no company {unknown[0]!r} in the config: choose among {', '.join(sorted(known))}")
        return add_user(self.app.store, username, role, password, actor=actor.username, companies=companies)

    def companies(self) -> list[tuple[str, str]]:
        return [(company.id, company.name) for company in self.app.config.companies]

    def _queue(self, uow: UnitOfWork) -> CaseQueue:
        return CaseQueue(uow.cases, clock=uow.clock)

    def _must_see(self, case_id: int, actor: User) -> None:
        """``CaseNotFoundError`` unless the case exists and is ``actor``'s to see: checked before a decision reads
        or changes anything, so another company's case answers like a missing one."""
        if actor.companies:
            with self.app.store.unit_of_work() as uow:
                visible_case(self._queue(uow).get(case_id), actor)

    def _replay_cleared(self, fixed: Case, table: str, key: str) -> None:
        """Other open missing-mapping cases of the company that needed only this entry are replayed too."""
        with self.app.store.unit_of_work() as uow:
            others = uow.cases.list(statuses=(CaseStatus.open, CaseStatus.in_progress),
                                    kinds=(CaseKind.missing_mapping,), company=fixed.company)
        for other in others:
            if other.id == fixed.id:
                continue
            needs = {(m.get("table"), m.get("key")) for m in other.evidence.get("missing", [])}
            if (table, key) in needs:
                replay_as_system(self.app, other.id, because=f"{table}[{key}] was added on case #{fixed.id}")


LINKERS = (Role.coordinator, Role.admin)
EMAIL_LINKED = "email_linked"


def fix_price(app: Runtime, case_id: int, line: str, price: str, reason: str, *, actor: str) -> Case:
    """Store the line price override (see ``services.line_prices``), then replay the case so its outcome shows."""
    store_line_price(app, case_id, line, price, reason, actor=actor)
    replay_case(app, case_id, actor=actor)
    with app.store.unit_of_work() as uow:
        return CaseQueue(uow.cases, clock=uow.clock).get(case_id)


def link_email(app: Runtime, case_id: int, work_order: str, *, actor: str) -> Case:
    """Decide an ``unmatched_email`` case: a manual match for its message, the message's evidence on a new version
    of the work order (the mail step's own path), the decision in the case history and the audit trail, the case
    resolved. The next pipeline run evaluates the new version's rules, as it does for any new version.
    """
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        case = queue.get(case_id)
        if case.kind is not CaseKind.unmatched_email:
            raise DecisionError(f"case #{case_id} is about {case.kind}, not an unmatched email")
        if not case.is_open:
            raise DecisionError(f"case #{case_id} is {case.status}: reopen it before linking")
        company = case.company or ""
        order_id = _work_order_id(uow, company, work_order)
        message_id = str(case.evidence.get("message_id") or "")
        try:
            order = attach_message(uow, company, message_id, order_id, actor=actor,
                                   content_hash=str(case.evidence.get("content_hash") or "") or None,
                                   mailboxes=company_mailboxes(app, company))
        except MessageLinkError as exc:
            raise DecisionError(str(exc)) from None
        before = {"work_order_id": None, "job_number": None}
        after = {"work_order_id": order.id, "job_number": order.job_number, "work_order_version": order.version}
        note = f"email {message_id} linked to job {order.job_number} (work order {order.id} v{order.version})"
        queue.record(case_id, actor=actor, action=EMAIL_LINKED, note=note, before=before, after=after)
        queue.resolve(case_id, actor=actor, note=f"the email is now on job {order.job_number}")
        uow.audit.append(actor=actor, action=EMAIL_LINKED, subject=f"{company}/{message_id}",
                         note=f"from case #{case_id}", before=before, after=after)
        case = queue.get(case_id)
        uow.commit()
    return case


def _work_order_id(uow: UnitOfWork, company: str, given: str) -> str:
    """A work order id of the company, or the one work order its job number names (a leading '#' is dropped)."""
    text = given.strip()
    if not text:
        raise DecisionError("say which work order: its id or its job number")
    order = uow.work_orders.get(text)
    if order is not None and order.company == company:
        return order.id
    ids = uow.work_orders.ids_for_job_number(text.lstrip("#").strip(), company=company)
    if not ids:
        raise DecisionError(f"there is no work order or job number {text!r} in {company}")
    if len(ids) > 1:
        raise DecisionError(f"job {text} names {len(ids)} work orders ({', '.join(ids)}): pick one by its id")
    return ids[0]


def take_decision(store: Store, case_id: int, decision: str, *, actor: User, fields: dict[str, str]) -> Case:
    """One of the named decisions of ``DECISIONS`` on the store, as the desk, the API and the CLI take it.

    An assignee (given, or the actor taking the case) must be a user of the store who may decide and who sees the
    case's company: a case given to a name nobody signs in with, or who may not open it, would wait for no one.
    A case of a company the actor does not see answers like one that does not exist.
    """
    _must_decide(actor)
    if decision in CUSTOMER_REQUESTS:
        raise DecisionError(f"{decision} e-mails the customer with the company config: StoreDesk.decide")
    if decision not in DECISIONS:
        raise DecisionError(f"unknown decision {decision!r}")
    with store.unit_of_work() as uow:
        case = visible_case(CaseQueue(uow.cases, clock=uow.clock).get(case_id), actor)
        if decision == "assign":
            fields = {**fields, "assignee": known_assignee(uow.users, _field(fields, "assignee") or actor.username,
                                                           case=case)}
        if decision == "resolve" and _field(fields, "outcome"):
            raise DecisionError("an outcome is decided with the company config: StoreDesk.decide")
        if decision in ("resolve", "ignore"):  # ignoring a blocked job's case would drop its invoice as silently
            refuse_plain_resolve(uow, CaseQueue(uow.cases, clock=uow.clock).get(case_id))
        try:
            case = DECISIONS[decision](CaseQueue(uow.cases, clock=uow.clock), case_id, actor.username, fields)
        except CaseTransitionError as exc:
            raise DecisionError(str(exc)) from None
        if decision == "assign":
            record_case_assigned(uow, case)  # in this unit of work: the assignment and its notice commit together
        uow.commit()
    return case


def known_assignee(users: Users, name: str, *, case: Case | None = None) -> str:
    """The username of the store's user ``name`` (any case) who may take cases (``case``, when given: a person
    limited to other companies than its own may not); DecisionError for anyone else."""
    try:
        username = check_username(name)
    except UserError:
        raise DecisionError(f"no user {name!r}: a case goes to someone who signs in (closeout users list)") from None
    person = users.get(username)
    if person is None:
        raise DecisionError(f"no user {username!r}: a case goes to someone who signs in (closeout users list)")
    if not person.can_decide:
        raise DecisionError(f"{username} is a {person.role}: a viewer cannot take a case")
    if case is not None and not person.sees(case.company):
        raise DecisionError(f"{username} works only on cases of {', '.join(person.companies)}: case #{case.id} is "
                            f"{case.company or 'of no company'}'s")
    return person.username


def cases_seen(uow: UnitOfWork, actor: User | None, *, company: str | None = None, limit: int,
                **filters: Any) -> list[Case]:
    """``uow.cases.list`` of the companies ``actor`` sees, newest first: one query per company of a person limited
    to some, so another company's cases never take their place under the limit."""
    if actor is None or not actor.companies:
        return uow.cases.list(company=company, limit=limit, **filters)
    chosen = [c for c in actor.companies if company is None or c == company]
    found = [case for c in chosen for case in uow.cases.list(company=c, limit=limit, **filters)]
    return sorted(found, key=lambda case: case.id or 0, reverse=True)[:limit]


def _must_decide(actor: User) -> None:
    if not actor.can_decide:
        raise PermissionError(f"{actor.username} is a {actor.role}: viewers cannot take decisions")


def _field(fields: dict[str, str], name: str) -> str:
    return (fields.get(name) or "").strip()


DECISIONS: dict[str, Callable[[CaseQueue, int, str, dict[str, str]], Case]] = {
    "resolve": lambda q, i, a, f: q.resolve(i, actor=a, note=_field(f, "note")),
    "ignore": lambda q, i, a, f: q.ignore(i, actor=a, note=_field(f, "note")),
    "undo_ignore": lambda q, i, a, f: q.undo_ignore(i, actor=a, note=_field(f, "note")),
    "reopen": lambda q, i, a, f: q.reopen(i, actor=a, note=_field(f, "note")),
    "start": lambda q, i, a, f: q.start(i, actor=a),
    "assign": lambda q, i, a, f: q.assign(i, actor=a, assignee=_field(f, "assignee") or a),
    "unassign": lambda q, i, a, f: q.unassign(i, actor=a),
    "tag": lambda q, i, a, f: q.tag(i, actor=a, tag=_field(f, "tag")),
    "untag": lambda q, i, a, f: q.untag(i, actor=a, tag=_field(f, "tag")),
    "comment": lambda q, i, a, f: q.comment(i, actor=a, note=_field(f, "note")),
    "approve_override": lambda q, i, a, f: q.approve_override(i, actor=a, reason=_field(f, "note")),
}
