from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from workorders.decisions import Outcome
from workorders.rules import InvoicedVersion, RuleContext, RuleSettings
from workorders.rules.billing import check_no_charge
from workorders.rules.evidence import check_note, check_photos
from workorders.rules.integrity import (
    check_billing_email, check_change_requests, check_currency, check_duplicate, check_not_invoiced,
)
from workorders.rules.lines import check_below_cost, check_item_codes
from workorders.work_order import (
    Address, Attachment, AttachmentKind, Billing, ChangeRequest, Customer, JobType, Note, Site, WorkOrderStatus,
)

DEFAULTS = RuleSettings()
EMAILING = RuleSettings(send_invoices_by_email=True)
AT = datetime(2026, 11, 3, 20, 40, tzinfo=UTC)


def photo(kind: AttachmentKind, name: str) -> Attachment:
    return Attachment(content_hash=name.encode().hex().ljust(64, "0")[:64], file_name=name, kind=kind)


BEFORE, AFTER = photo(AttachmentKind.photo_before, "before.jpg"), photo(AttachmentKind.photo_after, "after.jpg")


@pytest.mark.parametrize(("attachments", "outcome", "missing"), [
    ((BEFORE, AFTER), Outcome.passed, None),
    ((BEFORE,), Outcome.block, ["photo_after"]),
    ((AFTER,), Outcome.block, ["photo_before"]),
    ((), Outcome.block, ["photo_before", "photo_after"]),
    ((photo(AttachmentKind.photo, "any.jpg"),), Outcome.block, ["photo_before", "photo_after"]),
])
def test_an_installation_needs_a_before_and_an_after_photo(build, attachments, outcome, missing):
    found = check_photos.check(build.order(job_type=JobType.installation, attachments=attachments), DEFAULTS)
    assert found.outcome is outcome
    assert found.evidence.get("missing") == missing


def test_the_photo_rule_runs_for_installations_unless_the_company_names_other_job_types(build):
    assert check_photos.applies_to(build.order(job_type=JobType.installation), DEFAULTS)
    assert not check_photos.applies_to(build.order(), DEFAULTS)
    wider = RuleSettings(photos_before_after={"job_types": ["installation", "corrective"]})
    assert check_photos.applies_to(build.order(), wider)


def test_a_completed_job_needs_a_note_and_a_blank_one_does_not_count(build):
    assert check_note.check(build.order(), DEFAULTS).outcome is Outcome.passed
    found = check_note.check(build.order(notes=()), DEFAULTS)
    assert (found.outcome, found.reason) == (Outcome.block, "completed without a job note")
    blank = (Note(author="x", at=AT, text="   "),)
    assert check_note.check(build.order(notes=blank), DEFAULTS).outcome is Outcome.block
    assert check_note.check(build.order(notes=(), status=WorkOrderStatus.on_hold), DEFAULTS).outcome is Outcome.passed


@pytest.mark.parametrize(("kind", "code", "outcome"), [
    ("part", None, Outcome.block), ("material", "  ", Outcome.block), ("part", "CAP-45-5", Outcome.passed),
    ("labour", None, Outcome.passed), ("fee", None, Outcome.passed),
])
def test_parts_and_materials_need_an_item_code(build, kind, code, outcome):
    order = build.order(line_items=(build.line(kind, "10.00", item_code=code),))
    assert check_item_codes.check(order, DEFAULTS).outcome is outcome


@pytest.mark.parametrize(("price", "cost", "outcome"), [
    ("12.00", "16.00", Outcome.warn), ("15.99", "16.00", Outcome.warn), ("16.00", "16.00", Outcome.passed),
    ("64.00", "16.00", Outcome.passed), ("12.00", None, Outcome.passed),
])
def test_a_part_billed_below_cost_warns(build, price, cost, outcome):
    line = build.line("part", price, unit_cost=None if cost is None else Decimal(cost), description="Contactor")
    found = check_below_cost.check(build.order(line_items=(line,)), DEFAULTS)
    assert found.outcome is outcome
    if outcome is Outcome.warn:
        assert found.reason == f"1 line(s) priced below cost: 'Contactor' at {price} (cost {cost})"


def test_a_labour_line_below_its_cost_is_not_a_part_below_cost(build):
    line = build.line("labour", "10.00", unit_cost=Decimal("48.00"))
    assert check_below_cost.check(build.order(line_items=(line,)), DEFAULTS).outcome is Outcome.passed


def test_a_change_request_without_an_amount_warns_and_bills_nothing(build):
    unpriced = ChangeRequest(source_id="CR-2", description="Check the cooler gasket next time")
    found = check_change_requests.check(build.order(change_requests=(unpriced,)), DEFAULTS)
    assert found.outcome is Outcome.warn and found.evidence["pending"][0]["change_request"] == "CR-2"


def test_a_change_request_is_billed_only_once_approved(build):
    pending = ChangeRequest(source_id="CR-1", description="Add a second thermostat", amount="219.00")
    found = check_change_requests.check(build.order(change_requests=(pending,)), DEFAULTS)
    assert found.outcome is Outcome.block
    assert found.reason == "1 change request(s) with an amount not approved: CR-1 (219.00)"
    assert found.evidence["pending"][0]["description"] == "Add a second thermostat"
    approved = pending.model_copy(update={"approved": True})
    assert check_change_requests.check(build.order(change_requests=(approved,)), DEFAULTS).outcome is Outcome.passed
    by_approval = build.approval("change_request").model_copy(update={"reference": "CR-1"})
    order = build.order(change_requests=(pending,), approvals=(by_approval,))
    assert check_change_requests.check(order, DEFAULTS).outcome is Outcome.passed


@pytest.mark.parametrize("billing", [Billing.warranty, Billing.no_charge])
def test_warranty_and_no_charge_jobs_get_no_invoice_and_say_so(build, billing):
    found = check_no_charge.check(build.order(billing=billing), DEFAULTS)
    assert found.outcome is Outcome.no_invoice and found.evidence == {"billing": billing.value}
    assert check_no_charge.check(build.order(), DEFAULTS).outcome is Outcome.passed


def test_a_job_changed_after_it_was_invoiced_is_blocked_with_the_earlier_invoice_as_evidence(build):
    invoiced = InvoicedVersion(version=2, ledger="quickbooks", doc_number="NW-1001", status="pushed",
                               amount="214.00", ledger_id="130")
    found = check_not_invoiced.check(build.order(), DEFAULTS, RuleContext(invoiced=(invoiced,)))
    assert found.outcome is Outcome.block
    assert found.reason.startswith("changed after version 2 was invoiced (NW-1001, 214.00)")
    assert (found.evidence["invoiced_version"], found.evidence["ledger_id"], found.evidence["new_version"]) == (
        2, "130", 3)
    same_version = invoiced.model_copy(update={"version": 3})
    assert check_not_invoiced.check(build.order(), DEFAULTS, RuleContext(invoiced=(same_version,))).outcome \
        is Outcome.passed


def twin(build, **changes):
    fields = {"external_id": "J2", "job_number": "1002", "source": "jobber",
              "updated_at": AT + timedelta(minutes=5)} | changes
    return build.order(**fields)


def test_the_later_of_two_look_alike_jobs_is_blocked_as_a_duplicate_across_sources(build):
    first, later = build.order(), twin(build)
    found = check_duplicate.check(later, DEFAULTS, RuleContext(possible_duplicates=(first,)))
    assert found.outcome is Outcome.block
    assert found.reason == "looks like job 1001 (csv:J1): same customer, site, day 2026-11-03 and amount 214.00"
    assert found.evidence["look_alikes"] == [{"work_order": "csv:J1", "job_number": "1001", "source": "csv",
                                              "version": 3}]
    earlier = check_duplicate.check(first, DEFAULTS, RuleContext(possible_duplicates=(later,)))
    assert earlier.outcome is Outcome.passed and "first of 2" in earlier.reason


@pytest.mark.parametrize("change", [
    {"customer": Customer(source_id="C-9", name="Another Customer")},
    {"site": Site(name="Other site", address=Address(line1="1 Main St"))},
    {"completed_at": AT + timedelta(days=1)},
    {"line_items": ()},
    {"status": WorkOrderStatus.cancelled},
])
def test_a_job_differing_in_customer_site_day_or_amount_or_cancelled_is_not_a_duplicate(build, change):
    other = build.order(**change)
    found = check_duplicate.check(twin(build), DEFAULTS, RuleContext(possible_duplicates=(other,)))
    assert found.outcome is Outcome.passed


def test_the_same_customer_is_recognised_by_spelling_or_billing_email(build):
    first = build.order(customer=Customer(source_id="C-1", name="MAPLE STREET BAKERY!", email="a@b.example"))
    later = twin(build, customer=Customer(source_id="jb-77", name="Maple St Bakery", email="A@B.example"))
    assert check_duplicate.check(later, DEFAULTS, RuleContext(possible_duplicates=(first,))).outcome is Outcome.block


@pytest.mark.parametrize(("email", "outcome"), [
    ("ap@maple.example", Outcome.passed), (None, Outcome.block), ("  ", Outcome.block), ("not-an-email", Outcome.block),
])
def test_a_company_that_emails_invoices_needs_the_customers_billing_email(build, email, outcome):
    order = build.order(customer=Customer(source_id="C-1", name="Maple", email=email))
    assert check_billing_email.check(order, EMAILING).outcome is outcome
    assert check_billing_email.check(order, DEFAULTS).outcome is Outcome.passed


@pytest.mark.parametrize(("currency", "ledger", "outcome"), [
    ("USD", "USD", Outcome.passed), ("CAD", "USD", Outcome.block), ("usd", "USD", Outcome.passed),
    ("CAD", None, Outcome.passed),
])
def test_the_jobs_currency_must_be_the_ledgers(build, currency, ledger, outcome):
    found = check_currency.check(build.order(currency=currency), DEFAULTS, RuleContext(ledger_currency=ledger))
    assert found.outcome is outcome
    if outcome is Outcome.block:
        assert found.reason.startswith("job is in CAD but the ledger books in USD only (multi-currency is off")
