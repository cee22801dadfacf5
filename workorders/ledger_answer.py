"""Whether the ledger's answer is the invoice Closeout sent: its doc number, amount, currency and customer (pure)."""

from __future__ import annotations

from decimal import Decimal

from workorders.drafts import InvoiceDraft
from workorders.ports import LedgerInvoice
from workorders.totals import sent_amount

__all__ = ["answer_differences"]


def answer_differences(draft: InvoiceDraft, amount: Decimal, invoice: LedgerInvoice, *,
                       tax_inclusive: bool) -> tuple[str, ...]:
    """Each way the ledger's invoice is not the draft's, in words; () when it is.

    A ledger, or anything between it and Closeout, can answer with another invoice than the one created: a
    recorded answer decides what is e-mailed to a customer and what a look-up finds, so it is checked first.
    The amount is compared as a look-up compares it (``sent_amount``): the lines, or the total when prices
    include tax. The customer is checked when the draft names a mapped one; an empty field in the answer
    (a ledger that did not say) is not a difference.
    """
    differences = []
    if invoice.doc_number != draft.doc_number:
        differences.append(f"doc number {invoice.doc_number or '(none)'!s}, not {draft.doc_number}")
    answered = sent_amount(invoice, tax_inclusive=tax_inclusive)
    if answered != amount:
        differences.append(f"amount {answered}, not {amount}")
    if invoice.currency and invoice.currency != draft.currency:
        differences.append(f"currency {invoice.currency}, not {draft.currency}")
    if draft.customer_ref and invoice.customer_ref and invoice.customer_ref != draft.customer_ref:
        differences.append(f"customer {invoice.customer_ref}, not {draft.customer_ref}")
    return tuple(differences)
