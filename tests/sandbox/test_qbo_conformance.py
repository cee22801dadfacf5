"""The QBO sandbox computes tax and refuses what QuickBooks Online refuses, driven from outside by python-quickbooks."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from quickbooks import QuickBooks
from quickbooks import exceptions as qbx
from quickbooks.batch import batch_create
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.customer import Customer
from quickbooks.objects.department import Department
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.taxrate import TaxRate
from quickbooks.objects.term import Term
from quickbooks.objects.trackingclass import Class

from sandbox.qbo_schema import FIELDS

TOKEN = "sandbox-test-token-0123456789"

CHICAGO = {"Line1": "50 W Washington St", "City": "Chicago", "CountrySubDivisionCode": "IL", "PostalCode": "60602"}
MILWAUKEE = {"Line1": "200 E Wells St", "City": "Milwaukee", "CountrySubDivisionCode": "WI", "PostalCode": "53202"}
SPRINGFIELD = {"Line1": "401 S 2nd St", "City": "Springfield", "CountrySubDivisionCode": "IL", "PostalCode": "62701"}
MADISON = {"Line1": "2 E Main St", "City": "Madison", "CountrySubDivisionCode": "WI", "PostalCode": "53703"}
BOISE = {"Line1": "150 N Capitol Blvd", "City": "Boise", "CountrySubDivisionCode": "ID", "PostalCode": "83702"}




def configure(admin: httpx.Client, **settings: Any) -> dict[str, Any]:
    response = admin.post("/settings", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


def customer(qb: QuickBooks, name: str = "Acme Plumbing", **fields: Any) -> str:
    return str(Customer.from_json({"DisplayName": name, **fields}).save(qb=qb).Id)


def line(amount: str, tax: str | None = "TAX", item: str = "1", **extra: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": float(amount)}
    if tax:
        detail["TaxCodeRef"] = {"value": tax}
    return {"DetailType": "SalesItemLineDetail", "Amount": float(amount), "SalesItemLineDetail": detail, **extra}


def invoice(qb: QuickBooks, customer_id: str, *lines: dict[str, Any], **fields: Any) -> Invoice:
    body = {"CustomerRef": {"value": customer_id}, "Line": list(lines or [line("100.00")]), **fields}
    return Invoice.from_json(body).save(qb=qb)


def raw_invoice(qbo: httpx.Client, body: dict[str, Any], **params: str) -> httpx.Response:
    return qbo.post("/invoice", content=json.dumps(body), params={"minorversion": "75", **params},
                    headers={"Content-Type": "application/json"})


def refused(action: Any) -> qbx.QuickbooksException:
    with pytest.raises(qbx.QuickbooksException) as caught:
        action()
    return caught.value


def tax_of(inv: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    return Decimal(str(inv.TxnTaxDetail.TotalTax)), Decimal(str(inv.TotalAmt)), Decimal(str(inv.Balance))


def tax_lines(inv: Invoice) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [(str(t.TaxLineDetail.TaxRateRef.value), Decimal(str(t.TaxLineDetail.TaxPercent)),
             Decimal(str(t.TaxLineDetail.NetAmountTaxable)), Decimal(str(t.Amount))) for t in inv.TxnTaxDetail.TaxLine]


# ---- 1. realm settings, as Preferences and CompanyInfo show them ----------------------------------------


def test_a_new_realm_is_a_us_company_with_automated_sales_tax_as_preferences_and_company_info_say(
        qb: QuickBooks, qbo: httpx.Client, realm: str) -> None:
    raw = qbo.get("/preferences").json()["Preferences"]
    assert raw["TaxPrefs"] == {"UsingSalesTax": True, "PartnerTaxEnabled": True}
    assert raw["CurrencyPrefs"] == {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": False}
    prefs = Preferences.get(qb=qb)
    assert prefs.CurrencyPrefs.HomeCurrency.value == "USD" and prefs.TaxPrefs.UsingSalesTax is True
    queried = qb.query("select * from Preferences")["QueryResponse"]["Preferences"]
    assert [p["TaxPrefs"]["PartnerTaxEnabled"] for p in queried] == [True]
    info = CompanyInfo.get(realm, qb=qb)
    assert info.Country == "US" and info.CompanyAddr.City == "Chicago" and info.CompanyAddr.CountrySubDivisionCode == "IL"


def test_the_settings_endpoint_turns_the_realm_into_a_canadian_company_without_automated_sales_tax(
        qb: QuickBooks, qbo: httpx.Client, admin: httpx.Client, realm: str) -> None:
    address = {"Line1": "100 Queen St W", "City": "Toronto", "CountrySubDivisionCode": "ON", "PostalCode": "M5H 2N2",
               "Country": "CA"}
    answer = configure(admin, country="CA", automated_sales_tax=False, company_address=address)
    assert answer["home_currency"] == "CAD" and admin.get("/settings").json()["country"] == "CA"
    raw = qbo.get("/preferences").json()["Preferences"]
    # "If not present in response payload, the company is not enabled for automated sales tax."
    assert "PartnerTaxEnabled" not in raw["TaxPrefs"] and raw["CurrencyPrefs"]["HomeCurrency"] == {"value": "CAD"}
    info = CompanyInfo.get(realm, qb=qb)
    assert info.Country == "CA" and info.CompanyAddr.City == "Toronto"
    assert {c.Name for c in TaxCode.all(qb=qb)} == {"GST", "HST ON", "Zero-rated", "Exempt"}
    assert admin.post("/settings", json={"country": "FR"}).status_code == 400
    assert admin.post("/settings", json={"colour": "blue"}).status_code == 400


def test_turning_automated_sales_tax_off_removes_partner_tax_from_preferences(qbo: httpx.Client,
                                                                             admin: httpx.Client) -> None:
    configure(admin, automated_sales_tax=False)
    tax_prefs = qbo.get("/preferences").json()["Preferences"]["TaxPrefs"]
    assert "PartnerTaxEnabled" not in tax_prefs and tax_prefs["UsingSalesTax"] is True


# ---- 2. tax: US with automated sales tax --------------------------------------------------------------


def test_a_chicago_ship_to_is_taxed_at_10_25_percent_on_its_taxable_lines_only(qb: QuickBooks) -> None:
    created = invoice(qb, customer(qb), line("100.00", "TAX"), line("50.00", "NON", item="2"), ShipAddr=CHICAGO)
    assert tax_of(created) == (Decimal("10.25"), Decimal("160.25"), Decimal("160.25"))
    assert created.TxnTaxDetail.TxnTaxCodeRef.value == "3"
    assert sorted((pct, net) for _, pct, net, _ in tax_lines(created)) == [
        (Decimal("1.00"), Decimal("100.00")), (Decimal("1.25"), Decimal("100.00")),
        (Decimal("1.75"), Decimal("100.00")), (Decimal("6.25"), Decimal("100.00"))]
    assert sum(amount for *_, amount in tax_lines(created)) == Decimal("10.25")
    again = Invoice.get(created.Id, qb=qb)
    assert tax_of(again) == tax_of(created)


@pytest.mark.parametrize("address, rate", [
    (MILWAUKEE, "7.90"), (SPRINGFIELD, "6.25"), (MADISON, "5.00"), (BOISE, "6.00"),
    ({"City": "Chicago", "CountrySubDivisionCode": "IL"}, "10.25"),
])
def test_the_ship_to_address_picks_the_rate_from_the_sandboxs_table(qb: QuickBooks, address: dict[str, str],
                                                                     rate: str) -> None:
    created = invoice(qb, customer(qb), line("200.00"), ShipAddr=address)
    tax = (Decimal("200.00") * Decimal(rate) / 100).quantize(Decimal("0.01"))
    assert tax_of(created)[:2] == (tax, Decimal("200.00") + tax)


def test_without_any_ship_to_the_company_address_is_the_destination(qb: QuickBooks, admin: httpx.Client) -> None:
    buyer = customer(qb)
    assert tax_of(invoice(qb, buyer, line("100.00")))[0] == Decimal("10.25")  # the company is in Chicago
    configure(admin, company_address=MILWAUKEE)
    assert tax_of(invoice(qb, buyer, line("100.00")))[0] == Decimal("7.90")


def test_an_invoice_without_a_ship_to_is_taxed_at_its_customers_ship_address(qb: QuickBooks) -> None:
    buyer = customer(qb, BillAddr=CHICAGO, ShipAddr=MILWAUKEE)
    created = invoice(qb, buyer, line("100.00"))
    assert created.ShipAddr.City == "Milwaukee" and created.BillAddr.City == "Chicago"
    assert tax_of(created)[0] == Decimal("7.90")


def test_tax_is_rounded_half_up_to_cents_on_the_taxable_subtotal(qb: QuickBooks) -> None:
    # 10.25 % of 2.00 is 0.205: half-up gives 0.21 where banker's rounding would give 0.20.
    created = invoice(qb, customer(qb), line("1.50"), line("0.50"), ShipAddr=CHICAGO)
    assert tax_of(created)[:2] == (Decimal("0.21"), Decimal("2.21"))
    assert sum(amount for *_, amount in tax_lines(created)) == Decimal("0.21")


def test_with_automated_sales_tax_off_taxable_lines_take_the_company_or_the_invoices_tax_group(
        qb: QuickBooks, admin: httpx.Client) -> None:
    configure(admin, automated_sales_tax=False)
    buyer = customer(qb)
    assert tax_of(invoice(qb, buyer, line("100.00"), ShipAddr=CHICAGO))[0] == Decimal("6.25")  # Illinois, the default
    chosen = invoice(qb, buyer, line("100.00"), TxnTaxDetail={"TxnTaxCodeRef": {"value": "5"}})
    assert tax_of(chosen)[0] == Decimal("7.90") and chosen.TxnTaxDetail.TxnTaxCodeRef.value == "5"


# ---- 2. tax: the other countries' tax codes -------------------------------------------------------------


def test_a_canadian_invoice_is_taxed_line_by_line_by_its_tax_codes(qb: QuickBooks, admin: httpx.Client) -> None:
    configure(admin, country="CA")
    created = invoice(qb, customer(qb), line("100.00", "2"), line("200.00", "3"), line("40.00", "4"),
                      line("10.00", "5"), CurrencyRef={"value": "CAD"})
    assert tax_of(created) == (Decimal("31.00"), Decimal("381.00"), Decimal("381.00"))
    assert sorted((pct, net, amount) for _, pct, net, amount in tax_lines(created)) == [
        (Decimal("0"), Decimal("10.00"), Decimal("0.00")), (Decimal("0"), Decimal("40.00"), Decimal("0.00")),
        (Decimal("5"), Decimal("100.00"), Decimal("5.00")), (Decimal("13"), Decimal("200.00"), Decimal("26.00"))]
    assert created.CurrencyRef.value == "CAD"


def test_a_tax_inclusive_uk_invoice_takes_the_vat_out_of_its_amounts(qb: QuickBooks, admin: httpx.Client) -> None:
    configure(admin, country="GB")
    buyer = customer(qb)
    inclusive = invoice(qb, buyer, line("120.00", "2"), GlobalTaxCalculation="TaxInclusive")
    assert tax_of(inclusive) == (Decimal("20.00"), Decimal("120.00"), Decimal("120.00"))
    assert tax_lines(inclusive)[0][2] == Decimal("100.00")
    exclusive = invoice(qb, buyer, line("120.00", "2"))  # the SDK's default, TaxExcluded
    assert tax_of(exclusive)[:2] == (Decimal("24.00"), Decimal("144.00"))
    untaxed = invoice(qb, buyer, line("120.00", None), GlobalTaxCalculation="NotApplicable")
    assert tax_of(untaxed)[:2] == (Decimal("0.00"), Decimal("120.00"))


def test_a_non_us_line_without_a_tax_code_is_refused_with_6000(qb: QuickBooks, admin: httpx.Client) -> None:
    configure(admin, country="AU")
    error = refused(lambda: invoice(qb, customer(qb), line("100.00", None)))
    assert error.error_code == 6000 and "GST rate" in error.detail


@pytest.mark.parametrize("country, code", [("US", "VAT"), ("CA", "TAX"), ("AU", "99")])
def test_an_unknown_tax_code_is_refused_with_2500(qb: QuickBooks, admin: httpx.Client, country: str,
                                                  code: str) -> None:
    configure(admin, country=country)
    assert refused(lambda: invoice(qb, customer(qb), line("100.00", code))).error_code == 2500


def test_tax_codes_point_at_tax_rates_readable_by_query_and_by_id(qb: QuickBooks, admin: httpx.Client) -> None:
    configure(admin, country="CA")
    hst = TaxCode.get("3", qb=qb)
    rate_ref = hst.SalesTaxRateList.TaxRateDetail[0].TaxRateRef.value
    assert hst.Name == "HST ON" and Decimal(str(TaxRate.get(rate_ref, qb=qb).RateValue)) == Decimal("13")
    assert {r.Name for r in TaxRate.all(qb=qb)} == {"GST", "HST ON", "GST ZR", "GST ES"}
    configure(admin, country="GB")
    assert {c.Name for c in TaxCode.all(qb=qb)} == {"20.0% S", "0.0% Z", "Exempt"}


# ---- 2. lists and references on invoices and customers --------------------------------------------------


def test_classes_departments_and_terms_are_seeded_and_readable_by_query_and_id(qb: QuickBooks) -> None:
    assert {c.Name for c in Class.all(qb=qb)} >= {"Installation", "Service", "Maintenance"}
    assert {d.Name for d in Department.all(qb=qb)} == {"North", "South"}
    assert {t.Name: t.DueDays for t in Term.all(qb=qb)}.items() >= {"Net 15": 15, "Net 30": 30,
                                                                    "Due on receipt": 0}.items()
    assert Class.get("2", qb=qb).Name == "Service" and Department.get("1", qb=qb).Name == "North"
    assert Term.get("2", qb=qb).DueDays == 15


def test_an_invoice_keeps_its_class_department_and_term_and_the_term_sets_its_due_date(qb: QuickBooks) -> None:
    created = invoice(qb, customer(qb), line("10.00", "NON"), TxnDate="2025-03-01", ClassRef={"value": "1"},
                      DepartmentRef={"value": "2"}, SalesTermRef={"value": "2"})
    assert (created.ClassRef.name, created.DepartmentRef.name, created.SalesTermRef.name) == (
        "Installation", "South", "Net 15")
    assert created.DueDate == "2025-03-16"
    explicit = invoice(qb, created.CustomerRef.value, line("10.00", "NON"), TxnDate="2025-03-01",
                       SalesTermRef={"value": "2"}, DueDate="2025-04-30")
    assert explicit.DueDate == "2025-04-30"


@pytest.mark.parametrize("field", ["ClassRef", "DepartmentRef", "SalesTermRef", "CurrencyRef"])
def test_an_unknown_class_department_term_or_foreign_currency_is_refused_with_2500(qb: QuickBooks, field: str) -> None:
    value = "EUR" if field == "CurrencyRef" else "999"
    assert refused(lambda: invoice(qb, customer(qb), line("10.00"), **{field: {"value": value}})).error_code == 2500


def test_a_foreign_currency_is_accepted_only_with_multicurrency_on(qb: QuickBooks, admin: httpx.Client) -> None:
    buyer = customer(qb)
    assert refused(lambda: invoice(qb, buyer, line("10.00"), CurrencyRef={"value": "CAD"})).error_code == 2500
    assert invoice(qb, buyer, line("10.00"), CurrencyRef={"value": "USD"}).CurrencyRef.value == "USD"
    configure(admin, multicurrency=True)
    assert invoice(qb, buyer, line("10.00"), CurrencyRef={"value": "CAD"}).CurrencyRef.value == "CAD"


def test_a_job_is_a_sub_customer_under_its_parent(qb: QuickBooks) -> None:
    parent = customer(qb, "Acme Property Group")
    job = Customer.from_json({"DisplayName": "Tower B", "Job": True, "ParentRef": {"value": parent},
                              "ShipAddr": MILWAUKEE}).save(qb=qb)
    assert job.Job is True and job.ParentRef.value == parent and job.Level == 1
    assert job.FullyQualifiedName == "Acme Property Group:Tower B"
    assert tax_of(invoice(qb, str(job.Id), line("100.00")))[0] == Decimal("7.90")
    error = refused(lambda: customer(qb, "Orphan", Job=True, ParentRef={"value": "999"}))
    assert error.error_code == 2500


# ---- 3. strict rules ----------------------------------------------------------------------------------------


def test_a_requestid_of_51_characters_is_refused_and_one_of_50_is_accepted(qb: QuickBooks, qbo: httpx.Client) -> None:
    buyer = customer(qb)
    body = {"CustomerRef": {"value": buyer}, "Line": [line("10.00")]}
    too_long = raw_invoice(qbo, body, requestid="r" * 51)
    assert too_long.status_code == 400 and too_long.json()["Fault"]["Error"][0]["code"] == "2050"
    assert Invoice.from_json(body).save(qb=qb, request_id="r" * 50).Id
    assert Invoice.count(qb=qb) == 1


def test_a_batch_requestid_over_36_characters_and_a_bid_over_10_with_it_are_refused(qb: QuickBooks,
                                                                                     qbo: httpx.Client) -> None:
    def post(bid: str, **params: str) -> httpx.Response:
        items = {"BatchItemRequest": [{"bId": bid, "operation": "create", "Customer": {"DisplayName": f"C {bid}"}}]}
        return qbo.post("/batch", json=items, params={"minorversion": "75", **params})

    assert post("1", requestid="b" * 37).status_code == 400
    refused_bid = post("b" * 11, requestid="b" * 36)
    assert refused_bid.status_code == 400 and refused_bid.json()["Fault"]["Error"][0]["element"] == "bId"
    assert post("b" * 10, requestid="c" * 36).status_code == 200
    assert post("b" * 11).status_code == 200  # without a requestid a long bId is fine: the SDK sends uuids
    assert Customer.count(qb=qb) == 2


def test_a_batch_item_does_not_see_a_customer_created_by_an_earlier_item(qb: QuickBooks, qbo: httpx.Client) -> None:
    items = {"BatchItemRequest": [
        {"bId": "c", "operation": "create", "Customer": {"DisplayName": "New in batch"}},
        {"bId": "i", "operation": "create", "Invoice": {"CustomerRef": {"value": "1"}, "Line": [line("10.00")]}}]}
    answers = {a["bId"]: a for a in qbo.post("/batch", json=items).json()["BatchItemResponse"]}
    assert answers["c"]["Customer"]["Id"] == "1"
    assert answers["i"]["Fault"]["Error"][0]["code"] == "2500"
    assert invoice(qb, "1", line("10.00")).CustomerRef.value == "1"  # the next request sees it


def test_batch_answers_come_back_out_of_request_order_and_the_sdk_matches_them_by_bid(qb: QuickBooks,
                                                                                       qbo: httpx.Client) -> None:
    items = {"BatchItemRequest": [{"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"C{n}"}}
                                  for n in range(3)]}
    order = [a["bId"] for a in qbo.post("/batch", json=items).json()["BatchItemResponse"]]
    assert sorted(order) == ["0", "1", "2"] and order != ["0", "1", "2"]
    made = batch_create([Customer.from_json({"DisplayName": f"Batch {n}"}) for n in range(3)], qb=qb)
    assert not made.faults and sorted(c.DisplayName for c in made.successes) == ["Batch 0", "Batch 1", "Batch 2"]


@pytest.mark.parametrize("entity, body", [
    ("invoice", {"Line": [line("10.00")], "Colour": "red"}),
    ("invoice", {"Line": [line("10.00")], "ShipAddr": {**CHICAGO, "Planet": "Earth"}}),
    ("invoice", {"Line": [{**line("10.00"), "Colour": "red"}]}),
    ("invoice", {"Line": [line("10.00")], "CustomerMemo": {"value": "hi", "lang": "en"}}),
    ("invoice", {"Line": [{"DetailType": "SalesItemLineDetail", "Amount": 10,
                           "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Discount": 1}}]}),
    ("customer", {"DisplayName": "Nick", "Nickname": "N"}),
    ("item", {"Name": "Widget", "Type": "Service", "IncomeAccountRef": {"value": "1"}, "Colour": "red"}),
])
def test_an_unknown_field_is_refused_with_2010_instead_of_being_stored(qb: QuickBooks, qbo: httpx.Client,
                                                                       entity: str, body: dict[str, Any]) -> None:
    if entity == "invoice":
        body = {"CustomerRef": {"value": customer(qb)}, **body}
    answer = qbo.post(f"/{entity}", json=body)
    error = answer.json()["Fault"]["Error"][0]
    assert answer.status_code == 400 and error["code"] == "2010"
    assert error["Message"] == "Request has invalid or unsupported property" and "Unrecognized field" in error["Detail"]


def _filled(cls: type) -> Any:
    """An SDK object with every nested object its class declares set to that class's SDK default."""
    obj = cls()
    for name, sub in getattr(cls, "class_dict", {}).items():
        setattr(obj, name, _filled(sub) if hasattr(sub, "class_dict") else sub())
    return obj


def test_every_field_the_sdk_sends_for_invoice_customer_and_item_is_a_known_field(qb: QuickBooks) -> None:
    for cls in (Invoice, Customer, Item):
        assert set(json.loads(_filled(cls).to_json())) <= set(FIELDS[cls.qbo_object_name]), cls
    buyer = Customer.from_json(json.loads(_filled(Customer).to_json()))
    buyer.DisplayName, buyer.ParentRef, buyer.CurrencyRef = "Everything", None, None
    for ref in ("ARAccountRef", "DefaultTaxCodeRef", "SalesTermRef", "PaymentMethodRef"):
        setattr(buyer, ref, None)  # empty Refs stand for "unset"; their values are checked elsewhere
    saved = buyer.save(qb=qb)
    sdk_invoice = Invoice.from_json({"CustomerRef": {"value": saved.Id}, "Line": [line("10.00")],
                                     "BillAddr": {}, "ShipAddr": {}, "BillEmail": {"Address": "a@example.com"},
                                     "CustomerMemo": {"value": "thanks"}})
    created = sdk_invoice.save(qb=qb)
    resent = Invoice.get(created.Id, qb=qb)
    resent.PrivateNote = "read, changed and sent back"
    assert resent.save(qb=qb).SyncToken == "1"
    item = Item.from_json({"Name": "Widget", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    assert item.save(qb=qb).Id


@pytest.mark.parametrize("entity, path, limit", [
    ("invoice", "PrivateNote", 4000), ("invoice", "CustomerMemo.value", 1000), ("invoice", "Line.Description", 4000),
    ("invoice", "ShipAddr.Line1", 500), ("invoice", "BillAddr.City", 255), ("invoice", "ShipAddr.PostalCode", 30),
    ("customer", "DisplayName", 500), ("customer", "GivenName", 100), ("customer", "BillAddr.Line2", 500),
])
def test_a_string_over_its_documented_length_is_refused_with_2050_and_one_at_it_is_accepted(
        qb: QuickBooks, qbo: httpx.Client, entity: str, path: str, limit: int) -> None:
    def body(length: int) -> dict[str, Any]:
        base: dict[str, Any] = ({"CustomerRef": {"value": buyer}, "Line": [line("10.00", "NON")]} if entity == "invoice"
                                else {"DisplayName": f"Name {length}"})
        head, _, tail = path.partition(".")
        text = "x" * length
        if head == "Line":
            base["Line"][0][tail] = text
        elif tail:
            base[head] = {tail: text}
        else:
            base[head] = text
        return base

    buyer = customer(qb)
    answer = qbo.post(f"/{entity}", json=body(limit + 1))
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "2050", answer.text
    assert qbo.post(f"/{entity}", json=body(limit)).status_code == 200


def test_address_lines_over_2000_characters_together_are_refused(qb: QuickBooks) -> None:
    lines = {f"Line{n}": "x" * 450 for n in range(1, 6)}  # each within 500, together 2250
    assert refused(lambda: customer(qb, "Long Address", BillAddr=lines)).error_code == 2050


def test_a_due_date_before_the_invoice_date_is_refused(qb: QuickBooks) -> None:
    error = refused(lambda: invoice(qb, customer(qb), line("10.00"), TxnDate="2025-03-01", DueDate="2025-02-28"))
    assert error.error_code == 6000 and "before" in error.detail
