"""Fixing a line price from the queue, through the desk the UI uses, on the demo in SQLite and the ledger sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.casework import StoreDesk
from closeout.settings import Settings
from services.intake import pull_source
from services.prepare import judge, prepare_batch
from services.push.batch import push_batch
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseKind, CaseStatus
from exceptions_queue.desk import CaseFilters, DecisionError
from exceptions_queue.users import Role, User
from workorders.push import PushStatus

DANA = User(username="dana", role=Role.coordinator)


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The demo pulled, prepared and pushed: jobs 1006 and 1034 are blocked by a part without a price."""
    settings = Settings(home=tmp_path_factory.mktemp("fix-price") / "workspace", database_url=None, config=None)
    config = install_demo_config(settings.resolved_home())
    with open_app(settings=settings, config_path=config) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="fix-price-test").evaluated:
            pass
        for company in app.companies():
            while (step := push_batch(app, company)).pushed + step.rejected + step.uncertain:
                pass
        yield app


def blocked_case(app, job_number: str):
    desk = StoreDesk(app)
    for case in desk.list_cases(CaseFilters(kinds=(CaseKind.rule_blocked,), statuses=tuple(CaseStatus))):
        order = desk.context(case.id).work_order
        if order and order["job_number"] == job_number and "price" in case.summary:
            return case, order
    raise AssertionError(f"no rule_blocked case about job {job_number}'s prices")


def unpriced_line(order) -> str:
    return next(line["source_id"] for line in order["line_items"] if line["unit_price"] is None)


def test_fixing_the_unpriced_line_of_job_1006_invoices_it_at_that_price_and_resolves_the_case(demo_app):
    case, order = blocked_case(demo_app, "1006")
    line = unpriced_line(order)

    done = StoreDesk(demo_app).fix_price(case.id, actor=DANA, line=line, price="240.00", reason="price list 2026")

    assert done.status is CaseStatus.resolved
    assert [h.action for h in done.history][-3:] == ["price_fixed", "replayed", "auto_resolved"]
    fixed = next(h for h in done.history if h.action == "price_fixed")
    assert fixed.before == {f"{line} unit price": None} and fixed.after == {f"{line} unit price": "240.00"}
    assert fixed.actor == "dana" and "price list 2026" in fixed.note
    with demo_app.store.unit_of_work() as uow:
        record = next(r for r in uow.push_records.for_work_order(case.work_order_id)
                      if r.work_order_version == case.work_order_version)
    assert record.status is PushStatus.pushed
    assert any(draft_line.unit_price == Decimal("240.00") for draft_line in record.draft.lines)
    invoices = demo_app.ledger_for(demo_app.config.company(case.company)).find_invoices([record.doc_number])
    assert [i.subtotal for i in invoices] == [record.amount]  # the lines, before the tax the ledger adds


def test_when_the_source_changes_the_fixed_line_afterwards_the_source_price_wins(demo_app):
    case, order = blocked_case(demo_app, "1034")
    line = unpriced_line(order)
    StoreDesk(demo_app).fix_price(case.id, actor=DANA, line=line, price="55.00", reason="customer agreed")
    company = demo_app.config.company(case.company)
    with demo_app.store.unit_of_work() as uow:
        stored = uow.work_orders.get(case.work_order_id, case.work_order_version)
        fixed = judge(uow, company, stored, run_id="t").order
        repriced = stored.model_copy(update={"line_items": tuple(
            item.model_copy(update={"unit_price": Decimal("61.50")}) if item.source_id == line else item
            for item in stored.line_items)})
        from_source = judge(uow, company, repriced, run_id="t").order

    def price(o):
        return next(item.unit_price for item in o.line_items if item.source_id == line)

    assert price(fixed) == Decimal("55.00")
    assert price(from_source) == Decimal("61.50")


def test_a_viewer_or_finance_cannot_fix_a_price_and_nothing_is_recorded(demo_app):
    case, order = blocked_case(demo_app, "1006")
    desk = StoreDesk(demo_app)
    before = len(desk.context(case.id).case.history)
    for role in (Role.viewer, Role.finance):
        with pytest.raises(PermissionError):
            desk.fix_price(case.id, actor=User(username="vic", role=role), line=unpriced_line(order), price="1",
                           reason="x")
    assert len(desk.context(case.id).case.history) == before


@pytest.mark.parametrize("price, words", [("abc", "number"), ("-5", "negative"), ("", "number"),
                                          ("1.23456", "decimal places")])
def test_a_bad_price_or_a_missing_reason_is_refused_with_a_clear_message(demo_app, price, words):
    case, order = blocked_case(demo_app, "1006")
    desk = StoreDesk(demo_app)
    with pytest.raises(DecisionError, match=words):
        desk.fix_price(case.id, actor=DANA, line=unpriced_line(order), price=price, reason="typo")
    with pytest.raises(DecisionError, match="why"):
        desk.fix_price(case.id, actor=DANA, line=unpriced_line(order), price="10", reason="  ")
