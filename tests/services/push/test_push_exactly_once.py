"""Exactly one invoice per work order version, even when the ledger's answer to a create was lost."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta


from services.push.batch import push_batch
from mappings.qbo import to_qbo_invoice
from workorders.push import PushStatus


def push_all(app, company, *, limit: int = 30) -> None:
    while (step := push_batch(app, company, limit=limit)).pushed + step.rejected + step.uncertain:
        pass


def test_an_uncertain_push_whose_invoice_did_land_is_found_in_the_ledger_and_not_sent_again(prepared_app):
    app, company = prepared_app
    ledger = app.ledger_for(company)
    with app.store.unit_of_work() as uow:
        record = uow.push_records.claim(ledger=company.ledger.kind, company=company.id, limit=1)[0]
        uow.commit()
    # The create reached the ledger but its answer was lost: the ledger has the invoice, we only know "uncertain".
    # It landed under another request id, so the ledger's requestid replay cannot save us: only the look-up can.
    customer = ledger.create_customer(name=record.draft.customer_name, email=record.draft.customer_email)
    landed = ledger.create_invoice(to_qbo_invoice(record.draft, customer_ref=customer),
                                   idempotency_key="an-earlier-request-id")
    with app.store.unit_of_work() as uow:
        uow.push_records.mark(record.idempotency_key, PushStatus.uncertain, error="read timeout")
        uow.commit()

    push_all(app, company)

    with app.store.unit_of_work() as uow:
        after = uow.push_records.get(record.idempotency_key)
        ready = uow.push_records.all(status=PushStatus.ready)
    by_doc = Counter(invoice.doc_number for invoice in ledger.list_invoices())
    assert after.status is PushStatus.pushed
    assert after.ledger_id == landed.ledger_id
    assert by_doc[record.doc_number] == 1
    assert max(by_doc.values()) == 1
    assert ready == []


def test_a_worker_killed_after_sending_leaves_nothing_to_send_twice_once_its_claims_are_released(prepared_app):
    app, company = prepared_app
    ledger = app.ledger_for(company)
    with app.store.unit_of_work() as uow:
        claimed = uow.push_records.claim(ledger=company.ledger.kind, company=company.id, limit=5)
        uow.commit()
    # The worker sent all five, then died before recording anything: the rows stay "pushing".
    for record in claimed:
        customers = ledger.find_customers(name=record.draft.customer_name, email=record.draft.customer_email)
        customer = customers[0] if customers else ledger.create_customer(
            name=record.draft.customer_name, email=record.draft.customer_email)
        ledger.create_invoice(to_qbo_invoice(record.draft, customer_ref=customer),
                              idempotency_key=record.idempotency_key)
    with app.store.unit_of_work() as uow:
        released = uow.push_records.release_stale(timedelta(0))
        uow.commit()

    push_all(app, company)

    invoices = list(ledger.list_invoices())
    with app.store.unit_of_work() as uow:
        pushed = uow.push_records.all(status=PushStatus.pushed)
    assert released == 5
    assert len(invoices) == len(pushed) > 5
    assert len({invoice.doc_number for invoice in invoices}) == len(invoices)


def test_a_draft_rebuilt_after_the_ledger_refused_it_is_accepted_and_invoiced_once(prepared_app):
    app, company = prepared_app
    with app.store.unit_of_work() as uow:
        record = uow.push_records.all(status=PushStatus.ready)[0]
        first_line = record.draft.lines[0].model_copy(update={"item_ref": "999999"})
        broken = record.draft.model_copy(update={"lines": (first_line, *record.draft.lines[1:])})
        uow.push_records.mark(record.idempotency_key, PushStatus.rejected, error="set up")
        uow.push_records.refresh_rejected(broken)
        uow.commit()
    push_all(app, company, limit=1)  # one create call each, as a replay sends it
    with app.store.unit_of_work() as uow:
        assert uow.push_records.get(record.idempotency_key).status is PushStatus.rejected
        # The coordinator fixes the mapping: the draft is rebuilt with the right item and sent again.
        uow.push_records.refresh_rejected(record.draft)
        uow.commit()

    push_all(app, company, limit=1)  # one create call each, as a replay sends it

    with app.store.unit_of_work() as uow:
        after = uow.push_records.get(record.idempotency_key)
    by_doc = Counter(invoice.doc_number for invoice in app.ledger_for(company).list_invoices())
    assert after.status is PushStatus.pushed
    assert by_doc[record.doc_number] == 1
