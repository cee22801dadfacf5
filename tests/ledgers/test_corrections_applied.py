"""Corrections after invoicing, applied through the real connectors to both sandboxes, exactly once."""

from __future__ import annotations

import csv
import threading
from decimal import Decimal as D

import httpx
import pytest

from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import DecisionError
from ledger_backlog import REALM, TENANT
from sandbox.customer_payments import pay_invoice
from services.audit import run_audit as audit
from services.corrections import CorrectionChoice, change_evidence, correct_case, record_correction
from services.intake import pull_source
from services.prepare import prepare_batch
from services.push.batch import push_batch
from services.reconcile import reconcile
from workorders.push import PushStatus

COMPANIES = {"quickbooks": ("qbo-co", "jobs-qbo/q-backlog.csv", "Q"), "xero": ("xero-co", "jobs-xero/x-backlog.csv", "X")}


def _edit(workspace, kind: str, job: int, change) -> str:
    """Change one job's rows in its company's CSV (``change(rows)`` edits them in place); its work order id."""
    _, path, prefix = COMPANIES[kind]
    file = workspace / path
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, list(reader)
    job_id = f"{prefix}{40000 + job}"
    mine = [row for row in rows if row["job_id"] == job_id]
    change(mine)
    for row in mine:
        row["updated_at"] = row["updated_at"].replace(":00+13:00", ":59+13:00")
    rows = [row for row in rows if row["job_id"] != job_id] + mine
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return f"csv:{job_id}"


def _run(app) -> None:
    for company in app.companies():
        for source in company.sources:
            pull_source(app, company, source)
    while prepare_batch(app, run_id="corrections").evaluated:
        pass
    for company in app.companies():
        push_batch(app, company, limit=10)


def _open_case(app, work_order_id: str):
    with app.store.unit_of_work() as uow:
        cases = [c for c in uow.cases.list(kinds=(CaseKind.changed_after_invoiced,))
                 if c.work_order_id == work_order_id and c.is_open]
    assert len(cases) == 1, cases
    return cases[0]


def _record(app, work_order_id: str):
    with app.store.unit_of_work() as uow:
        return next(r for r in uow.push_records.for_work_order(work_order_id) if r.status is PushStatus.pushed)


def _ledger(app, kind: str):
    return app.ledger_for(app.config.company(COMPANIES[kind][0]))


def _pay(app, kind: str, ledger_id: str, amount: D) -> None:
    pay_invoice(app.sandbox_url, app.config.company(COMPANIES[kind][0]), ledger_id, amount)


def _fault(app, kind: str, fault: str, count: int = 1) -> None:
    where = f"qbo/{REALM}" if kind == "quickbooks" else f"xero/{TENANT}"
    httpx.post(f"{app.sandbox_url}/_sandbox/{where}/faults", json={"kind": fault, "count": count}).raise_for_status()


def _clean(app) -> None:
    report = reconcile(app)
    assert report.ok, report.findings
    assert audit(app).ok


def _returned_part(rows) -> None:
    part = next(row for row in rows if row["line_kind"] == "part")
    part["quantity"] = str(int(part["quantity"]) - 1)


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_touch_of_only_the_updated_time_opens_no_case_and_sends_nothing(pushed_backlog, workspace, kind):
    app, _ = pushed_backlog
    order_id = _edit(workspace, kind, 1, lambda rows: None)
    _run(app)
    with app.store.unit_of_work() as uow:
        assert not [c for c in uow.cases.list() if c.work_order_id == order_id]
        assert len(uow.work_orders.versions(order_id)) == 2
    _clean(app)


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_returned_part_on_an_unpaid_invoice_updates_it_in_place_once(pushed_backlog, workspace, kind):
    app, _ = pushed_backlog
    reconcile(app)  # reads each invoice's payment: unpaid, so the plan is an edit in place
    order_id = _edit(workspace, kind, 1, _returned_part)
    before = _record(app, order_id)
    _run(app)
    case = _open_case(app, order_id)
    assert change_evidence(case)["plan"]["path"] == "amend"

    report = correct_case(app, case.id, actor="casey")

    assert report.outcome == "applied", report.lines()
    invoice = _ledger(app, kind).read_invoice(before.ledger_id)
    assert invoice.subtotal < before.amount and invoice.doc_number == before.doc_number
    assert [i.ledger_id for i in _ledger(app, kind).find_invoices([before.doc_number])] == [before.ledger_id]
    with pytest.raises(DecisionError):
        correct_case(app, case.id, actor="casey")  # decided: the case is resolved
    _run(app)  # a second run changes nothing: the corrected version is invoiced
    with app.store.unit_of_work() as uow:
        assert [c.status for c in uow.cases.list() if c.work_order_id == order_id] == [CaseStatus.resolved]
        assert len(uow.push_records.for_work_order(order_id)) == 1
        assert any(e.action == "correction_applied" for e in uow.audit.recent(limit=20))
    _clean(app)


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_an_added_line_on_a_paid_invoice_is_billed_as_a_supplementary_invoice_naming_it(pushed_backlog, workspace, kind):
    app, _ = pushed_backlog
    record = _record(app, f"csv:{COMPANIES[kind][2]}40002")
    _pay(app, kind, record.ledger_id, record.ledger_total)
    reconcile(app)

    def add_line(rows):
        rows.append({**rows[-1], "description": "Extra valve", "quantity": "1", "unit_price": "40.00"})

    order_id = _edit(workspace, kind, 2, add_line)
    _run(app)
    case = _open_case(app, order_id)
    assert change_evidence(case)["plan"]["path"] == "credit_and_reissue"

    report = correct_case(app, case.id, actor="casey")

    assert report.outcome == "applied", report.lines()
    assert [r.step.kind.value for r in report.steps] == ["supplementary_invoice"]
    extra = _ledger(app, kind).find_invoices([f"{record.doc_number}-A"])
    assert len(extra) == 1 and extra[0].subtotal == D("40.00")
    assert _ledger(app, kind).read_invoice(record.ledger_id).balance == D("0.00")  # the paid invoice is untouched
    _run(app)
    _clean(app)


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_price_cut_on_a_paid_invoice_is_one_credit_note_for_the_difference(pushed_backlog, workspace, kind):
    app, _ = pushed_backlog
    record = _record(app, f"csv:{COMPANIES[kind][2]}40000")
    _pay(app, kind, record.ledger_id, record.ledger_total)
    reconcile(app)

    def cheaper_labour(rows):
        rows[0]["unit_price"] = "90.00"

    order_id = _edit(workspace, kind, 0, cheaper_labour)
    _run(app)
    case = _open_case(app, order_id)

    record_correction(app, case.id, actor="casey")  # planned and recorded from the ledger's state, not yet sent
    _fault(app, kind, "lost_response")  # the credit note is made, its answer lost
    first = correct_case(app, case.id, actor="casey")
    assert first.outcome == "waiting", first.lines()
    second = correct_case(app, case.id, actor="casey")

    assert second.outcome == "applied", second.lines()
    credits = _ledger(app, kind).find_credit_notes([f"{record.doc_number}-CR"])
    assert len(credits) == 1 and credits[0].subtotal == D("8.00")
    _clean(app)


@pytest.mark.parametrize("kind", ["quickbooks", "xero"])
def test_a_job_cancelled_after_invoicing_voids_its_unpaid_invoice(pushed_backlog, workspace, kind):
    app, _ = pushed_backlog

    def cancel(rows):
        for row in rows:
            row["status"] = "cancelled"

    reconcile(app)
    order_id = _edit(workspace, kind, 1, cancel)
    record = _record(app, order_id)
    _run(app)
    case = _open_case(app, order_id)
    assert change_evidence(case)["plan"]["path"] == "void"

    assert correct_case(app, case.id, actor="casey").outcome == "applied"

    assert _ledger(app, kind).read_invoice(record.ledger_id).status == "VOIDED"
    _run(app)
    with app.store.unit_of_work() as uow:
        assert not [c for c in uow.cases.list() if c.work_order_id == order_id and c.is_open]
    _clean(app)


def test_keeping_the_invoice_needs_a_reason_and_sends_nothing(pushed_backlog, workspace):
    app, _ = pushed_backlog
    order_id = _edit(workspace, "quickbooks", 1, _returned_part)
    record = _record(app, order_id)
    _run(app)
    case = _open_case(app, order_id)
    with pytest.raises(DecisionError):
        correct_case(app, case.id, actor="casey", choice=CorrectionChoice.keep_invoice)

    report = correct_case(app, case.id, actor="casey", choice=CorrectionChoice.keep_invoice,
                          reason="the customer keeps the part")

    assert report.outcome == "kept"
    assert _ledger(app, "quickbooks").read_invoice(record.ledger_id).subtotal == record.amount


def test_two_workers_deciding_one_correction_at_once_send_it_once(pushed_backlog, workspace):
    app, _ = pushed_backlog
    order_id = _edit(workspace, "xero", 1, _returned_part)
    record = _record(app, order_id)
    _run(app)
    case = _open_case(app, order_id)
    outcomes: list[str] = []

    def decide() -> None:
        try:
            outcomes.append(correct_case(app, case.id, actor="casey", choice=CorrectionChoice.apply_as_credit).outcome)
        except DecisionError as exc:
            outcomes.append(f"refused: {exc}")

    workers = [threading.Thread(target=decide) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if "applied" not in outcomes:
        outcomes.append(correct_case(app, case.id, actor="casey", choice=CorrectionChoice.apply_as_credit).outcome)

    assert "applied" in outcomes, outcomes
    assert len(_ledger(app, "xero").find_credit_notes([f"{record.doc_number}-CR"])) == 1
    _clean(app)


def test_explain_lists_the_invoice_and_each_correction_with_its_ledger_ids(pushed_backlog, workspace):
    from services.explain import explain_work_order

    app, _ = pushed_backlog
    record = _record(app, "csv:X40002")
    _pay(app, "xero", record.ledger_id, record.ledger_total)
    reconcile(app)
    order_id = _edit(workspace, "xero", 2, lambda rows: rows[0].update(unit_price="110.00"))
    _run(app)
    correct_case(app, _open_case(app, order_id).id, actor="casey")

    with app.store.unit_of_work() as uow:
        explained = explain_work_order(uow, order_id)

    (invoice, supplement) = explained.documents()
    assert invoice.startswith(f"invoice {record.doc_number} for {record.amount} NZD (version 1) in xero [{record.ledger_id}]")
    assert "paid in the ledger" in invoice
    assert supplement.startswith(f"version 1 -> 2: supplementary invoice {record.doc_number}-A for 12.00 before tax in xero [")
    assert supplement.endswith(": done (by casey)")
    assert explained.ending().startswith(f"invoiced through a correction of invoice {record.doc_number}: supplementary")


def test_a_policy_of_amendments_applies_an_unpaid_invoices_update_by_itself_and_leaves_a_credit_to_a_person(
        pushed_backlog, workspace):
    from services.config import CorrectionPolicy
    from services.corrections import POLICY_ACTOR, apply_by_policy

    app, _ = pushed_backlog
    reconcile(app)
    paid = _record(app, "csv:Q40000")
    _pay(app, "quickbooks", paid.ledger_id, paid.ledger_total)
    unpaid_id = _edit(workspace, "quickbooks", 1, _returned_part)
    paid_id = _edit(workspace, "quickbooks", 0, lambda rows: rows[0].update(unit_price="90.00"))
    _run(app)
    company = app.config.company("qbo-co").model_copy(
        update={"corrections": CorrectionPolicy(apply="amendments", up_to="50.00")})

    outcomes = apply_by_policy(app, company)

    assert outcomes == {"applied": 1, "left_for_a_person": 1}
    with app.store.unit_of_work() as uow:
        (done,) = [uow.cases.get(c.id) for c in uow.cases.list() if c.work_order_id == unpaid_id]
        (waiting,) = [c for c in uow.cases.list() if c.work_order_id == paid_id]
    assert done.status is CaseStatus.resolved and done.history[-1].actor == POLICY_ACTOR
    assert waiting.is_open
    assert _ledger(app, "quickbooks").find_credit_notes([f"{paid.doc_number}-CR"]) == []
    assert apply_by_policy(app, company) == {"left_for_a_person": 1}  # nothing more by itself


def test_deciding_again_after_another_worker_finished_the_correction_plans_nothing_new(pushed_backlog, workspace):
    from exceptions_queue.service import CaseQueue
    from services.corrections import send_steps

    app, _ = pushed_backlog
    reconcile(app)
    order_id = _edit(workspace, "quickbooks", 1, _returned_part)
    _run(app)
    case = _open_case(app, order_id)
    steps = record_correction(app, case.id, actor="worker-a")
    send_steps(app, app.config.company("qbo-co"), [s.key for s in steps])  # done, the case not closed yet

    report = correct_case(app, case.id, actor="worker-b")

    assert report.outcome == "applied" and [r.step.key for r in report.steps] == [s.key for s in steps]
    with app.store.unit_of_work() as uow:
        assert [r.status.value for r in uow.corrections.for_work_order(order_id)] == ["done"]
        assert not CaseQueue(uow.cases).get(case.id).is_open
    _clean(app)
