"""Push evidence: attach each pushed invoice's sign-off and photos once, and e-mail it to the customer when asked.

``plan_evidence`` runs inside the unit of work that records an invoice as pushed, so no pushed invoice
is ever without its plan: one row per held signature or photo of the work order version (bytes under
``CLOSEOUT_HOME/attachments/``), plus the e-mail when the company's ledger says ``send_to_customer``.
``push_evidence`` then claims the pending rows and sends them. The invoice itself is never touched again:
a failed attachment or e-mail stays pending for the next run and opens a case after ``FAILURES_BEFORE_CASE``
tries; an item claimed again after a try that may have landed is first looked up in the ledger (its file
name, or the invoice's e-mail status), so nothing is attached or sent twice across retries and crashes.
"""

from __future__ import annotations

import mimetypes
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.config import CompanyConfig
from services.counts import StepCounts
from services.mail.files import attachment_path
from services.runtime import Runtime, UnitOfWork
from connectors.errors import ConnectorError, RejectedError
from exceptions_queue.service import CaseQueue
from workorders.push import EMAIL, STALE_AFTER, EvidenceItem
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.push import PushRecord
from workorders.work_order import Attachment, AttachmentKind

ATTACHED_KINDS = {AttachmentKind.signature, AttachmentKind.photo_before, AttachmentKind.photo_after,
                  AttachmentKind.photo}
FAILURES_BEFORE_CASE = 3
"""Tries of one attachment or e-mail (each on a later run) before a case asks a person to do it by hand."""
RETRY_DELAY = timedelta(minutes=5)
"""How long a failed try waits, so the many push batches of one run do not spend all its tries at once."""
_HASH = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ledger_file_name(attachment: Attachment) -> str:
    """The name the file gets in the ledger: its own, made safe, plus 8 hex of its hash (so two photos named
    ``IMG_0001.jpg`` stay apart and a look-up by name finds exactly this file)."""
    path = Path(attachment.file_name or attachment.kind.value)
    suffix = path.suffix.lower() or mimetypes.guess_extension(attachment.media_type) or ""
    stem = _UNSAFE.sub("-", path.stem).strip("-.")[:80] or attachment.kind.value
    return f"{stem}-{attachment.content_hash[:8]}{suffix}"


def plan_evidence(app: Runtime, uow: UnitOfWork, record: PushRecord) -> None:
    """Record what to attach to ``record``'s new invoice and whether to e-mail it (in the caller's transaction)."""
    held = [h for h in record.draft.attachment_hashes if _HASH.match(h) and attachment_path(app.home, h).exists()]
    # the draft lists every attachment hash of its version: none held, nothing to read (10,000 reads a backlog)
    order = uow.work_orders.get(record.work_order_id, record.work_order_version) if held else None
    items = [{"item": a.content_hash, "kind": a.kind.value, "target": ledger_file_name(a), "media_type": a.media_type,
              "size_bytes": a.size_bytes}
             for a in (order.attachments if order else ())
             if a.kind in ATTACHED_KINDS and a.may_be_shared and _HASH.match(a.content_hash)
             and attachment_path(app.home, a.content_hash).exists()]
    company = next((c for c in app.companies() if c.id == record.company), None)
    if company is not None and company.ledger.send_to_customer:
        items.append({"item": EMAIL, "kind": "email", "target": record.draft.customer_email or "", "media_type": "",
                      "size_bytes": 0})
    uow.push_evidence.plan(record.idempotency_key, company=record.company, ledger=record.ledger, items=items)


def push_evidence(app: Runtime, company: CompanyConfig, ledger: Any, counts: StepCounts, *, limit: int = 200) -> None:
    """Attach and e-mail what is pending for ``company``'s pushed invoices; every outcome saved as it comes."""
    with app.store.unit_of_work() as uow:
        uow.push_evidence.release_stale(STALE_AFTER, ledger=company.ledger.kind)
        items = uow.push_evidence.claim(company=company.id, ledger=company.ledger.kind, limit=limit,
                                        retry_delay=RETRY_DELAY)
        records = {key: uow.push_records.get(key) for key in {item.idempotency_key for item in items}}
        uow.commit()
    for item in items:
        record = records[item.idempotency_key]
        status, ref, error, anomaly = _deliver(app, ledger, record, item, adopting=company.ledger.adopt_existing)
        with app.store.unit_of_work() as uow:
            uow.push_evidence.finish(item.idempotency_key, item.item, status, ledger_ref=ref, error=error)
            if anomaly is not None:
                _, opened = CaseQueue(uow.cases).open_case(anomaly)
                counts.cases_opened[anomaly.code.value] += opened
            uow.commit()
        if status == "done" and item.is_email:
            counts.invoices_emailed += 1
        elif status == "done":
            counts.files_attached += 1


def _deliver(app: Runtime, ledger: Any, record: PushRecord, item: EvidenceItem, *,
             adopting: bool = False) -> tuple[str, str | None, str, Anomaly | None]:
    """Send one item: ``(status, ledger ref, error, case to open)``. An invoice that may have been sent already (an
    earlier attempt, or ``adopting``: it may be one made and sent by hand before Closeout) is looked at first."""
    code = AnomalyCode.invoice_send_failed if item.is_email else AnomalyCode.attachment_failed
    if item.is_email and not item.target:
        return _failed(record, item, code, f"invoice {record.doc_number} has no customer billing e-mail to send it to")
    path = attachment_path(app.home, item.item)
    if not item.is_email:
        limit = getattr(ledger, "max_attachment_bytes", None)
        size = path.stat().st_size if path.exists() else None
        if size is None:
            return _failed(record, item, code, f"{item.target} is no longer in the workspace ({path.parent.name})")
        if limit is not None and size > limit:
            return _failed(record, item, code, f"{item.target} is {size} bytes; {record.ledger} takes at most {limit}")
    try:
        if item.is_email:
            if (item.attempts > 1 or adopting) and ledger.invoice_sent(record.ledger_id):
                return "done", "found sent", "", None
            ledger.send_invoice(record.ledger_id, email=item.target)
            return "done", "sent", "", None
        if item.attempts > 1 and item.target in ledger.attachment_names(record.ledger_id):
            return "done", "found attached", "", None
        ref = ledger.attach_file(record.ledger_id, file_name=item.target, content_type=item.media_type,
                                 data=path.read_bytes())
        return "done", ref or None, "", None
    except RejectedError as exc:  # the ledger refused this item: asking again gives the same answer
        return _failed(record, item, code, f"{record.ledger} refused {_what(item)}: {exc.message}", detail=exc.detail)
    except ConnectorError as exc:
        if item.attempts >= FAILURES_BEFORE_CASE:
            return _failed(record, item, code, f"{_what(item)} failed {item.attempts} times: {exc}")
        return "pending", None, str(exc), None


def _what(item: EvidenceItem) -> str:
    return "the invoice e-mail" if item.is_email else item.target


def _failed(record: PushRecord, item: EvidenceItem, code: AnomalyCode, summary: str,
            detail: str = "") -> tuple[str, None, str, Anomaly]:
    anomaly = Anomaly(
        code=code, subject=f"{record.work_order_id}@v{record.work_order_version}:{record.ledger}:{item.item}",
        company=record.company, summary=summary,
        evidence={"ledger": record.ledger, "ledger_id": record.ledger_id, "doc_number": record.doc_number,
                  "item": item.kind, "target": item.target, "attempts": item.attempts, "detail": detail},
        work_order_id=record.work_order_id, work_order_version=record.work_order_version,
        suggested_actions=("send_from_ledger", "resolve") if item.is_email else ("attach_in_ledger", "resolve"),
    )
    return "failed", None, summary, anomaly
