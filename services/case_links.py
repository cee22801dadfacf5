"""Where a case page's references lead: look-alike jobs, e-mails and ledger invoices as links, and a job's own page."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from exceptions_queue.cases import Case, CaseKind, CaseStatus
from exceptions_queue.desk import WorkOrderStory
from services.config import LedgerConfig
from services.explain import explain_work_order, split_evaluations
from services.runtime import UnitOfWork

_LEDGER_PAGES = {
    # the ledgers' own web apps, by the API host a real config names (never the local sandbox)
    "quickbooks.api.intuit.com": "https://app.qbo.intuit.com/app/invoice?txnId={id}",
    "sandbox-quickbooks.api.intuit.com": "https://app.sandbox.qbo.intuit.com/app/invoice?txnId={id}",
    "api.xero.com": "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={id}",
}


def invoice_page(ledger: LedgerConfig, ledger_id: str | None) -> str | None:
    """The ledger's own page of an invoice, or None: for the sandbox, or an API root that is not the ledger's."""
    if not ledger_id or ledger.uses_sandbox:
        return None
    template = _LEDGER_PAGES.get((urlsplit(ledger.api_url).hostname or "").lower())
    return template.format(id=quote(str(ledger_id), safe="")) if template else None


def work_order_page(work_order_id: str) -> str:
    """The read-only page of a work order in the queue UI (``/work-orders/<id>``)."""
    return "/work-orders/" + quote(work_order_id, safe=":")


def case_links(uow: UnitOfWork, case: Case, *, decisions: Iterable[dict[str, Any]] = (),
               work_order: dict[str, Any] | None = None, push_records: Iterable[dict[str, Any]] = (),
               ledger: LedgerConfig | None = None) -> dict[str, str]:
    """``CaseContext.links`` of one case: every look-alike job, e-mail and ledger invoice its page names."""
    evidences = [case.evidence, *(d.get("evidence") or {} for d in decisions)]
    if case.work_order_id:
        links = {f"work_order:{case.work_order_id}": work_order_page(case.work_order_id)}
    else:
        links = {}
    for evidence in evidences:
        for ref in _values(evidence, ("work_order", "work_order_id")):
            links[f"work_order:{ref}"] = work_order_page(ref)
    message_ids = {ref for evidence in evidences for ref in _values(evidence, ("message_id",))}
    for item in (work_order or {}).get("notes", []) + (work_order or {}).get("attachments", []):
        for ref in (item.get("source"), (item.get("provenance") or {}).get("reference")):
            if isinstance(ref, str) and ref.startswith("mail:"):
                message_ids.add(ref.removeprefix("mail:"))
    links.update(message_links(uow, case.company, message_ids, this_case=case.id))
    for record in push_records:
        page = invoice_page(ledger, record.get("ledger_id")) if ledger is not None else None
        if page:
            links[f"ledger:{record['ledger_id']}"] = page
    return links


def message_links(uow: UnitOfWork, company: str | None, message_ids: set[str], *, this_case: int | None = None
                  ) -> dict[str, str]:
    """``message:<Message-ID>`` → the case about that e-mail, else the job it was attached to (when stored)."""
    if not message_ids or not company:
        return {}
    about = {}
    for other in uow.cases.list(kinds=(CaseKind.unmatched_email,), statuses=tuple(CaseStatus), company=company,
                                limit=5000):
        if other.evidence.get("message_id") in message_ids and other.id != this_case:
            about.setdefault(other.evidence["message_id"], f"/cases/{other.id}")
    links = {}
    for message_id in sorted(message_ids):
        stored = uow.messages.get(company=company, message_id=message_id)
        if message_id in about:
            links[f"message:{message_id}"] = about[message_id]
        elif stored is not None and stored.work_order_id:
            links[f"message:{message_id}"] = work_order_page(stored.work_order_id)
    return links


def work_order_story(uow: UnitOfWork, reference: str, *, ledger_of: Any = None) -> WorkOrderStory:
    """A work order's page: ``LookupError`` (``WorkOrderNotFoundError``) when no single one has this id or number.

    ``ledger_of(company)`` gives the company's ``LedgerConfig`` for the invoice links (None: no such links)."""
    story = explain_work_order(uow, reference)
    latest = story.latest
    decisions = [d.model_dump(mode="json") for d in story.decisions.get(latest.version, [])]
    records = [r.model_dump(mode="json", exclude={"draft"}) for r in story.push_records]
    order = latest.model_dump(mode="json")
    ledger = ledger_of(latest.company) if ledger_of else None
    links = {}
    for case in story.cases:
        links.update(case_links(uow, case, work_order=order, decisions=decisions))
    for record in records:
        page = invoice_page(ledger, record.get("ledger_id")) if ledger is not None else None
        if page:
            links[f"ledger:{record['ledger_id']}"] = page
    return WorkOrderStory(work_order=order, versions=len(story.versions), ending=story.ending(), decisions=decisions,
                          documents=story.documents(), cases=story.cases, push_records=records, links=links)


def latest_evaluation(decisions: list[Any]) -> list[Any]:
    """Of one version's stored decisions, those of its latest evaluation (a replay appends a whole new set)."""
    runs = split_evaluations(decisions)
    return [d for version in sorted(runs) for d in runs[version][-1]]


def _values(evidence: Any, keys: tuple[str, ...]) -> Iterator[str]:
    """Every string under one of ``keys`` anywhere in a case's or decision's evidence (lists and dicts walked)."""
    if isinstance(evidence, dict):
        for key, value in evidence.items():
            if key in keys and isinstance(value, str) and value:
                yield value
            else:
                yield from _values(value, keys)
    elif isinstance(evidence, list):
        for value in evidence:
            yield from _values(value, keys)


__all__ = ["case_links", "invoice_page", "latest_evaluation", "message_links", "work_order_page", "work_order_story"]
