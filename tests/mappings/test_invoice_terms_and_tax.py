"""What a draft carries beyond its lines (terms, classes, tracking, addresses, tax codes per rate) reaches each ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.qbo import BATCH_REQUEST_ID, batch_request_id
from mappings.company_tables import MappingTables
from mappings.drafts import build_draft
from mappings.qbo import customer_addresses, to_qbo_invoice
from mappings.xero import contact_addresses, to_xero_invoice
from services.push.together import independent_chunks
from tests.mappings.test_drafts import TABLES, line, order
from workorders.work_order import Address, Customer, Site

SITE = Site(source_id="S-9", name="Foxglove Hotel", timezone="America/Chicago",
            address=Address(line1="600 Hennepin Ave", city="Minneapolis", region="MN", postal_code="55403",
                            country="US"))
BILLING = Address(line1="PO Box 12", city="St. Paul", region="MN", postal_code="55101", country="US")


def terms_tables(**fields) -> MappingTables:
    return TABLES.model_copy(update={"due_days": 30, "customer_due_days": {"C-1010": 15}, "sales_term_ref": "3",
                                     "classes": {"emergency": "200"}, "departments": {"*": "1", "S-9": "2"},
                                     "tracking": {"emergency": "Job type/Emergency"},
                                     "tax_rates": {"Minneapolis 8.025%": "MPLS"}, **fields})


def drafted(**changes):
    job = order(site=SITE, customer=Customer(source_id="C-1010", name="Foxglove Boutique Hotel",
                                             billing_address=BILLING), **changes)
    return build_draft(job, tables=terms_tables(), ledger="quickbooks")


def test_the_due_date_follows_the_customers_own_terms_over_the_companys():
    draft = drafted()
    assert draft.txn_date == date(2026, 11, 3) and draft.due_date == date(2026, 11, 18)
    other = build_draft(order(customer=Customer(source_id="C-2", name="Other")), tables=terms_tables(),
                        ledger="quickbooks")
    assert other.due_date == date(2026, 12, 3)


def test_without_terms_no_due_date_is_sent_and_the_ledger_applies_its_own():
    draft = build_draft(order(), tables=TABLES, ledger="quickbooks")
    assert draft.due_date is None and "DueDate" not in to_qbo_invoice(draft, customer_ref="58")


def test_a_qbo_invoice_is_taxed_at_the_job_site_and_carries_terms_class_and_location():
    payload = to_qbo_invoice(drafted(), customer_ref="58")
    assert payload["ShipAddr"] == {"Line1": "600 Hennepin Ave", "City": "Minneapolis", "CountrySubDivisionCode": "MN",
                                   "PostalCode": "55403", "Country": "US"}
    assert payload["BillAddr"]["City"] == "St. Paul"
    assert (payload["DueDate"], payload["SalesTermRef"], payload["ClassRef"], payload["DepartmentRef"]) == (
        "2026-11-18", {"value": "3"}, {"value": "200"}, {"value": "2"})
    assert "CurrencyRef" not in payload  # multi-currency off: QBO takes the customer's currency


def test_a_line_with_a_mapped_source_rate_gets_that_tax_code_and_others_the_taxable_default():
    draft = drafted(line_items=(line("J1:1", "part", "IGN-HSI", "1", "112.00", tax_rate="Minneapolis 8.025%"),
                                line("J1:2", "part", "IGN-HSI", "1", "10.00", tax_rate="somewhere else"),
                                line("J1:3", "fee", "TRIP-AH", "1", "149.00")))
    assert [(l.tax_code, l.taxable) for l in draft.lines] == [("MPLS", True), ("TAX", True), ("NON", False)]


def test_a_due_date_before_the_invoice_date_is_refused_before_sending():
    draft = drafted().model_copy(update={"due_date": date(2026, 11, 1)})
    with pytest.raises(ValueError, match="before the invoice date"):
        to_qbo_invoice(draft, customer_ref="58")


def test_a_xero_invoice_carries_its_due_date_and_tracking_on_every_line():
    job = order(site=SITE)
    draft = build_draft(job, tables=terms_tables(), ledger="xero")
    payload = to_xero_invoice(draft, contact_id="c-1")
    assert payload["DueDate"] == date(2026, 11, 18)
    assert {str(item["Tracking"]) for item in payload["LineItems"]} == {"[{'Name': 'Job type', 'Option': 'Emergency'}]"}


def test_new_customers_get_their_billing_and_site_addresses_in_each_ledgers_shape():
    draft = drafted()
    assert set(customer_addresses(draft)) == {"BillAddr", "ShipAddr"}
    assert contact_addresses(draft)["STREET"] == {"AddressLine1": "600 Hennepin Ave", "City": "Minneapolis",
                                                 "Region": "MN", "PostalCode": "55403", "Country": "US"}
    assert contact_addresses(draft)["POBOX"]["AddressLine1"] == "PO Box 12"


def test_tracking_must_name_a_category_and_an_option():
    with pytest.raises(ValueError, match="Category/Option"):
        MappingTables(tracking={"emergency": "Emergency"})


def test_the_batch_requestid_fits_intuits_36_characters_and_is_the_same_for_the_same_items():
    keys = [f"co-{n:032x}" for n in range(30)]
    assert len(batch_request_id(keys)) == BATCH_REQUEST_ID == 36
    assert batch_request_id(keys) == batch_request_id(list(keys)) != batch_request_id(keys[:-1])


def test_two_drafts_with_one_doc_number_never_share_a_batch():
    class Record:
        def __init__(self, doc_number: str) -> None:
            self.doc_number = doc_number

    items = [(Record(doc), {}) for doc in ("A", "B", "A", "C", "A")]
    chunks = independent_chunks(items, size=3)
    assert [[r.doc_number for r, _ in chunk] for chunk in chunks] == [["A", "B", "C"], ["A"], ["A"]]
    assert all(len({r.doc_number for r, _ in c}) == len(c) for c in chunks)
    assert Decimal(sum(len(c) for c in chunks)) == 5
