"""Asking the customer: a blocked job's sign-off or photos requested by e-mail, and their reply as its evidence.

``request_sign_off`` and ``request_photos`` are decisions on a ``rule_blocked`` case that ``sign_off_required`` /
``photos_before_after`` blocks. The decision records one ``customer_request`` notice (``services.notify``) to the
job's customer e-mail, from the company's ``notify.sender`` with its ``notify.reply_to``; the run sends it. Its
subject names the job as the company's mailboxes already match mail ("Job #1021"), so the customer's reply is
placed on the job by the mail step like any other message, and its signature or photos count under the same
provenance rules (``mappings.mail_provenance``: only from the customer's own addresses, or staff, and never from
a message its receiving server failed). The reply makes a new version of the job; the run judges it again, and a
version its rules let through invoices the job and closes the case by itself. Nobody needs to touch it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exceptions_queue.cases import Case, CaseKind
from exceptions_queue.desk import DecisionError
from exceptions_queue.service import CaseQueue
from mappings.mail_match import find_job_numbers
from notifications.messages import Channel, Notice, NoticeKind, NoticeStatus, customer_request_key
from services.config import CompanyConfig, ConfigError
from services.outcomes import about_blocked_job
from services.runtime import Runtime
from workorders.work_order import WorkOrder

CUSTOMER_ASKED = "customer_asked"
"""The case history's action for a request sent to the customer; ``after`` holds the request, recipient and key."""
MAX_NOTE = 1000
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@dataclass(frozen=True)
class CustomerRequest:
    """One thing a customer can be asked for: the rule it satisfies and the words of the e-mail."""

    name: str
    rule_id: str
    what: str  # "a sign-off", in the case history
    subject: str  # {company} {job}
    ask: str  # the body's request; it must not read as a sign-off itself (see ``mappings.mail_evidence``)


REQUESTS = {
    "request_sign_off": CustomerRequest(
        "request_sign_off", "sign_off_required", "a sign-off",
        "{company}: your signature for Job #{job}, please",
        "Before we send the invoice, we need your confirmation of the work. Please reply to this e-mail with\n"
        "- your signature attached as an image (a photo of the signed job sheet is fine), and\n"
        "- one sentence, in your own words, saying that you accept it."),
    "request_photos": CustomerRequest(
        "request_photos", "photos_before_after", "before and after photos",
        "{company}: before and after photos for Job #{job}, please",
        "Before we send the invoice, we need photos of the site from before and after the work. Please reply to\n"
        "this e-mail with the photos attached, their file names starting with \"before\" and \"after\"\n"
        "(for example before.jpg and after.jpg)."),
}
"""The decisions by their names (``exceptions_queue.desk.CUSTOMER_REQUESTS``)."""


def request_from_customer(app: Runtime, case_id: int, request: str, *, actor: str, note: str = "") -> Case:
    """Record the e-mail asking the case's customer for what its blocking rule misses, and say so on the case.

    Refused (DecisionError, nothing recorded) when the case is not a blocked job's waiting for its invoice, its
    rule is not the one the request satisfies, the company sends no e-mail or reads no mailbox whose job number
    patterns find the job in the subject (the reply would reach no job), the customer has no e-mail address, or
    the same request for this version is on its way or sent already. ``note`` (optional) is a line for the
    customer, kept in the e-mail and the case history.
    """
    wanted = REQUESTS.get(request)
    if wanted is None:
        raise DecisionError(f"unknown request {request!r}: {' or '.join(REQUESTS)}")
    line = " ".join(note.split())
    if len(line) > MAX_NOTE:
        raise DecisionError(f"the note is {len(line)} characters; at most {MAX_NOTE}")
    with app.store.unit_of_work() as uow:
        queue = CaseQueue(uow.cases, clock=uow.clock)
        case = queue.get(case_id)
        _check_case(uow, case, wanted)
        company = _company(app, case)
        order = uow.work_orders.get(case.work_order_id or "", case.work_order_version)
        if order is None:
            raise DecisionError(f"case #{case.id}: its work order {case.work_order_id} is not in the store")
        recipient = _customer_address(order)
        subject = wanted.subject.format(company=company.name, job=order.job_number)
        _check_reply_reaches_the_job(company, order, subject)
        version = case.work_order_version or order.version
        asked = [r for r in uow.notifications.for_case(case.id)
                 if r.notice.kind is NoticeKind.customer_request
                 and r.notice.key.startswith(f"{NoticeKind.customer_request}:{case.id}:{request}:v{version}:")
                 and r.status is not NoticeStatus.failed]
        if asked:
            last = asked[-1]
            raise DecisionError(f"{recipient} was already asked for {wanted.what} for job {order.job_number} "
                                f"({last.status}, {last.created_at:%Y-%m-%d %H:%M} UTC): their reply is placed on "
                                "the job when it arrives")
        key = customer_request_key(case.id, request, version, len(case.history))
        notice = Notice(key=key, kind=NoticeKind.customer_request, company=company.id, recipient=recipient,
                        channel=Channel.email, case_id=case.id, subject=subject,
                        body=_body(wanted, company, order, line))
        uow.notifications.record([notice])
        after = {"request": request, "recipient": recipient, "notification": key, "subject": notice.subject}
        summary = f"asked {recipient} for {wanted.what} by e-mail (\"{notice.subject}\")"
        case = queue.record(case.id, actor=actor, action=CUSTOMER_ASKED,
                            note=f"{summary}: {line}" if line else summary, after=after)
        uow.audit.append(actor=actor, action=CUSTOMER_ASKED, subject=f"{company.id}/{order.id}",
                         note=f"from case #{case.id}: {summary}", after=after)
        uow.commit()
    return case


def _check_case(uow, case: Case, wanted: CustomerRequest) -> None:
    if case.kind is not CaseKind.rule_blocked:
        raise DecisionError(f"case #{case.id} is about {case.kind}: only a job blocked by {wanted.rule_id} "
                            f"is answered by asking the customer for {wanted.what}")
    if not case.is_open:
        raise DecisionError(f"case #{case.id} is {case.status}: reopen it before asking the customer")
    blocking = {str(d.get("rule_id")) for d in case.evidence.get("decisions", []) if isinstance(d, dict)}
    if wanted.rule_id not in blocking:
        rules = ", ".join(sorted(blocking)) or "no rule"
        raise DecisionError(f"case #{case.id} is blocked by {rules}, not {wanted.rule_id}: {wanted.what} "
                            "would not clear it")
    if not about_blocked_job(uow, case):
        raise DecisionError(f"case #{case.id} is about version {case.work_order_version} of its job, which is "
                            "no longer the one waiting for its invoice: replay the case first")


def _company(app: Runtime, case: Case) -> CompanyConfig:
    try:
        company = app.config.company(case.company or "")
    except ConfigError:
        raise DecisionError(f"case #{case.id} names company {case.company!r}, which the config does not have") \
            from None
    notify = company.notify
    if notify is None or not notify.smtp_host:
        raise DecisionError(f"{company.id} sends no e-mail: set smtp_host and sender in its [companies.notify] "
                            "config to ask customers")
    return company


def _customer_address(order: WorkOrder) -> str:
    address = (order.customer.email or "").strip()
    if not _ADDRESS.match(address):
        said = f" ({address!r} is not one)" if address else ""
        raise DecisionError(f"job {order.job_number}'s customer {order.customer.name} has no e-mail address at the "
                            f"source{said}: fix it at the source, or ask them another way")
    return address


def _check_reply_reaches_the_job(company: CompanyConfig, order: WorkOrder, subject: str) -> None:
    """A reply keeps the subject ("Re: ..."): some mailbox of the company must read the job number in it."""
    if not company.mailboxes:
        raise DecisionError(f"{company.id} reads no mailbox: the customer's reply would reach no job "
                            "(add one under [[companies.mailboxes]])")
    if not any(order.job_number in find_job_numbers(subject, mailbox.job_number_patterns)
               for mailbox in company.mailboxes):
        raise DecisionError(f"no mailbox of {company.id} finds job number {order.job_number!r} in \"{subject}\" "
                            "(its job_number_patterns): the reply would reach no job")


def _body(wanted: CustomerRequest, company: CompanyConfig, order: WorkOrder, note: str) -> str:
    done = f" on {order.completed_at:%B %d, %Y}" if order.completed_at else ""
    where = f" at {order.site.name}" if order.site.name else ""
    return "\n".join([
        f"Hello {order.customer.name},",
        "",
        f"{company.name} finished job {order.job_number}{where}{done}.",
        wanted.ask,
        *(["", note] if note else []),
        "",
        f"Please keep \"Job #{order.job_number}\" in the subject, so your reply reaches the right job.",
        "",
        "Thank you,",
        company.name,
    ])


__all__ = ["CUSTOMER_ASKED", "REQUESTS", "CustomerRequest", "request_from_customer"]
