"""A push batch asks the ledger little: one look-up for all its maybe-landed records, each customer once a run.

Found by the fault campaign (make reliability): every batch looked each customer up again and each retried
record up on its own, so with a few percent of ledger calls failing almost no batch got through (thousands
of drafts waiting, a handful pushed a minute).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from services.push.batch import push_batch


def count_calls(ledger, names: tuple[str, ...]) -> Counter:
    """Count the calls of these methods on the real connector (each still goes to the sandbox)."""
    calls: Counter = Counter()
    for name in names:
        method = getattr(ledger, name)

        def counted(*args, _method=method, _name=name, **kwargs):
            calls[_name] += 1
            return _method(*args, **kwargs)

        setattr(ledger, name, counted)
    return calls


def test_retried_records_are_looked_up_together_and_known_customers_are_not_looked_up_again(prepared_app):
    app, company = prepared_app
    with app.store.unit_of_work() as uow:  # a worker claimed them all, then died before sending any
        held = uow.push_records.claim(ledger=company.ledger.kind, company=company.id, limit=100)
        uow.push_records.release_stale(timedelta(0), ledger=company.ledger.kind)
        uow.commit()
    customers = len({(r.draft.customer_name, r.draft.customer_email) for r in held if not r.draft.customer_ref})
    calls = count_calls(app.ledger_for(company), ("find_invoices", "find_customers"))

    batches = pushed = 0
    while step := push_batch(app, company, limit=5).pushed:  # one run, many small batches
        batches, pushed = batches + 1, pushed + step

    assert pushed == len(held) > 10 and batches > 2
    assert calls["find_invoices"] == batches  # one look-up a batch, not one a record
    assert calls["find_customers"] == customers < len(held)  # each customer once a run, not once a batch
    assert len(app.customer_refs[company.id]) == customers


def test_drafts_pushed_one_by_one_are_looked_up_in_one_call_when_existing_invoices_are_adopted(prepared_app):
    from services.push.keys import push_keys

    app, company = prepared_app
    company = company.model_copy(update={"ledger": company.ledger.model_copy(update={"adopt_existing": True})})
    with app.store.unit_of_work() as uow:
        keys = [r.idempotency_key for r in uow.push_records.claim(ledger=company.ledger.kind, company=company.id, limit=6)]
        uow.push_records.release_stale(timedelta(0), ledger=company.ledger.kind)
        uow.commit()
    calls = count_calls(app.ledger_for(company), ("find_invoices",))

    counts = push_keys(app, company, keys)  # a replay sends its drafts one by one

    assert counts.pushed == len(keys) == 6
    assert calls["find_invoices"] == 1  # one look-up for the six, not one an invoice
