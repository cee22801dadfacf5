"""The company's work orders as mail matching looks them up: by job number and by their people's addresses."""

from __future__ import annotations

from mappings.mail_match import ThreadHit, find_job_numbers
from mappings.mail_parse import ParsedMessage
from workorders.work_order import WorkOrder


class OrderIndex:
    """The company's latest work orders, indexed by job number and by the e-mail addresses of their people.

    ``candidates`` gives ``match_message`` only the orders it could pick for a message (those its thread, a job
    number it names, or its sender points at), in the same order as the full list: the same answer, without
    walking every work order for every message. The sender's orders are left out when the thread or a job
    number already decides (``match_message`` looks at the sender only when neither does): a technician is on
    hundreds of jobs, and walking them all for every note was most of the cost of matching.
    """

    def __init__(self, orders) -> None:
        self.orders: dict[str, WorkOrder] = {order.id: order for order in orders}
        self._position = {order_id: n for n, order_id in enumerate(self.orders)}
        self._by_number: dict[str, list[str]] = {}
        self._by_address: dict[str, set[str]] = {}
        for order in self.orders.values():
            self._by_number.setdefault(order.job_number, []).append(order.id)
            people = [order.customer.email, *order.customer.contact_emails, *(t.email for t in order.technicians)]
            for address in {p.lower() for p in people if p}:
                self._by_address.setdefault(address, set()).add(order.id)

    def candidates(self, message: ParsedMessage, patterns, thread: dict[str, ThreadHit]) -> list[WorkOrder]:
        ids = {hit.work_order_id for hit in thread.values()}
        for text in (message.subject, message.text):
            for number in find_job_numbers(text, patterns):
                ids.update(self._by_number.get(number, ()))
        ids = {i for i in ids if i in self._position}
        if not ids and message.from_address:  # neither the thread nor a job number decides: the sender may
            ids = set(self._by_address.get(message.from_address, ()))
        return [self.orders[i] for i in sorted(ids, key=self._position.get)]
