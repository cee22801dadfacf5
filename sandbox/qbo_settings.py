"""A sandbox realm's company settings and what QBO derives from them: Preferences, CompanyInfo, tax lists.

    POST /_sandbox/qbo/{realm}/settings   {"country": "US"|"CA"|"GB"|"AU", "automated_sales_tax": bool,
                                           "home_currency": "USD", "multicurrency": false,
                                           "company_address": {...PhysicalAddress...}}
    GET  /_sandbox/qbo/{realm}/settings   → the realm's settings

Every field is optional; omitted ones keep their value (a new realm: US, AST on, USD, no multicurrency,
a Chicago company address). Changing the country reseeds the realm's TaxCode and TaxRate lists with that
country's (sandbox.qbo_tax); home_currency and company_address then default to the country's currency
and a city of it (Toronto, London, Sydney).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.qbo_tax import code_entity, codes_for, rate_entity, rates_for
from sandbox.qbo_wire import now_stamp

if TYPE_CHECKING:  # qbo_store seeds a new realm through this module
    from sandbox.qbo_store import RealmView

SETTINGS = "SandboxSettings"
"""The entity row holding the settings: not a QBO entity, so no query or read reaches it."""
COUNTRIES = {"US": "USD", "CA": "CAD", "GB": "GBP", "AU": "AUD"}
CURRENCY_NAMES = {"USD": "United States Dollar", "CAD": "Canadian Dollar", "GBP": "British Pound Sterling",
                  "AUD": "Australian Dollar", "EUR": "Euro", "NZD": "New Zealand Dollar"}
DEFAULT_SETTINGS: dict[str, Any] = {
    "country": "US", "automated_sales_tax": True, "home_currency": "USD", "multicurrency": False,
    "company_address": {"Line1": "233 S Wacker Dr", "City": "Chicago", "CountrySubDivisionCode": "IL",
                        "PostalCode": "60606", "Country": "US"},
}
COMPANY_ADDRESSES = {
    "US": DEFAULT_SETTINGS["company_address"],
    "CA": {"Line1": "100 Queen St W", "City": "Toronto", "CountrySubDivisionCode": "ON", "PostalCode": "M5H 2N2",
           "Country": "CA"},
    "GB": {"Line1": "1 Poultry", "City": "London", "PostalCode": "EC2R 8EJ", "Country": "GB"},
    "AU": {"Line1": "1 Martin Pl", "City": "Sydney", "CountrySubDivisionCode": "NSW", "PostalCode": "2000",
           "Country": "AU"},
}
"""Where a realm's company is when its country changes and no company_address is given."""
ADDRESS_FIELDS = {"Line1", "Line2", "Line3", "Line4", "Line5", "City", "Country", "CountrySubDivisionCode",
                  "PostalCode", "County", "CountryCode"}

# Seeded lists (shapes from Intuit's Class, Department and Term references, …/all-entities/class etc.).
SEED_CLASSES = [("1", "Installation"), ("2", "Service"), ("3", "Maintenance")]
SEED_DEPARTMENTS = [("1", "North"), ("2", "South")]
SEED_TERMS = [("1", "Due on receipt", 0), ("2", "Net 15", 15), ("3", "Net 30", 30), ("4", "Net 60", 60)]


def _meta() -> dict[str, str]:
    stamp = now_stamp()
    return {"CreateTime": stamp, "LastUpdatedTime": stamp}


def _put(view: RealmView, entity: str, body: dict[str, Any]) -> None:
    view.put(entity, {**body, "SyncToken": "0", "domain": "QBO", "sparse": False, "MetaData": _meta()})


def read_settings(view: RealmView) -> dict[str, Any]:
    """The realm's settings (the defaults until ``apply_settings`` changed them)."""
    stored = view.get(SETTINGS, "1")
    return {k: v for k, v in stored.items() if k in DEFAULT_SETTINGS} if stored else dict(DEFAULT_SETTINGS)


def check_settings(current: dict[str, Any], change: Any) -> dict[str, Any]:
    """``current`` updated with ``change``; ValueError names what is wrong with it."""
    if not isinstance(change, dict):
        raise ValueError("the settings must be a JSON object")
    unknown = set(change) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}")
    new = {**current, **change}
    if new["country"] not in COUNTRIES:
        raise ValueError(f"country must be one of {sorted(COUNTRIES)}")
    if "country" in change and "home_currency" not in change:
        new["home_currency"] = COUNTRIES[new["country"]]
    if "country" in change and "company_address" not in change:
        new["company_address"] = dict(COMPANY_ADDRESSES[new["country"]])
    for flag in ("automated_sales_tax", "multicurrency"):
        if not isinstance(new[flag], bool):
            raise ValueError(f"{flag} must be true or false")
    if not (isinstance(new["home_currency"], str) and len(new["home_currency"]) == 3):
        raise ValueError("home_currency must be an ISO 4217 code such as USD")
    address = new["company_address"]
    if not isinstance(address, dict) or set(address) - ADDRESS_FIELDS:
        raise ValueError(f"company_address must be a PhysicalAddress with fields from {sorted(ADDRESS_FIELDS)}")
    return new


def apply_settings(view: RealmView, settings: dict[str, Any]) -> None:
    """Store ``settings`` (already checked) and rewrite Preferences, CompanyInfo and the tax lists from them."""
    previous = view.get(SETTINGS, "1")
    view.put(SETTINGS, {"Id": "1", **settings})
    _put(view, "Preferences", preferences(settings))
    _put(view, "CompanyInfo", company_info(settings, view.realm))
    if previous is None or previous.get("country") != settings["country"]:
        view.delete_all("TaxRate")
        view.delete_all("TaxCode")
        rates = rates_for(settings["country"])
        names = {rate.ident: rate.name for rate in rates}
        for rate in rates:
            _put(view, "TaxRate", rate_entity(rate))
        for code in codes_for(settings["country"]):
            _put(view, "TaxCode", code_entity(code, names))


def seed_lists(view: RealmView) -> None:
    """A new realm's settings-driven entities, Classes, Departments and Terms."""
    apply_settings(view, dict(DEFAULT_SETTINGS))
    for ident, name in SEED_CLASSES:
        _put(view, "Class", {"Id": ident, "Name": name, "FullyQualifiedName": name, "SubClass": False,
                             "Active": True})
    for ident, name in SEED_DEPARTMENTS:
        _put(view, "Department", {"Id": ident, "Name": name, "FullyQualifiedName": name, "SubDepartment": False,
                                  "Active": True})
    for ident, name, days in SEED_TERMS:
        _put(view, "Term", {"Id": ident, "Name": name, "Type": "STANDARD", "DueDays": days, "DiscountPercent": 0,
                            "DiscountDays": 0, "Active": True})


def preferences(settings: dict[str, Any]) -> dict[str, Any]:
    """The Preferences entity (Intuit's Preferences reference, …/all-entities/preferences): only the parts the
    sandbox's behaviour depends on. TaxPrefs.PartnerTaxEnabled: "If not present in response payload, the
    company is not enabled for automated sales tax", so it is left out without AST and outside the US."""
    tax: dict[str, Any] = {"UsingSalesTax": True}
    if settings["country"] == "US" and settings["automated_sales_tax"]:
        tax["PartnerTaxEnabled"] = True
    if settings["country"] == "US" and not settings["automated_sales_tax"]:
        tax["TaxGroupCodeRef"] = {"value": "2"}  # the company's default tax group: Illinois (sandbox.qbo_tax)
    return {
        "Id": "1",
        "AccountingInfoPrefs": {"TrackDepartments": True, "DepartmentTerminology": "Location",
                                "ClassTrackingPerTxn": True, "ClassTrackingPerTxnLine": False,
                                "CustomerTerminology": "Customers", "FirstMonthOfFiscalYear": "January"},
        "SalesFormsPrefs": {"CustomTxnNumbers": True, "AllowShipping": False, "AllowServiceDate": True,
                            "AllowDiscount": True, "AllowDeposit": True, "DefaultTerms": {"value": "3"}},
        "TaxPrefs": tax,
        "CurrencyPrefs": {"HomeCurrency": {"value": settings["home_currency"]},
                          "MultiCurrencyEnabled": settings["multicurrency"]},
    }


def company_info(settings: dict[str, Any], realm: str) -> dict[str, Any]:
    """The CompanyInfo entity (Intuit's CompanyInfo reference, …/most-commonly-used/companyinfo)."""
    address = {"Id": "1", **settings["company_address"]}
    return {"Id": "1", "CompanyName": f"Sandbox Company {realm}", "LegalName": f"Sandbox Company {realm}",
            "CompanyAddr": address, "LegalAddr": address, "CustomerCommunicationAddr": address,
            "Country": settings["country"], "SupportedLanguages": "en", "FiscalYearStartMonth": "January",
            "Email": {"Address": "noreply@sandbox.invalid"}, "WebAddr": {},
            "NameValue": [{"Name": "NeoEnabled", "Value": "true"},
                          {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}]}
