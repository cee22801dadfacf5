"""Integrity: one invoice per job, no look-alike billed twice, a reachable customer, the ledger's currency."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from decimal import Decimal

from workorders.anomalies import AnomalyCode
from workorders.correction_plan import plan_correction
from workorders.corrections import DraftDiff, diff_drafts
from workorders.rules._model import (
    Check, InvoicedVersion, RuleContext, RuleSettings, blocked, no_invoice, passed, rule, warned,
)
from workorders.rules.labour import site_zone
from workorders.work_order import Billing, WorkOrder, WorkOrderStatus

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GONE = (WorkOrderStatus.cancelled, WorkOrderStatus.deleted)


def work_day(order: WorkOrder) -> date:
    """The day the work was finished where it was done."""
    return (order.completed_at or order.updated_at).astimezone(site_zone(order)).date()


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=8192)  # the duplicate net compares each order with up to 50 others: the same names recur
def _norm(text: str | None) -> str:
    return " ".join(_NOT_ALNUM.sub(" ", (text or "").lower()).split())


INVOICE_UNCHANGED = "invoice_unchanged"
"""The decision on a version that changed after invoicing while its invoice would say the same: no case."""
INVOICE_CORRECTED = "invoice_corrected"
"""The decision on a version a correction after invoicing brought the invoice to: it is invoiced already."""
INVOICE_CHANGED = "invoice_changed"
"""The decision on a version whose invoice would differ from the one sent (or that no longer needs one): a case."""


@rule("not_invoiced_before", version=3, case_kind=AnomalyCode.changed_after_invoiced, beats_no_invoice=True,
      actions=("credit_and_reissue", "ignore_change"))
def check_not_invoiced(order: WorkOrder, settings: RuleSettings, context: RuleContext) -> Check:
    """A job that changed after it was invoiced needs a person: never a silent second invoice, nor a silent credit.

    What the invoice would say decides: a version whose draft bills exactly what the invoiced draft billed
    (``workorders.corrections``; a touched ``updated_at``, a note, a photo) needs no ledger operation and no
    case. Without this version's draft in the context, or for a job no longer to be billed, it is a change.
    """
    corrected = [i for i in context.invoiced if i.version == order.version and i.corrected]
    if corrected:
        done = corrected[-1]
        billed = f"invoice {done.doc_number} now bills {done.amount}" if not done.cancelled else (
            f"invoice {done.doc_number} was voided or credited")
        return no_invoice(f"a correction brought the invoice to this version ({billed})", decision=INVOICE_CORRECTED,
                          invoiced_version=done.version, doc_number=done.doc_number, ledger_id=done.ledger_id)
    earlier = sorted((i for i in context.invoiced if i.version != order.version), key=lambda i: i.version)
    if not earlier:
        return passed("no other version of this job was invoiced")
    last = earlier[-1]
    if last.cancelled and (order.status in GONE or order.billing is not Billing.billable):
        return no_invoice(f"changed after its invoice {last.doc_number} was voided or credited; the job is still "
                          "not billed", decision=INVOICE_UNCHANGED, invoiced_version=last.version,
                          doc_number=last.doc_number, ledger_id=last.ledger_id)
    evidence = {"invoiced_version": last.version, "doc_number": last.doc_number, "ledger_id": last.ledger_id,
                "ledger": last.ledger, "push_status": last.status, "new_version": order.version,
                "new_status": order.status.value, "new_subtotal": str(order.subtotal),
                "payment_state": last.payment_state or "not_read",
                "ledger_balance": str(last.ledger_balance) if last.ledger_balance is not None else None}
    paid = f"; {last.payment_state.replace('_', '-')} in the ledger" if last.payment_state else ""
    invoiced = f"version {last.version} was invoiced ({last.doc_number}, {last.amount}{paid})"
    diff, not_compared = _compared(order, last, context)
    if diff is not None and not diff.billable:
        return no_invoice(f"changed after invoicing; the invoice is unchanged ({invoiced})", decision=INVOICE_UNCHANGED,
                          **evidence, attachments_added=list(diff.attachments_added),
                          attachments_removed=list(diff.attachments_removed))
    found = {"changes": diff.evidence()} if diff is not None else {"not_compared": not_compared}
    change = f" and its invoice would change ({diff.summary()})" if diff is not None else ""
    plan = plan_correction(doc_number=last.doc_number, total_before=last.amount, diff=diff,
                           gone=order.status in GONE or order.billing is not Billing.billable,
                           payment_state=last.payment_state)
    reason = (f"changed after {invoiced}{change}; Closeout will not send a second invoice by itself; "
              f"the correction it plans: {'; '.join(plan.describe())}"[:1500])
    return blocked(reason, decision=INVOICE_CHANGED, **evidence, **found, plan=plan.evidence())


def _compared(order: WorkOrder, last: InvoicedVersion, context: RuleContext) -> tuple[DraftDiff | None, str]:
    """The invoiced draft against this version's, or why they cannot be compared (then it counts as a change)."""
    if order.status is not WorkOrderStatus.completed or order.billing is not Billing.billable:
        return None, f"the job is {order.status.value} and {order.billing.value}: its invoice may have to go"
    draft = context.draft
    if draft is None or (draft.work_order_id, draft.work_order_version) != (order.id, order.version):
        return None, "this version's invoice was not drafted"
    if last.draft is None:
        return None, "the invoiced draft is not known"
    return diff_drafts(last.draft, draft), ""


@rule("change_requests_approved", actions=("record_approval", "approve_override", "fix_at_source"))
def check_change_requests(order: WorkOrder, settings: RuleSettings) -> Check:
    """Work beyond the agreed scope is billed only once the customer approved the change.

    A change request with no amount (a customer's "while you're there…") bills nothing: it is a warning, so
    someone prices or dismisses it, not a block on the work that was agreed.
    """
    approved_refs = {a.reference for a in order.approvals if a.kind == "change_request" and a.reference}
    pending = [{"change_request": cr.source_id, "description": cr.description[:200], "amount": str(cr.amount)}
               for cr in order.change_requests if not cr.approved and cr.source_id not in approved_refs]
    priced = [p for p in pending if Decimal(p["amount"]) != 0]
    if priced:
        names = ", ".join(f"{p['change_request']} ({p['amount']})" for p in priced)
        return blocked(f"{len(priced)} change request(s) with an amount not approved: {names}", pending=pending)
    if pending:
        return warned(f"{len(pending)} change request(s) without an amount and not approved; nothing of them is "
                      "billed", pending=pending)
    return passed(f"all {len(order.change_requests)} change request(s) approved")


@rule("duplicate_job", actions=("ignore_duplicate", "cancel_at_source"))
def check_duplicate(order: WorkOrder, settings: RuleSettings, context: RuleContext) -> Check:
    """The same job arriving twice (two sources, a re-export) must be billed once; the later arrival waits for a person.

    Same customer (name or billing email), same site, same work day and the same amount make a look-alike.
    """
    if order.status is not WorkOrderStatus.completed:
        return passed(f"only completed jobs are compared (status {order.status.value})")
    subtotal = order.subtotal  # a sum over the lines: once, not once per use
    same_job = _same_job_as(order, subtotal)
    alike = sorted((c for c in context.possible_duplicates if same_job(c)), key=lambda c: (c.updated_at, c.id))
    earlier = [c for c in alike if (c.updated_at, c.id) < (order.updated_at, order.id)]
    evidence = {"day": work_day(order).isoformat(), "subtotal": str(subtotal),
                "look_alikes": [{"work_order": c.id, "job_number": c.job_number, "source": c.source,
                                 "version": c.version} for c in alike]}
    if earlier:
        first = earlier[0]
        reason = (f"looks like job {first.job_number} ({first.id}): same customer, site, day "
                  f"{evidence['day']} and amount {subtotal}")
        return blocked(reason, **evidence)
    if alike:
        return passed(f"the first of {len(alike) + 1} look-alike jobs; the later ones wait", **evidence)
    return passed("no other job of this customer, site, day and amount", **evidence)


def _same_job_as(order: WorkOrder, subtotal: Decimal) -> Callable[[WorkOrder], bool]:
    """Whether another order is a look-alike of ``order``, with the order's side worked out once (the net holds up
    to 50 others per order): same company, not gone, same customer (name or billing email), site, day and amount."""
    order_id, company = order.id, order.company
    name = _norm(order.customer.name)
    email = _norm(order.customer.email) if order.customer.email else None
    site = (_norm(order.site.name), _norm(order.site.address.line1))
    day = work_day(order)

    def same_job(other: WorkOrder) -> bool:  # cheapest tests first; the order itself is never its own look-alike
        other_company, gone, other_name, other_email, other_site = _look_of(other)
        if other_company != company or gone:
            return False
        if name != other_name and (email is None or email != other_email):
            return False
        if site != other_site or other.id == order_id:
            return False
        return day == work_day(other) and subtotal == other.subtotal

    return same_job


_LOOKS: dict[int, tuple[weakref.ref, tuple]] = {}
"""``_look_of`` per live work order (by identity: a batch's look-alikes are the same objects for each of its orders,
so each is normalised once, not once per order it is compared with). An entry leaves when its order is freed."""


def _look_of(order: WorkOrder) -> tuple[str, bool, str, str, tuple[str, str]]:
    """What the duplicate net compares first: company, gone, customer name and email, and site, normalised."""
    key = id(order)
    found = _LOOKS.get(key)
    if found is not None and found[0]() is order:
        return found[1]
    look = (order.company, order.status in GONE, _norm(order.customer.name), _norm(order.customer.email),
            (_norm(order.site.name), _norm(order.site.address.line1)))
    if len(_LOOKS) >= 100_000:
        _LOOKS.clear()
    _LOOKS[key] = (weakref.ref(order, lambda _, key=key: _LOOKS.pop(key, None)), look)
    return look


@rule("billing_email_present", actions=("fix_at_source", "approve_override"))
def check_billing_email(order: WorkOrder, settings: RuleSettings) -> Check:
    """A company that sends invoices by email needs the customer's billing address, or the invoice goes nowhere."""
    if not settings.send_invoices_by_email:
        return passed("the company does not send invoices by email")
    email = (order.customer.email or "").strip()
    if not email:
        return blocked(f"customer {order.customer.name!r} has no billing email", customer=order.customer.source_id)
    if not EMAIL.match(email):
        return blocked(f"customer billing email {email!r} is not an email address", customer=order.customer.source_id)
    return passed(f"invoice will be emailed to {email}", email=email)


_FORMULA = re.compile(r"^\s*(?:[=@]|[+\-](?:[A-Za-z(=@]|\d[\d.,]*[+\-*/^&])|[\t\r])")
"""A cell a spreadsheet would run, not show (OWASP "CSV injection"): a leading ``=`` or ``@``, ``+``/``-`` before
a letter or a bracket or before a number joined to an operator (``-2+3+cmd``), a tab or carriage return.
``-10% off``, ``- 2 filters`` and ``1+1 offer`` stay text."""


def _text_fields(order: WorkOrder) -> list[tuple[str, str]]:
    fields = [("job number", order.job_number), ("customer name", order.customer.name),
              ("site name", order.site.name), ("PO number", order.po_number or "")]
    fields += [(f"line {index} description", line.description) for index, line in enumerate(order.line_items, start=1)]
    return fields


@rule("no_formula_text", actions=("fix_at_source", "approve_override"))
def check_formula_text(order: WorkOrder, settings: RuleSettings) -> Check:
    """Text that becomes a formula when finance exports the ledger to a spreadsheet must be seen by a person first."""
    found = [(name, text[:80]) for name, text in _text_fields(order) if text and _FORMULA.match(text)]
    if not found:
        return passed("no text of the invoice reads as a spreadsheet formula")
    names = ", ".join(f"{name} {text!r}" for name, text in found)
    return blocked(f"text that a spreadsheet would run as a formula: {names}", fields=[name for name, _ in found])


@rule("currency_matches_ledger", actions=("fix_at_source",))
def check_currency(order: WorkOrder, settings: RuleSettings, context: RuleContext) -> Check:
    """The ledger books in one currency; an invoice in another would be booked at the wrong value."""
    ledger = (context.ledger_currency or "").upper()
    if not ledger:
        return passed("the ledger takes every currency (multi-currency)", currency=order.currency)
    if order.currency.upper() == ledger:
        return passed(f"job and ledger are both in {ledger}", currency=order.currency, ledger_currency=ledger)
    return blocked(f"job is in {order.currency} but the ledger books in {ledger} only (multi-currency is off: "
                   "turn it on in the ledger and set multicurrency = true, or fix the job's currency)",
                   currency=order.currency, ledger_currency=ledger)
