"""The Xero sandbox, driven from outside by the real xero-python SDK, computes tax and refuses what Xero refuses."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (Address, Bill, Contact, Contacts, CurrencyCode, Invoice, Invoices,
                                           LineAmountTypes, LineItem, LineItemTracking, PaymentTerm,
                                           PaymentTermType)
from xero_python.exceptions import AccountingBadRequestException

from sdk_clients import XERO_STATIC_TOKEN as STATIC_TOKEN, xero_sdk





@pytest.fixture
def admin(sandbox_url: str, tenant: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sandbox_url}/_sandbox/xero/{tenant}", timeout=10, trust_env=False) as client:
        yield client


def configure(admin: httpx.Client, **settings) -> dict:
    answer = admin.post("/settings", json=settings)
    assert answer.status_code == 201, answer.text
    return answer.json()


def contact(api: AccountingApi, tenant: str, name: str = "Acme", **fields) -> str:
    made = api.create_contacts(tenant, Contacts(contacts=[Contact(name=name, **fields)]), summarize_errors=False)
    return str(made.contacts[0].contact_id)


def line(amount: str, tax_type: str | None = "OUTPUT2", **fields) -> LineItem:
    return LineItem(description="Work", quantity=1, unit_amount=float(amount), account_code="200",
                    tax_type=tax_type, **fields)


def invoice(contact_id: str, *lines: LineItem, amounts: str = "Exclusive", status: str = "AUTHORISED",
            due: date | None = date(2026, 3, 31), **fields) -> Invoice:
    return Invoice(type="ACCREC", contact=Contact(contact_id=contact_id), date=date(2026, 3, 1), due_date=due,
                   status=status, line_amount_types=LineAmountTypes(amounts), line_items=list(lines), **fields)


def create(api: AccountingApi, tenant: str, *invoices: Invoice, key: str | None = None) -> list[Invoice]:
    extra = {"idempotency_key": key} if key else {}
    return api.create_invoices(tenant, Invoices(invoices=list(invoices)), summarize_errors=False, **extra).invoices


def errors(made: Invoice) -> list[str]:
    return [v.message for v in made.validation_errors or []]


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# ---- organisation settings ----------------------------------------------------------------------


def test_a_new_organisation_is_nz_with_nzd_and_no_default_sales_terms(api, tenant) -> None:
    organisation = api.get_organisations(tenant).organisations[0]
    assert (str(organisation.country_code.value), str(organisation.base_currency.value)) == ("NZ", "NZD")
    assert organisation.sales_tax_basis == "INVOICE" and organisation.version == "NZ"
    assert organisation.payment_terms.sales is None
    assert [str(c.code.value) for c in api.get_currencies(tenant).currencies] == ["NZD"]


def test_settings_change_the_country_currency_terms_and_currencies_the_api_shows(api, tenant, admin) -> None:
    configure(admin, country="AU", multicurrency=True, currencies=["USD"],
              default_sales_terms={"Day": 20, "Type": "OFFOLLOWINGMONTH"})
    organisation = api.get_organisations(tenant).organisations[0]
    assert (str(organisation.country_code.value), str(organisation.base_currency.value)) == ("AU", "AUD")
    assert organisation.payment_terms.sales.day == 20
    assert str(organisation.payment_terms.sales.type.value) == "OFFOLLOWINGMONTH"
    assert [str(c.code.value) for c in api.get_currencies(tenant).currencies] == ["AUD", "USD"]
    assert admin.post("/settings", json={"country": "FR"}).status_code == 400


# ---- seeds: tax rates, accounts, tracking ------------------------------------------------------


def test_tax_rates_are_the_countrys_own_and_filter_by_tax_type(api, tenant, admin) -> None:
    nz = {r.tax_type: (r.name, money(r.display_tax_rate)) for r in api.get_tax_rates(tenant).tax_rates}
    assert nz["OUTPUT2"] == ("15% GST on Income", Decimal("15.00")) and nz["ZERORATED"][1] == 0
    assert "OUTPUT" not in nz and "EXEMPTOUTPUT" not in nz
    only = api.get_tax_rates(tenant, where='TaxType=="OUTPUT2"').tax_rates
    assert [r.tax_type for r in only] == ["OUTPUT2"]
    configure(admin, country="GB")
    gb = {r.tax_type: (r.name, money(r.display_tax_rate)) for r in api.get_tax_rates(tenant).tax_rates}
    assert gb["OUTPUT2"] == ("20% (VAT on Income)", Decimal("20.00")) and "ZERORATEDOUTPUT" in gb


def test_accounts_and_tracking_categories_are_readable_for_checking_mapping_codes(api, tenant) -> None:
    accounts = {a.code: a for a in api.get_accounts(tenant).accounts}
    assert accounts["200"].name == "Sales" and str(accounts["200"].type.value) == "REVENUE"
    assert accounts["200"].tax_type == "OUTPUT2"
    categories = {c.name: [o.name for o in c.options] for c in api.get_tracking_categories(tenant).tracking_categories}
    assert categories == {"Region": ["Wellington", "Hutt Valley"], "Job type": ["Installation", "Service"]}


# ---- tax ----------------------------------------------------------------------------------------


def test_exclusive_tax_is_rounded_per_line_then_summed_as_xeros_rounding_guide_shows(api, tenant) -> None:
    made, = create(api, tenant, invoice(contact(api, tenant), line("25.06"), line("25.61"), line("25.63")))
    assert [money(li.tax_amount) for li in made.line_items] == [Decimal("3.76"), Decimal("3.84"), Decimal("3.84")]
    assert (money(made.sub_total), money(made.total_tax), money(made.total)) == (
        Decimal("76.30"), Decimal("11.44"), Decimal("87.74"))
    assert money(made.amount_due) == Decimal("87.74")


def test_inclusive_lines_hold_their_tax_so_the_lines_add_up_to_the_total(api, tenant, admin) -> None:
    made, = create(api, tenant, invoice(contact(api, tenant), line("115.00"), line("10.00"), amounts="Inclusive"))
    assert [money(li.tax_amount) for li in made.line_items] == [Decimal("15.00"), Decimal("1.30")]
    assert (money(made.sub_total), money(made.total_tax), money(made.total)) == (
        Decimal("108.70"), Decimal("16.30"), Decimal("125.00"))
    configure(admin, country="AU")
    au, = create(api, tenant, invoice(contact(api, tenant, "AU Co"), line("55.00", "OUTPUT"), amounts="Inclusive"))
    assert (money(au.total_tax), money(au.total)) == (Decimal("5.00"), Decimal("55.00"))


def test_no_tax_lines_carry_no_tax(api, tenant) -> None:
    made, = create(api, tenant, invoice(contact(api, tenant), line("100.00", None), amounts="NoTax"))
    assert money(made.total_tax) == 0 and money(made.total) == Decimal("100.00")
    assert made.line_items[0].tax_type == "NONE"


def test_a_callers_tax_amount_overrides_the_computed_one(api, tenant) -> None:
    made, = create(api, tenant, invoice(contact(api, tenant), line("100.00", tax_amount=14.99)))
    assert money(made.total_tax) == Decimal("14.99") and money(made.total) == Decimal("114.99")


def test_a_line_without_tax_type_takes_its_accounts_tax_type(api, tenant) -> None:
    made, = create(api, tenant, invoice(contact(api, tenant), line("100.00", None)))
    assert made.line_items[0].tax_type == "OUTPUT2" and money(made.total_tax) == Decimal("15.00")


def test_a_tax_type_the_country_lacks_or_the_account_may_not_use_is_refused_with_xeros_text(api, tenant) -> None:
    cid = contact(api, tenant)
    unknown, expense = create(api, tenant, invoice(cid, line("10.00", "OUTPUT")), invoice(cid, line("10.00", "INPUT2")))
    assert errors(unknown) == ["The TaxType code OUTPUT does not exist or cannot be used for this type of transaction."]
    assert errors(expense) == ["The TaxType code 'INPUT2' cannot be used with account code '200'."]


# ---- tracking and contacts ---------------------------------------------------------------------


def test_known_tracking_is_kept_with_its_ids_and_an_unknown_option_is_refused(api, tenant) -> None:
    cid = contact(api, tenant)
    good, bad = create(api, tenant,
                       invoice(cid, line("10.00", tracking=[LineItemTracking(name="Region", option="Wellington")])),
                       invoice(cid, line("10.00", tracking=[LineItemTracking(name="Region", option="Porirua")])))
    tracked = good.line_items[0].tracking[0]
    assert (tracked.name, tracked.option) == ("Region", "Wellington") and tracked.tracking_option_id
    assert bad.has_errors and "Porirua" in errors(bad)[0]


def test_unknown_tracking_is_dropped_when_the_organisation_acts_out_the_lenient_answer(api, tenant, admin) -> None:
    configure(admin, unknown_tracking="ignore")
    made, = create(api, tenant, invoice(contact(api, tenant),
                                        line("10.00", tracking=[LineItemTracking(name="Branch", option="X")])))
    assert not made.has_errors and made.line_items[0].tracking == []


def test_a_contact_keeps_its_street_and_postal_addresses(api, tenant) -> None:
    addresses = [Address(address_type="STREET", address_line1="1 Site Rd", city="Lower Hutt"),
                 Address(address_type="POBOX", address_line1="PO Box 9", city="Wellington", postal_code="6011")]
    cid = contact(api, tenant, "Addressed Ltd", addresses=addresses)
    kept = {a.address_type: a for a in api.get_contact(tenant, cid).contacts[0].addresses}
    assert kept["STREET"].address_line1 == "1 Site Rd" and kept["POBOX"].postal_code == "6011"


# ---- Idempotency-Key ---------------------------------------------------------------------------


def test_an_idempotency_key_over_128_characters_is_refused_and_128_is_accepted(api, tenant) -> None:
    cid = contact(api, tenant)
    with pytest.raises(AccountingBadRequestException) as caught:
        create(api, tenant, invoice(cid, line("10.00")), key="k" * 129)
    assert caught.value.error_data["Type"] == "ValidationException"
    assert create(api, tenant, invoice(cid, line("10.00")), key="k" * 128)[0].invoice_id


def issued_token(sandbox_url: str, client_id: str) -> str:
    with httpx.Client(base_url=sandbox_url, trust_env=False) as client:
        first = client.post("/_sandbox/xero/tokens", json={"client_id": client_id}).json()["refresh_token"]
        return client.post("/connect/token", data={"grant_type": "refresh_token", "refresh_token": first,
                                                   "client_id": client_id}).json()["access_token"]


def test_idempotency_keys_belong_to_the_app_so_one_app_cannot_reuse_a_key_in_another_tenant(sandbox_url) -> None:
    app = f"app-{uuid.uuid4().hex[:8]}"
    first_tenant, second_tenant = str(uuid.uuid4()), str(uuid.uuid4())
    one, again = xero_sdk(sandbox_url, issued_token(sandbox_url, app)), xero_sdk(sandbox_url, issued_token(sandbox_url, app))
    key = f"wo-1-v1-{uuid.uuid4().hex[:6]}"
    create(one, first_tenant, invoice(contact(one, first_tenant), line("10.00")), key=key)
    customer = contact(again, second_tenant)
    with pytest.raises(AccountingBadRequestException) as caught:  # same app, another token: still its keys
        create(again, second_tenant, invoice(customer, line("10.00")), key=key)
    assert "different request" in caught.value.error_data["Message"]
    other = xero_sdk(sandbox_url, issued_token(sandbox_url, f"other-{app}"))
    assert create(other, second_tenant, invoice(customer, line("10.00")), key=key)[0].invoice_id


# ---- DueDate ------------------------------------------------------------------------------------


def test_an_authorised_or_submitted_invoice_without_due_date_is_refused_but_a_draft_is_not(api, tenant) -> None:
    cid = contact(api, tenant)
    authorised, submitted, draft = create(api, tenant, invoice(cid, line("10.00"), due=None),
                                          invoice(cid, line("10.00"), due=None, status="SUBMITTED"),
                                          invoice(cid, line("10.00"), due=None, status="DRAFT"))
    assert errors(authorised) == errors(submitted) == ["The document DueDate field must be specified."]
    assert not draft.has_errors and draft.due_date is None


def test_approving_a_draft_without_a_due_date_is_refused(api, tenant) -> None:
    draft, = create(api, tenant, invoice(contact(api, tenant), line("10.00"), due=None, status="DRAFT"))
    with pytest.raises(AccountingBadRequestException) as caught:
        api.update_invoice(tenant, draft.invoice_id, Invoices(invoices=[Invoice(status="AUTHORISED")]))
    assert caught.value.reason == "The document DueDate field must be specified."


def test_default_sales_terms_do_not_fill_a_missing_due_date_unless_the_organisation_acts_that_out(
        api, tenant, admin) -> None:
    configure(admin, default_sales_terms={"Day": 20, "Type": "OFFOLLOWINGMONTH"})
    cid = contact(api, tenant)
    refused, = create(api, tenant, invoice(cid, line("10.00"), due=None))
    assert errors(refused) == ["The document DueDate field must be specified."]
    configure(admin, due_date_from_terms=True)
    from_org, = create(api, tenant, invoice(cid, line("10.00"), due=None))
    assert from_org.due_date == date(2026, 4, 20)
    seven_days = PaymentTerm(sales=Bill(day=7, type=PaymentTermType.DAYSAFTERBILLDATE))
    termed = contact(api, tenant, "Termed", payment_terms=seven_days)
    from_contact, = create(api, tenant, invoice(termed, line("10.00"), due=None))
    assert from_contact.due_date == date(2026, 3, 8)


def test_a_due_date_before_the_invoice_date_is_accepted_as_in_the_specs_own_example(api, tenant) -> None:
    made, = create(api, tenant, invoice(contact(api, tenant), line("10.00"), due=date(2026, 2, 1)))
    assert not made.has_errors and made.due_date == date(2026, 2, 1)


# ---- currency -----------------------------------------------------------------------------------


def test_a_foreign_currency_needs_multicurrency_and_a_subscription(api, tenant, admin) -> None:
    cid = contact(api, tenant)
    usd = lambda: invoice(cid, line("10.00"), currency_code=CurrencyCode("USD"))  # noqa: E731
    refused, = create(api, tenant, usd())
    assert errors(refused) == ["Organisation is not subscribed to currency USD"]
    configure(admin, multicurrency=True, currencies=["USD"])
    accepted, = create(api, tenant, usd())
    assert not accepted.has_errors and str(accepted.currency_code.value) == "USD"
    euro, = create(api, tenant, invoice(cid, line("10.00"), currency_code=CurrencyCode("EUR")))
    assert errors(euro) == ["Organisation is not subscribed to currency EUR"]
    base, = create(api, tenant, invoice(cid, line("10.00")))
    assert str(base.currency_code.value) == "NZD"


# ---- schema -------------------------------------------------------------------------------------


def test_unknown_properties_are_ignored_and_documented_lengths_are_enforced(sandbox_url, tenant) -> None:
    headers = {"Authorization": f"Bearer {STATIC_TOKEN}", "xero-tenant-id": tenant}
    body = {"Type": "ACCREC", "Contact": {"Name": "Loose"}, "Date": "2026-03-01", "DueDate": "2026-03-31",
            "Status": "AUTHORISED", "NotAXeroField": True,
            "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200",
                           "TaxType": "OUTPUT2", "Colour": "blue"}]}
    with httpx.Client(base_url=f"{sandbox_url}/api.xro/2.0", headers=headers, trust_env=False) as xero:
        assert xero.put("/Invoices", json={"Invoices": [body]}).status_code == 200
        long = xero.put("/Invoices", json={"Invoices": [{**body, "Reference": "r" * 256}]})
    assert long.status_code == 400
    assert any("Reference" in v["Message"] for v in long.json()["Elements"][0]["ValidationErrors"])
