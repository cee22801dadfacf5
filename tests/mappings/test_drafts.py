from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from mappings.company_tables import MappingTables, parse_mapping_tables
from mappings.drafts import build_draft
from workorders.anomalies import Anomaly, AnomalyCode
from workorders.drafts import InvoiceDraft
from workorders.work_order import (
    Attachment, AttachmentKind, Customer, JobType, LineItem, LineKind, Site, WorkOrder, WorkOrderStatus,
)

# 21:40 in Chicago on 3 November is 03:40 UTC on the 4th: the invoice must be dated the 3rd.
EVENING = datetime(2026, 11, 4, 3, 40, tzinfo=UTC)
TABLES = MappingTables(
    items={"LAB-AH": "1", "IGN-HSI": "2", "DISC-PLAN": "5"},
    default_items={"labour": "1", "fee": "4", "discount": "5"},
    tax_codes={"taxable": "TAX", "exempt": "NON"},
    customers={"C-1010": "58"},
    doc_number_prefix="NW-",
)


def line(source_id: str, kind: str, code: str | None, quantity: str, price: str | None, **fields) -> LineItem:
    return LineItem(source_id=source_id, kind=LineKind(kind), description=fields.pop("description", f"{kind} {code}"),
                    quantity=Decimal(quantity), unit_price=None if price is None else Decimal(price), item_code=code,
                    taxable=kind in ("part", "material"), **fields)


def order(**changes) -> WorkOrder:
    fields = {
        "source": "csv", "external_id": "J20512", "job_number": "1052", "company": "northwind", "version": 2,
        "customer": Customer(source_id="C-1010", name="Foxglove Boutique Hotel", email="eng@foxglove.example"),
        "site": Site(name="Foxglove Hotel", timezone="America/Chicago"), "job_type": JobType.emergency,
        "status": WorkOrderStatus.completed, "completed_at": EVENING, "updated_at": EVENING, "po_number": "FOX-45157",
        "line_items": (
            line("J1:1", "labour", "LAB-AH", "2", "187.50", service_date=date(2026, 11, 3)),
            line("J1:2", "part", "IGN-HSI", "1", "112.00"),
            line("J1:3", "fee", "TRIP-AH", "1", "149.00"),
            line("J1:4", "discount", "DISC-PLAN", "1", "25.00"),
        ),
        "attachments": (
            Attachment(content_hash="a" * 64, file_name="sig.png", kind=AttachmentKind.signature),
            Attachment(content_hash="b" * 64, file_name="after.jpg", kind=AttachmentKind.photo_after),
            Attachment(content_hash="a" * 64, file_name="sig-copy.png", kind=AttachmentKind.signature),
        ),
    }
    return WorkOrder(**(fields | changes))


def drafted(work_order: WorkOrder | None = None, tables: MappingTables = TABLES) -> InvoiceDraft:
    result = build_draft(work_order or order(), tables=tables, ledger="quickbooks")
    assert isinstance(result, InvoiceDraft), result.summary
    return result


def test_the_draft_is_numbered_after_the_job_with_the_company_prefix():
    draft = drafted()
    assert (draft.doc_number, draft.work_order_id, draft.work_order_version, draft.ledger) == (
        "NW-1052", "csv:J20512", 2, "quickbooks"
    )


def test_the_invoice_is_dated_on_the_day_the_work_was_finished_where_it_was_done():
    assert drafted().txn_date == date(2026, 11, 3)
    assert drafted(order(site=Site(timezone="UTC"))).txn_date == date(2026, 11, 4)


def test_the_memo_names_the_job_the_site_and_the_purchase_order():
    assert drafted().memo == "Job 1052; site Foxglove Hotel; PO FOX-45157"
    assert drafted(order(site=Site(timezone="America/Chicago"), po_number=None)).memo == "Job 1052"


def test_lines_carry_item_tax_code_and_service_date():
    lines = drafted().lines
    assert [(ln.item_ref, ln.tax_code, ln.kind) for ln in lines] == [
        ("1", "NON", "labour"), ("2", "TAX", "part"), ("4", "NON", "fee"), ("5", "NON", "discount"),
    ]
    assert [ln.service_date for ln in lines] == [date(2026, 11, 3)] * 4


def test_a_discount_is_a_negative_line_and_the_total_is_the_order_subtotal():
    draft = drafted()
    assert draft.lines[-1].amount == Decimal("-25.00")
    assert draft.total == order().subtotal == Decimal("611.00")


def test_the_customer_ref_comes_from_the_table_when_there_is_one():
    assert drafted().customer_ref == "58"
    other = order(customer=Customer(source_id="C-9", name="New Customer"))
    assert drafted(other).customer_ref is None and drafted(other).customer_name == "New Customer"


def test_each_attachment_hash_is_carried_once():
    assert drafted().attachment_hashes == ("a" * 64, "b" * 64)


def test_the_idempotency_key_is_the_same_for_the_same_version_and_differs_by_version():
    assert drafted().idempotency_key == drafted().idempotency_key
    assert drafted().idempotency_key != drafted(order(version=3)).idempotency_key


def test_an_unmapped_item_code_names_the_company_ledger_code_and_line():
    vrf = line("J1:2", "part", "EQUIP-VRF-9", "1", "2450.00", description="VRF branch selector box")
    result = build_draft(order(line_items=(vrf,)), tables=TABLES, ledger="quickbooks")
    assert isinstance(result, Anomaly) and result.code is AnomalyCode.missing_mapping
    assert result.subject == "csv:J20512@v2:quickbooks"
    assert result.summary == (
        "northwind/quickbooks: job 1052 cannot be drafted: item code 'EQUIP-VRF-9' is not in items and kind 'part' "
        "has no default_items entry (line J1:2 'VRF branch selector box')"
    )
    assert result.evidence["missing"] == [{
        "table": "items", "key": "EQUIP-VRF-9", "or_default_for_kind": "part",
        "lines": [{"line": "J1:2", "kind": "part", "description": "VRF branch selector box"}],
    }]
    assert (result.evidence["company"], result.evidence["ledger"]) == ("northwind", "quickbooks")
    assert result.suggested_actions == ("add_mapping",)
    assert (result.work_order_id, result.work_order_version) == ("csv:J20512", 2)


def test_an_unknown_code_falls_back_to_its_kind_default():
    draft = drafted(order(line_items=(line("J1:1", "labour", "LAB-NEW", "1", "125.00"),)))
    assert draft.lines[0].item_ref == "1"


def test_every_missing_key_is_listed_once_with_all_the_lines_that_need_it():
    lines = (line("J1:1", "part", "X-1", "1", "10"), line("J1:2", "part", "X-1", "2", "10"),
             line("J1:3", "material", None, "1", "5"))
    no_tax_codes = TABLES.model_copy(update={"tax_codes": {}})
    result = build_draft(order(line_items=lines), tables=no_tax_codes, ledger="quickbooks")
    assert [(m["table"], m["key"], len(m["lines"])) for m in result.evidence["missing"]] == [
        ("items", "X-1", 2), ("tax_codes", "taxable", 3), ("default_items", "material", 1),
    ]


def test_a_doc_number_longer_than_quickbooks_allows_is_a_case_not_a_truncation():
    result = build_draft(order(job_number="2026-11-HARBOR-00042"), tables=TABLES, ledger="quickbooks")
    assert isinstance(result, Anomaly)
    assert result.summary == "doc number 'NW-2026-11-HARBOR-00042' is 23 characters; QuickBooks allows 21"
    assert drafted(order(job_number="2026-11-HARBOR-004")).doc_number == "NW-2026-11-HARBOR-004"


def test_a_line_without_a_price_is_answered_with_an_anomaly_not_a_crash():
    unpriced = order(line_items=(line("J1:1", "part", "IGN-HSI", "1", None),))
    result = build_draft(unpriced, tables=TABLES, ledger="quickbooks")
    assert isinstance(result, Anomaly) and "J1:1" in result.summary


def test_mapping_tables_refuse_unknown_line_kinds_and_tax_keys():
    with pytest.raises(ValidationError, match="unknown: \\['parts'\\]"):
        MappingTables(default_items={"parts": "2"})
    with pytest.raises(ValidationError, match="taxable or exempt"):
        MappingTables(tax_codes={"GST": "TAX"})


def test_the_demo_mapping_tables_load_and_map_every_demo_code_but_the_unmapped_one():
    text = (Path(__file__).parents[2] / "closeout" / "demo" / "mapping_tables.toml").read_text(encoding="utf-8")
    tables = parse_mapping_tables(text)
    assert (tables.doc_number_prefix, tables.tax_codes) == ("NW-", {"taxable": "TAX", "exempt": "NON"})
    assert tables.item_for("CAP-45-5", LineKind.part) == "2"
    assert tables.item_for("EQUIP-VRF-9", LineKind.part) is None


def test_malformed_tables_text_is_a_value_error():
    with pytest.raises(ValueError, match="not valid TOML"):
        parse_mapping_tables("items = {")


def test_income_accounts_by_line_kind_are_carried_when_the_company_maps_them():
    tables = TABLES.model_copy(update={"income_accounts": {"labour": "4010", "part": "4020"}})
    lines = drafted(tables=tables).lines
    assert [(ln.kind, ln.income_account) for ln in lines] == [
        ("labour", "4010"), ("part", "4020"), ("fee", None), ("discount", None)]
    assert all(ln.income_account is None for ln in drafted().lines)
    with pytest.raises(ValidationError, match="unknown: \\['labor'\\]"):
        MappingTables(income_accounts={"labor": "4010"})
