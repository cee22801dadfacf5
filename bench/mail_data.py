"""The mail benchmark's data: work orders to match against and a realistic mailbox of notes, replies and photos.

The mix: crews' notes naming the job in the subject (a fifth with a before or after photo), customers' replies
in those threads (some signing off), customers naming the job in the body only, and mail nobody can place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from imapclient import IMAPClient

from workorders.work_order import (
    Customer, JobType, LineItem, LineKind, Technician, WorkOrder, WorkOrderStatus,
)

T0 = datetime(2026, 10, 1, 14, 0, tzinfo=UTC)
COMPANY = "bench"
FIRST_JOB = 5000
TECHS = [("Sam Ortiz", "sam@crew.example"), ("Ana Ruiz", "ana@crew.example"), ("Lee Park", "lee@crew.example")]


def job_number(j: int) -> str:
    return str(FIRST_JOB + j)


def customer_email(j: int) -> str:
    return f"ap{j}@customer{j}.example"


def work_orders(jobs: int) -> Iterator[WorkOrder]:
    """``jobs`` completed work orders, each with its own customer and one of three technicians."""
    for j in range(jobs):
        name, email = TECHS[j % len(TECHS)]
        yield WorkOrder(
            source="csv", external_id=f"J{job_number(j)}", job_number=job_number(j), company=COMPANY,
            customer=Customer(source_id=f"C{j}", name=f"Customer {j}", email=customer_email(j)),
            technicians=(Technician(source_id=f"T{j % len(TECHS)}", name=name, email=email),),
            job_type=JobType.corrective, status=WorkOrderStatus.completed, updated_at=T0, completed_at=T0,
            line_items=(LineItem(source_id="1", kind=LineKind.labour, description="Labour", quantity=1,
                                 unit_price=125, item_code="LAB-STD"),),
        )


def _photo(n: int, size: int = 24_000) -> bytes:
    """JPEG magic and a body of pseudo-random bytes (distinct per photo, so each is stored once)."""
    seed = hashlib.sha256(str(n).encode()).digest()
    return b"\xff\xd8\xff\xe0" + (seed * (size // len(seed) + 1))[:size] + b"\xff\xd9"


def message(n: int, jobs: int) -> bytes:
    """Message ``n`` of the mailbox (CRLF line ends, as IMAP stores them)."""
    j = (n * 7) % jobs
    kind = n % 20
    mail = EmailMessage()
    tech, tech_email = TECHS[j % len(TECHS)]
    mail["To"] = "field@bench.example"
    mail["Date"] = format_datetime(T0 + timedelta(minutes=n))
    mail["Message-ID"] = f"<m{n}@bench.example>"
    photo = None
    if kind < 10:  # a crew note naming the job in the subject
        mail["From"] = f"{tech} <{tech_email}>"
        mail["Subject"] = f"WO-{job_number(j)} update from site"
        body = f"Arrived 9:10, replaced the contactor, unit cycling normally.\nParts used: CONT-40A.\n-- {tech}"
        if kind < 4:
            photo = ("after.jpg" if kind % 2 else "before.jpg", _photo(n))
    elif kind < 15:  # the customer's reply in the thread of the crew's note (message n - 5 + ...)
        first = n - (kind - 10) - 5
        j = (first * 7) % jobs if first >= 0 else j
        mail["From"] = f"Customer {j} <{customer_email(j)}>"
        mail["Subject"] = f"Re: WO-{job_number(j)} update from site"
        if first >= 0:
            mail["In-Reply-To"] = f"<m{first}@bench.example>"
            mail["References"] = f"<m{first}@bench.example>"
        body = ("Thanks, all good here. I approve the work." if kind == 14 else "Thanks for the update.") + \
            "\n\n> Arrived 9:10, replaced the contactor, unit cycling normally.\n"
    elif kind < 18:  # a customer naming the job in the body only
        mail["From"] = f"Customer {j} <{customer_email(j)}>"
        mail["Subject"] = "Question about last week's visit"
        body = f"Hello, about job # {job_number(j)}: could you send the service report? Thanks."
    else:  # nobody can place it
        mail["From"] = f"Supplier <orders{n}@supplier.example>"
        mail["Subject"] = "Your order has shipped"
        body = "Your order of filters has shipped and will arrive Tuesday."
    mail.set_content(body)
    if photo:
        mail.add_attachment(photo[1], maintype="image", subtype="jpeg", filename=photo[0])
    return mail.as_bytes().replace(b"\n", b"\r\n")


def load_mailbox(client: IMAPClient, folder: str, count: int, jobs: int, *, chunk: int = 250) -> None:
    """Create ``folder`` and fill it with ``count`` messages by MULTIAPPEND, a chunk per command."""
    client.create_folder(folder)
    for start in range(0, count, chunk):
        client.multiappend(folder, [message(n, jobs) for n in range(start, min(count, start + chunk))])
