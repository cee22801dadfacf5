"""A ledger answer that is not the draft's invoice is never recorded: it is uncertain with a case, then looked up."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from connectors.source_paging import SourcePage
from exceptions_queue.cases import CaseKind, CaseStatus
from services.config import CloseoutConfig
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from tests.fakes import FakeLedger, FakeRuntime, FakeSource, company_config, csv_job
from workorders.push import PushStatus


class RewritingLedger(FakeLedger):
    """A ledger (or a proxy before it) that answers creates with something else, as ``rewrite`` says."""

    def __init__(self) -> None:
        super().__init__("quickbooks", max_batch=30)
        self.rewrite = lambda position, invoice, answers: invoice
        self.sent_to: list[tuple[str, str]] = []

    def create_invoices(self, items):
        answers = super().create_invoices(items)
        return [self.rewrite(position, answer, answers) for position, answer in enumerate(answers)]

    def send_invoice(self, ledger_id: str, *, email: str) -> None:
        self.sent_to.append((ledger_id, email))

    def create_invoice(self, payload, *, idempotency_key):
        answer = super().create_invoice(payload, idempotency_key=idempotency_key)
        return self.rewrite(0, answer, [answer])


@pytest.fixture
def site(tmp_path):
    jobs = (csv_job("J1", "1001", customer_id="C-1", customer_name="Maple Street Bakery", unit_price="120.00"),
            csv_job("J2", "1002", customer_id="C-2", customer_name="Oak Lane Dental",
                    customer_email="front@oaklane.example", unit_price="180.00"))
    ledger = RewritingLedger()
    acme = company_config()
    acme = acme.model_copy(update={"ledger": acme.ledger.model_copy(update={"send_to_customer": True})})
    app = FakeRuntime(CloseoutConfig(companies=(acme,)), home=tmp_path, ledgers={"acme": ledger},
                      sources={"csv-drop": FakeSource([SourcePage(jobs=jobs, next_cursor="p-1")])})
    company = app.config.company("acme")
    pull_source(app, company, company.sources[0])
    prepare_batch(app, run_id="run-1")
    return app, company, ledger


def state(app) -> dict[str, tuple[PushStatus, str | None]]:
    with app.store.unit_of_work() as uow:
        return {r.doc_number: (r.status, r.ledger_id) for r in uow.push_records.all()}


def answer_cases(app, status=CaseStatus.open):
    with app.store.unit_of_work() as uow:
        return uow.cases.list(statuses=(status,), kinds=[CaseKind.uncertain_push])


def test_two_drafts_answered_with_one_ledger_id_are_both_uncertain_and_then_found_by_look_up(site):
    app, company, ledger = site
    ledger.rewrite = lambda position, invoice, answers: replace(invoice, ledger_id=answers[0].ledger_id)

    step = push_batch(app, company, limit=10)

    assert (step.pushed, step.uncertain) == (0, 2)
    assert {status for status, _ in state(app).values()} == {PushStatus.uncertain}
    [case, _] = answer_cases(app)
    assert "is already recorded for another draft" in case.summary and case.severity.value == "high"

    ledger.rewrite = lambda position, invoice, answers: invoice
    assert push_batch(app, company, limit=10).pushed == 2

    after = state(app)
    assert {status for status, _ in after.values()} == {PushStatus.pushed}
    assert len({ledger_id for _, ledger_id in after.values()}) == 2
    assert len(list(ledger.list_invoices())) == 2  # looked up, never sent again
    assert answer_cases(app) == [] and len(answer_cases(app, CaseStatus.resolved)) == 2


def test_an_answer_with_another_amount_or_doc_number_is_not_recorded_and_says_how_it_differs(site):
    app, company, ledger = site
    ledger.rewrite = lambda position, invoice, answers: (
        replace(invoice, doc_number="9999", subtotal=invoice.subtotal + Decimal("1.00")) if position == 0 else invoice)

    step = push_batch(app, company, limit=10)

    assert (step.pushed, step.uncertain) == (1, 1)
    [case] = answer_cases(app)
    assert "doc number 9999, not" in case.summary and "amount " in case.summary
    assert case.evidence["answered"]["doc_number"] == "9999"
    with app.store.unit_of_work() as uow:
        ids = {r.status: r.ledger_id for r in uow.push_records.all()}
        planned = {r.status: [item for key, item in app.store.tables.evidence if key == r.idempotency_key]
                   for r in uow.push_records.all()}
    # the trusted invoice is e-mailed to its customer; nothing is planned or e-mailed for the untrusted answer
    assert planned == {PushStatus.pushed: ["email"], PushStatus.uncertain: []}
    assert [ledger_id for ledger_id, _ in ledger.sent_to] == [ids[PushStatus.pushed]]


def test_a_ledger_id_an_earlier_draft_holds_is_never_recorded_for_a_second_one(site):
    app, company, ledger = site
    ledger.max_batch = 1  # one invoice a request: the first is recorded before the second answers
    first_id: list[str] = []

    def reuse_first(position, invoice, answers):
        if not first_id:
            first_id.append(invoice.ledger_id)
            return invoice
        return replace(invoice, ledger_id=first_id[0])

    ledger.rewrite = reuse_first
    push_batch(app, company, limit=10)

    statuses = sorted(status.value for status, _ in state(app).values())
    assert statuses == ["pushed", "uncertain"]
    [case] = answer_cases(app)
    assert f"ledger id {first_id[0]} is already recorded for another draft" in case.summary
