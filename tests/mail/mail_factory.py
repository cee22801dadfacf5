"""Builders for the mail tests: work orders to match against and RFC 5322 messages (CRLF, as IMAP stores them)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from workorders.work_order import Customer, JobType, LineItem, LineKind, Technician, WorkOrder, WorkOrderStatus

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
CUSTOMERS = {"1042": "facilities@harbor.example", "1043": "ops@prairie.example", "1044": "ops@prairie.example"}


def work_order(job: str, *, email: str, status: WorkOrderStatus = WorkOrderStatus.completed) -> WorkOrder:
    return WorkOrder(
        source="csv", external_id=f"J{job}", job_number=job, company="acme",
        customer=Customer(source_id=f"C-{job}", name=f"Customer of {job}", email=email),
        technicians=(Technician(source_id="T1", name="Dana Ruiz", email="dana@acme.example"),),
        job_type=JobType.corrective, status=status, updated_at=T0, completed_at=T0,
        line_items=(LineItem(source_id="1", kind=LineKind.labour, description="Labour", quantity=1,
                             unit_price=125, item_code="LAB"),),
    )


def mail(number: int, subject: str, body: str = "Note from the van.", *, sender: str = "Dana Ruiz <dana@acme.example>",
         reply_to: str | None = None, attachments: tuple = (), html: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "field@acme.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(T0)
    message["Message-ID"] = f"<m{number}@van.acme.example>"
    if reply_to:
        message["In-Reply-To"] = reply_to
        message["References"] = reply_to
    message.set_content(body, subtype="html" if html else "plain")
    for name, data, media_type in attachments:
        maintype, subtype = media_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes().replace(b"\n", b"\r\n")


