"""Words and small formatting for the pages: what each kind of case means, and how times read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from exceptions_queue.cases import CaseKind

KIND_HELP: dict[CaseKind, str] = {
    CaseKind.rule_blocked: "A billing rule stopped this job. The rule's reason and the decisions that clear it are "
                           "at the top: fix the job at the source, or resolve it with an outcome, or approve an "
                           "override with a reason and replay.",
    CaseKind.missing_mapping: "The job is ready to invoice, but a code on it has no ledger item or tax code yet. "
                              "Add the mapping below: Closeout stores it for this company and replays the job.",
    CaseKind.ambiguous_customer: "More than one customer in the ledger matches. Choose the right one in the "
                                 "ledger, then replay.",
    CaseKind.unknown_customer: "The ledger has no such customer and Closeout may not create one.",
    CaseKind.source_payload_invalid: "The job from the source system could not be read. It closes by itself "
                                     "when the job is fixed at the source.",
    CaseKind.ledger_rejected: "The ledger refused the invoice. Its own error message is below.",
    CaseKind.uncertain_push: "Closeout does not know whether the ledger took the invoice. A replay looks it up "
                             "before sending anything again.",
    CaseKind.changed_after_invoiced: "The job changed after its invoice went out, and the invoice would now say "
                                     "something else: the decision below lists each line before and after. "
                                     "Closeout will not send a second invoice by itself.",
    CaseKind.unmatched_email: "An email could not be linked to a job. Its text is shown below exactly as "
                              "received (never as a web page).",
    CaseKind.mailbox_stalled: "A mailbox has not delivered anything for longer than expected.",
    CaseKind.token_expiring: "A ledger connection needs to be renewed soon.",
    CaseKind.connection_failed: "A source or ledger cannot be reached or refuses its credentials. It closes by "
                                "itself when the health check passes again.",
    CaseKind.reconciliation_mismatch: "The ledger and the source disagree about an invoice.",
    CaseKind.ledger_token_expiring: "The ledger connection's refresh token expires soon. Connect the ledger again "
                                    "(a new refresh token) before then, or pushing stops.",
    CaseKind.ledger_refresh_failed: "The ledger refused to renew Closeout's access. Pushing to this ledger has "
                                    "stopped; the drafts wait, ready. Connect the ledger again, then resolve.",
    CaseKind.attachment_failed: "The invoice is in the ledger, but a sign-off or photo could not be attached to it "
                                "(too large, or refused repeatedly). Attach it in the ledger by hand, then resolve.",
    CaseKind.invoice_send_failed: "The invoice is in the ledger, but it could not be e-mailed to the customer (no "
                                  "billing e-mail, or the ledger refused). Send it from the ledger, then resolve.",
    CaseKind.tax_mismatch: "The invoice is in the ledger, but the tax the ledger computed is not the tax the source "
                           "system charged. Check the job's tax codes and the site address; correct the invoice in "
                           "the ledger or the tax mapping, then resolve.",
}

DONE = {
    "resolve": "Case resolved.", "ignore": "Case ignored. You can undo this.", "undo_ignore": "Ignore undone.",
    "reopen": "Case reopened.", "assign": "Assigned.", "unassign": "Unassigned.", "tag": "Tag added.",
    "untag": "Tag removed.", "comment": "Comment added.", "approve_override": "Override approved; replay to apply.",
    "start": "Marked in progress.",
    "request_sign_off": "Sign-off requested: the customer is e-mailed, and their reply unblocks the job.",
    "request_photos": "Photos requested: the customer is e-mailed, and their reply unblocks the job.",
    "invoice_anyway": "Case resolved: the next run invoices the job, with the override and your reason.",
    "bill_nothing": "Case resolved: the job is not billed, and the record says why.",
    "wait": "Waiting for the source: the case stays open until a new version of the job arrives.",
}


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit ("3d ago", "just now"); "" for no moment."""
    if moment is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def pretty(value: Any) -> str:
    """JSON for a <pre> block; the template escapes it like any other text."""
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def words(code: str) -> str:
    """A snake_case code as words for people ("missing_mapping" → "missing mapping")."""
    return str(code).replace("_", " ")


def install_filters(env: Environment) -> None:
    """Make ``ago``, ``pretty`` and ``words`` template filters and ``KIND_HELP`` a global of ``env``."""
    env.filters.update(ago=ago, pretty=pretty, words=words)
    env.globals["KIND_HELP"] = KIND_HELP
