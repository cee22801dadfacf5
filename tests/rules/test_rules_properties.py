import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.company_tables import MappingTables
from mappings.drafts import build_draft
from workorders.decisions import Outcome
from workorders.drafts import InvoiceDraft
from workorders.rules import (
    DEFAULT_RULES, InvoicedVersion, LabourRates, LabourSettings, RuleContext, RuleSettings, Verdict, evaluate,
)
from workorders.work_order import (
    Approval, Attachment, AttachmentKind, Billing, ChangeRequest, Customer, JobType, LineItem, LineKind, Note, Site,
    TimeEntry, WorkOrder, WorkOrderStatus,
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
    return LineItem(unit_cost=draw(st.one_of(st.none(), amounts)),
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
    entries = tuple(
        TimeEntry(source_id=f"T{i}", technician_id="t", start=start, end=start + timedelta(minutes=minutes),
                  billable=billable)
        for i, (start, minutes, billable) in enumerate(
            draw(st.lists(st.tuples(moments, st.integers(1, 16 * 60), st.booleans()), max_size=4)))
    )
    notes = tuple(Note(author="a", at=START, text=text) for text in draw(st.lists(st.text(max_size=5), max_size=2)))
    changes = tuple(ChangeRequest(source_id=f"CR{i}", description="more", amount=amount, approved=approved)
                    for i, (amount, approved) in enumerate(draw(st.lists(st.tuples(amounts, st.booleans()), max_size=2))))
    return WorkOrder(
        time_entries=entries, notes=notes, change_requests=changes, billing=draw(st.sampled_from(Billing)),
        currency=draw(st.sampled_from(["USD", "CAD"])),
        source=draw(st.sampled_from(["csv", "jobber"])), external_id=draw(st.text("abcXYZ0123-", min_size=1, max_size=8)),
        job_number=draw(st.text("0123456789", min_size=1, max_size=8)), company="northwind",
        customer=Customer(source_id="C", name=draw(st.text(max_size=20)),
                          email=draw(st.one_of(st.none(), st.just("a@b.example"), st.text(max_size=6)))),
        site=Site(name="site", timezone=draw(st.sampled_from(["UTC", "America/Chicago", "Pacific/Auckland"]))),
        job_type=draw(st.sampled_from(JobType)), status=draw(st.sampled_from(WorkOrderStatus)),
        line_items=lines, approvals=approvals, attachments=attachments,
        completed_at=draw(st.one_of(st.none(), moments)), updated_at=draw(moments), version=draw(st.integers(0, 9)),
    )


optional_rates = st.one_of(st.none(), amounts)
rule_settings = st.builds(
    RuleSettings,
    require_sign_off=st.booleans(),
    approval_threshold=amounts,
    send_invoices_by_email=st.booleans(),
    disabled=st.frozensets(st.sampled_from([r.id for r in DEFAULT_RULES]), max_size=2),
    labour_from_time_entries=st.builds(
        LabourSettings,
        rates=st.builds(LabourRates, normal=optional_rates, after_hours=optional_rates, emergency=optional_rates),
        increment_minutes=st.integers(1, 60),
        minimum_hours=st.decimals(min_value=0, max_value=4, places=2),
        tolerance_hours=st.decimals(min_value=0, max_value=2, places=2),
    ),
)


@st.composite
def contexts(draw, order: WorkOrder) -> RuleContext:
    invoiced = tuple(InvoicedVersion(version=v, ledger="quickbooks", doc_number="NW-1", status="pushed", amount=a)
                     for v, a in draw(st.lists(st.tuples(st.integers(0, 9), amounts), max_size=2)))
    twins = tuple(order.model_copy(update={"external_id": order.external_id + suffix, "source": source})
                  for suffix, source in draw(st.lists(st.tuples(st.sampled_from("xyz"), st.sampled_from(["csv", "hcp"])),
                                                      max_size=2)))
    return RuleContext(ledger_currency=draw(st.sampled_from([None, "USD"])), invoiced=invoiced,
                       possible_duplicates=twins)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), order=work_orders(), company=rule_settings)
def test_rules_never_raise_and_every_applicable_rule_decides_once(data, order, company):
    context = data.draw(contexts(order))
    evaluation = evaluate(order, company, run_id="prop", context=context)
    enabled = [r.id for r in DEFAULT_RULES if r.enabled_for(company) and r.applies_to(order, company)]
    assert [d.rule_id for d in evaluation.decisions] == enabled
    assert not [d.reason for d in evaluation.decisions if "failed:" in d.reason or "malformed" in d.reason]
    outcomes = {d.outcome for d in evaluation.decisions}
    overriding = any(d.rule_id == "not_invoiced_before" and d.outcome is Outcome.block for d in evaluation.decisions)
    if overriding:
        expected = Verdict.blocked
    elif Outcome.no_invoice in outcomes:
        expected = Verdict.no_invoice
    else:
        expected = Verdict.blocked if Outcome.block in outcomes else Verdict.ready
    assert evaluation.verdict is expected
    assert bool(evaluation.anomalies) == (expected is Verdict.blocked)
    assert (evaluation.order.id, evaluation.order.version) == (order.id, order.version)
    json.loads(json.dumps([d.evidence for d in evaluation.decisions]), parse_float=refuse_float)
    assert evaluate(order, company, run_id="prop", context=context) == evaluation


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
@given(order=work_orders(priced=True), company=rule_settings)
def test_the_draft_of_the_evaluated_order_totals_its_lines_exactly_and_holds_no_float(order, company):
    evaluation = evaluate(order, company, run_id="prop")
    draft = build_draft(evaluation.order, tables=TABLES, ledger="quickbooks")
    assert isinstance(draft, InvoiceDraft), draft
    assert draft.total == sum((line.amount for line in draft.lines), Decimal(0)) == evaluation.order.subtotal
    assert all(isinstance(line.quantity, Decimal) and isinstance(line.unit_price, Decimal) for line in draft.lines)
    json.loads(draft.model_dump_json(), parse_float=refuse_float)
    assert no_floats(draft.model_dump(mode="json")) and no_floats(draft.model_dump())


@settings(max_examples=200, deadline=None)
@given(order=work_orders(priced=True))
def test_a_draft_totals_its_order_exactly_and_holds_no_float(order):
    draft = build_draft(order, tables=TABLES, ledger="quickbooks")
    assert isinstance(draft, InvoiceDraft), draft
    assert draft.total == sum((line.amount for line in draft.lines), Decimal(0)) == order.subtotal
    json.loads(draft.model_dump_json(), parse_float=refuse_float)
    assert no_floats(draft.model_dump(mode="json")) and no_floats(draft.model_dump())
