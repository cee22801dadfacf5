import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.company_tables import MappingTables
from mappings.drafts import build_draft
from workorders.decisions import Outcome
from workorders.drafts import InvoiceDraft
from workorders.rules import DEFAULT_RULES, RuleSettings, Verdict, evaluate
from workorders.work_order import (
    Approval, Attachment, AttachmentKind, Customer, JobType, LineItem, LineKind, Site, WorkOrder, WorkOrderStatus,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = MappingTables(
    default_items={kind.value: str(i) for i, kind in enumerate(LineKind, start=1)},
    tax_codes={"taxable": "TAX", "exempt": "NON"},
)

moments = st.integers(0, 400 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
amounts = st.decimals(min_value=0, max_value=Decimal("20000"), places=2, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=Decimal("500"), places=3, allow_nan=False, allow_infinity=False)


@st.composite
def line_items(draw, index: int, priced: bool) -> LineItem:
    price = draw(amounts if priced else st.one_of(st.none(), amounts))
    return LineItem(
        source_id=f"L{index}", kind=draw(st.sampled_from(LineKind)), description=draw(st.text(max_size=20)),
        quantity=draw(quantities), unit_price=price, item_code=draw(st.one_of(st.none(), st.sampled_from(["A", "B"]))),
        taxable=draw(st.booleans()),
    )


@st.composite
def work_orders(draw, priced: bool = False) -> WorkOrder:
    count = draw(st.integers(0, 6))
    lines = tuple(draw(line_items(index=i, priced=priced)) for i in range(count))
    approvals = tuple(
        Approval(kind=kind, approved_by="someone", approved_at=draw(moments))
        for kind in draw(st.lists(st.sampled_from(["sign_off", "amount", "work"]), max_size=3))
    )
    attachments = tuple(
        Attachment(content_hash=f"{i:064x}", file_name=f"f{i}", kind=kind)
        for i, kind in enumerate(draw(st.lists(st.sampled_from(AttachmentKind), max_size=3)))
    )
    return WorkOrder(
        source="csv", external_id=draw(st.text("abcXYZ0123-", min_size=1, max_size=8)),
        job_number=draw(st.text("0123456789", min_size=1, max_size=8)), company="northwind",
        customer=Customer(source_id="C", name=draw(st.text(max_size=20))),
        site=Site(name="site", timezone=draw(st.sampled_from(["UTC", "America/Chicago", "Pacific/Auckland"]))),
        job_type=draw(st.sampled_from(JobType)), status=draw(st.sampled_from(WorkOrderStatus)),
        line_items=lines, approvals=approvals, attachments=attachments,
        completed_at=draw(st.one_of(st.none(), moments)), updated_at=draw(moments), version=draw(st.integers(0, 9)),
    )


rule_settings = st.builds(
    RuleSettings,
    require_sign_off=st.booleans(),
    approval_threshold=amounts,
    disabled=st.frozensets(st.sampled_from([r.id for r in DEFAULT_RULES]), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(order=work_orders(), company=rule_settings)
def test_evaluate_never_raises_and_every_applicable_rule_decides_once(order, company):
    evaluation = evaluate(order, company, run_id="prop")
    enabled = [r.id for r in DEFAULT_RULES if r.id not in company.disabled and r.applies_to(order)]
    assert [d.rule_id for d in evaluation.decisions] == enabled
    outcomes = {d.outcome for d in evaluation.decisions}
    if Outcome.no_invoice in outcomes:
        expected = Verdict.no_invoice
    else:
        expected = Verdict.blocked if Outcome.block in outcomes else Verdict.ready
    assert evaluation.verdict is expected
    assert len(evaluation.anomalies) == (1 if expected is Verdict.blocked else 0)


def no_floats(value) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(no_floats(v) for v in value)
    return True


def refuse_float(text: str):
    raise AssertionError(f"a float in the draft's JSON: {text}")


@settings(max_examples=300, deadline=None)
@given(order=work_orders(priced=True))
def test_a_draft_totals_its_order_exactly_and_holds_no_float(order):
    draft = build_draft(order, tables=TABLES, ledger="quickbooks")
    assert isinstance(draft, InvoiceDraft), draft
    assert draft.total == sum((line.amount for line in draft.lines), Decimal(0)) == order.subtotal
    json.loads(draft.model_dump_json(), parse_float=refuse_float)
    assert no_floats(draft.model_dump(mode="json")) and no_floats(draft.model_dump())
