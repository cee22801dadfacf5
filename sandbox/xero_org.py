"""A Xero sandbox organisation: its settings (country, currency, terms), tax rates, chart, tracking and the GET shapes.

Settings, set with ``POST /_sandbox/xero/{tenant}/settings`` (any subset; the rest keeps its value) and read
back with ``GET`` on the same path::

    {"country": "NZ" | "AU" | "GB" | "US",         # default NZ
     "base_currency": "NZD",                       # default: the country's currency
     "multicurrency": false,                       # true: "currencies" may be invoiced too
     "currencies": ["AUD", "USD"],                 # subscribed besides the base (only with multicurrency)
     "default_sales_terms": {"Day": 20, "Type": "OFFOLLOWINGMONTH"} | null,
     "due_date_from_terms": false,                 # see DUE_DATE in sandbox.xero_entities
     "unknown_tracking": "refuse" | "ignore",      # see TRACKING in sandbox.xero_entities
     "tracking_categories": {"Region": ["Wellington", "Hutt Valley"], ...}}   # at most 2 categories

Every seed names its source beside it. [P] = Xero's own page or the OpenAPI spec, [S] = a third party.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

COUNTRIES = ("NZ", "AU", "GB", "US")
TERM_TYPES = ("DAYSAFTERBILLDATE", "DAYSAFTERBILLMONTH", "OFCURRENTMONTH", "OFFOLLOWINGMONTH")  # spec PaymentTermType
UNKNOWN_TRACKING = ("refuse", "ignore")
MAX_TRACKING_CATEGORIES = 2  # Xero: two active tracking categories per organisation [P help.xero.com "Tracking"]
MAX_TRACKING_NAME = 100  # spec TrackingCategory.Name / TrackingOption.Name "(max length = 100)" [P]

# Xero's "Version" (spec Organisation.Version enum) and the rest of GET /Organisation per country. The
# timezones are the spec's TimeZone names; SalesTaxBasis/SalesTaxPeriod values come from the spec's enums,
# which value a real organisation of each country holds is the sandbox's choice (not documented per country).
_COUNTRY = {
    "NZ": {"currency": "NZD", "version": "NZ", "timezone": "NEWZEALANDSTANDARDTIME", "year_end_month": 3,
           "tax_basis": "INVOICE", "tax_period": "2MONTHLY", "name": "Closeout Sandbox NZ Ltd"},
    "AU": {"currency": "AUD", "version": "AU", "timezone": "AUSEASTERNSTANDARDTIME", "year_end_month": 6,
           "tax_basis": "ACCRUALS", "tax_period": "QUARTERLY1", "name": "Closeout Sandbox AU Pty Ltd"},
    "GB": {"currency": "GBP", "version": "UK", "timezone": "GMTSTANDARDTIME", "year_end_month": 3,
           "tax_basis": "ACCRUAL", "tax_period": "QUARTERLY1", "name": "Closeout Sandbox UK Ltd"},
    "US": {"currency": "USD", "version": "US", "timezone": "EASTERNSTANDARDTIME", "year_end_month": 12,
           "tax_basis": "ACCRUAL", "tax_period": "QUARTERLY", "name": "Closeout Sandbox US Inc"},
}

# Descriptions as GET /Currencies gives them (spec Currency: Code, Description).
CURRENCY_NAMES = {"NZD": "New Zealand Dollar", "AUD": "Australian Dollar", "GBP": "British Pound",
                  "USD": "United States Dollar", "EUR": "Euro", "CAD": "Canadian Dollar", "FJD": "Fiji Dollar",
                  "SGD": "Singapore Dollar", "JPY": "Japanese Yen", "CNY": "Chinese Yuan"}


@dataclass(frozen=True)
class TaxRateSeed:
    tax_type: str
    name: str
    rate: Decimal  # percent, as DisplayTaxRate
    report_tax_type: str | None  # None: the element is left out (US and Global do not support it [S gravitydata])
    revenue: bool  # CanApplyToRevenue
    expenses: bool  # CanApplyToExpenses
    liabilities: bool = True  # CanApplyToLiabilities
    component: str = "GST"


_R = TaxRateSeed
TAX_RATES: dict[str, tuple[TaxRateSeed, ...]] = {
    # NZ: exactly the spec's getTaxRates example, an NZ organisation [P xero_accounting.yaml /TaxRates GET].
    # There is no OUTPUT, EXEMPTOUTPUT or ZERORATEDOUTPUT in NZ: OUTPUT was the 12.5 % rate retired in 2010
    # [S tradegecko "Xero Default Tax Rate"], the others belong to AU / GB.
    "NZ": (_R("INPUT2", "15% GST on Expenses", Decimal("15"), "INPUT", revenue=False, expenses=True),
           _R("OUTPUT2", "15% GST on Income", Decimal("15"), "OUTPUT", revenue=True, expenses=False),
           _R("GSTONIMPORTS", "GST on Imports", Decimal("0"), "GSTONIMPORTS", revenue=False, expenses=False),
           _R("NONE", "No GST", Decimal("0"), "NONE", revenue=True, expenses=True),
           _R("ZERORATED", "Zero Rated", Decimal("0"), "OUTPUT", revenue=True, expenses=False)),
    # AU: names and rates [S Ostendo "Xero Integration / Tax Codes", help.odatalink.com TaxTypes]; which
    # account classes each applies to [S tradegecko "Xero Default Tax Rate"].
    "AU": (_R("OUTPUT", "GST on Income", Decimal("10"), "OUTPUT", revenue=True, expenses=False),
           _R("INPUT", "GST on Expenses", Decimal("10"), "INPUT", revenue=False, expenses=True),
           _R("EXEMPTOUTPUT", "GST Free Income", Decimal("0"), "EXEMPTOUTPUT", revenue=True, expenses=False),
           _R("EXEMPTEXPENSES", "GST Free Expenses", Decimal("0"), "EXEMPTEXPENSES", revenue=False, expenses=True),
           _R("BASEXCLUDED", "BAS Excluded", Decimal("0"), "BASEXCLUDED", revenue=True, expenses=True),
           _R("GSTONIMPORTS", "GST on Imports", Decimal("0"), "GSTONIMPORTS", revenue=False, expenses=False)),
    # GB: names and rates [P help.xero.com/uk/Tax-SetDefaults "Default tax rates"]; TaxType codes
    # [S tradegecko "Xero Default Tax Rate", eswap.global "How your default tax rate works"].
    "GB": (_R("OUTPUT2", "20% (VAT on Income)", Decimal("20"), "OUTPUT", revenue=True, expenses=False, component="VAT"),
           _R("INPUT2", "20% (VAT on Expenses)", Decimal("20"), "INPUT", revenue=False, expenses=True, component="VAT"),
           _R("RROUTPUT", "5% (VAT on Income)", Decimal("5"), "OUTPUT", revenue=True, expenses=False, component="VAT"),
           _R("RRINPUT", "5% (VAT on Expenses)", Decimal("5"), "INPUT", revenue=False, expenses=True, component="VAT"),
           _R("ZERORATEDOUTPUT", "Zero Rated Income", Decimal("0"), "OUTPUT", revenue=True, expenses=False,
              component="VAT"),
           _R("ZERORATEDINPUT", "Zero Rated Expenses", Decimal("0"), "INPUT", revenue=False, expenses=True,
              component="VAT"),
           _R("EXEMPTOUTPUT", "Exempt Income", Decimal("0"), "EXEMPTOUTPUT", revenue=True, expenses=False,
              component="VAT"),
           _R("EXEMPTINPUT", "Exempt Expenses", Decimal("0"), "EXEMPTINPUT", revenue=False, expenses=True,
              component="VAT"),
           _R("NONE", "No VAT", Decimal("0"), "NONE", revenue=True, expenses=True, component="VAT")),
    # US: the defaults are all 0 % [P help.xero.com/us/Tax-SetDefaults]; codes [S tradegecko]. A US company
    # adds its own rates, which get TaxTypes TAX001, TAX002, … [S docs.gravitydata.co TaxRates]: the sandbox
    # organisation has added one, so US tax can be exercised.
    "US": (_R("OUTPUT", "Tax on Sales", Decimal("0"), None, revenue=True, expenses=True, component="Sales Tax"),
           _R("INPUT", "Tax on Purchases", Decimal("0"), None, revenue=True, expenses=True, component="Sales Tax"),
           _R("NONE", "Tax Exempt", Decimal("0"), None, revenue=True, expenses=True, component="Sales Tax"),
           _R("GSTONIMPORTS", "Sales Tax on Imports", Decimal("0"), None, revenue=False, expenses=False,
              component="Sales Tax"),
           _R("TAX001", "City Sales Tax (8.875%)", Decimal("8.875"), None, revenue=True, expenses=True,
              component="Sales Tax")),
}

# The chart's sales side: (code, name, Type, Class, default tax type per country, SystemAccount). Codes and
# names as in Xero's default chart (200 Sales, 260 Other Revenue, 400 Advertising [P spec getAccounts and
# /Setup examples]; 860 Rounding [S lightyear.cloud, docs.hirepos.com "Xero Rounding Account"]). A line with
# an AccountCode and no TaxType takes the account's TaxType [P developer.xero.com "Changes to tax codes in
# Australia": "you rely on using the AccountCode only which defaults the tax code"].
_SALES, _EXPENSE = {"NZ": "OUTPUT2", "AU": "OUTPUT", "GB": "OUTPUT2", "US": "OUTPUT"}, \
    {"NZ": "INPUT2", "AU": "INPUT", "GB": "INPUT2", "US": "INPUT"}
_NONE = {"NZ": "NONE", "AU": "BASEXCLUDED", "GB": "NONE", "US": "NONE"}
# 090 is the one bank account payments are received into: the spec's BankTransfers example has a bank account
# with Code "090" [P spec /BankTransfers GET]; its name here is the sandbox's own. Type BANK, Class ASSET
# [P spec AccountType / Account.Class enums], BankAccountType BANK [P spec Account.BankAccountType]. A Payment's
# account "needs to be either an account of type BANK or have enable payments to this accounts switched on"
# [S pipedream xero create-payment, quoting Xero's Payments page]: no other seeded account has the switch on.
ACCOUNTS = (("090", "Business Bank Account", "BANK", "ASSET", _NONE, None),
            ("200", "Sales", "REVENUE", "REVENUE", _SALES, None),
            ("260", "Other Revenue", "REVENUE", "REVENUE", _SALES, None),
            ("400", "Advertising", "OVERHEADS", "EXPENSE", _EXPENSE, None),
            ("860", "Rounding", "CURRLIAB", "LIABILITY", _NONE, "ROUNDING"))

# The brief's seed: two categories, the most an organisation may have active.
DEFAULT_TRACKING = {"Region": ["Wellington", "Hutt Valley"], "Job type": ["Installation", "Service"]}


class SettingsError(ValueError):
    """An admin settings body the sandbox cannot use."""


def default_settings() -> dict[str, Any]:
    return {"country": "NZ", "base_currency": "NZD", "multicurrency": False, "currencies": [],
            "default_sales_terms": None, "due_date_from_terms": False, "unknown_tracking": "refuse",
            "tracking_categories": DEFAULT_TRACKING}


def merge_settings(current: dict[str, Any], spec: Any) -> dict[str, Any]:
    """``current`` with the keys of ``spec`` applied and checked; a new country brings its currency."""
    if not isinstance(spec, dict):
        raise SettingsError("settings must be a JSON object")
    unknown = set(spec) - set(default_settings())
    if unknown:
        raise SettingsError(f"unknown settings: {sorted(unknown)}")
    merged = {**current, **spec}
    if merged["country"] not in COUNTRIES:
        raise SettingsError(f"country must be one of {COUNTRIES}")
    if "country" in spec and "base_currency" not in spec:
        merged["base_currency"] = _COUNTRY[merged["country"]]["currency"]
    codes = [merged["base_currency"], *merged["currencies"]] if isinstance(merged["currencies"], list) else None
    if codes is None or not all(isinstance(c, str) and len(c) == 3 and c.isupper() for c in codes):
        raise SettingsError("base_currency and currencies must be 3-letter ISO 4217 codes")
    for flag in ("multicurrency", "due_date_from_terms"):
        if not isinstance(merged[flag], bool):
            raise SettingsError(f"{flag} must be true or false")
    if merged["unknown_tracking"] not in UNKNOWN_TRACKING:
        raise SettingsError(f"unknown_tracking must be one of {UNKNOWN_TRACKING}")
    terms = merged["default_sales_terms"]
    if terms is not None and not (isinstance(terms, dict) and set(terms) == {"Day", "Type"}
                                  and isinstance(terms["Day"], int) and 0 <= terms["Day"] <= 31
                                  and terms["Type"] in TERM_TYPES):
        raise SettingsError(f"default_sales_terms must be null or {{'Day': 0..31, 'Type': one of {TERM_TYPES}}}")
    tracking = merged["tracking_categories"]
    if not (isinstance(tracking, dict) and len(tracking) <= MAX_TRACKING_CATEGORIES
            and all(isinstance(n, str) and 0 < len(n) <= MAX_TRACKING_NAME and isinstance(o, list)
                    and all(isinstance(x, str) and 0 < len(x) <= MAX_TRACKING_NAME for x in o)
                    for n, o in tracking.items())):
        raise SettingsError(f"tracking_categories must map at most {MAX_TRACKING_CATEGORIES} names to option lists")
    return merged


def _ident(tenant: str, *parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "xero-sandbox/" + "/".join((tenant, *parts))))


def tax_rate(settings: dict[str, Any], tax_type: str) -> TaxRateSeed | None:
    """The organisation's rate for ``tax_type`` (exact code, as Xero's TaxType codes are upper case)."""
    return next((seed for seed in TAX_RATES[settings["country"]] if seed.tax_type == tax_type), None)


def account(settings: dict[str, Any], code: str) -> dict[str, Any] | None:
    return next((a for a in account_bodies("", settings) if a["Code"] == code), None)


def account_bodies(tenant: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """GET /Accounts: the spec's Account shape (Code, Name, Type, Class, TaxType, Status, …)."""
    country = settings["country"]
    return [{"AccountID": _ident(tenant, "account", code), "Code": code, "Name": name, "Type": kind,
             "Class": klass, "TaxType": taxes[country], "Status": "ACTIVE", "EnablePaymentsToAccount": False,
             "ShowInExpenseClaims": klass == "EXPENSE", "HasAttachments": False, "AddToWatchlist": False,
             **({"SystemAccount": system} if system else {}),
             **({"BankAccountType": "BANK", "CurrencyCode": settings["base_currency"]} if kind == "BANK" else {})}
            for code, name, kind, klass, taxes, system in ACCOUNTS]


def tax_rate_bodies(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """GET /TaxRates in the spec's example shape (TaxComponents, CanApplyTo*, DisplayTaxRate, EffectiveRate)."""
    return [{"Name": seed.name, "TaxType": seed.tax_type,
             **({"ReportTaxType": seed.report_tax_type} if seed.report_tax_type else {}),
             "CanApplyToAssets": seed.liabilities, "CanApplyToEquity": seed.liabilities,
             "CanApplyToExpenses": seed.expenses, "CanApplyToLiabilities": seed.liabilities,
             "CanApplyToRevenue": seed.revenue, "DisplayTaxRate": seed.rate, "EffectiveRate": seed.rate,
             "Status": "ACTIVE", "TaxComponents": [{"Name": seed.component, "Rate": seed.rate, "IsCompound": False,
                                                    "IsNonRecoverable": False}]}
            for seed in TAX_RATES[settings["country"]]]


def tracking_bodies(tenant: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """GET /TrackingCategories: spec TrackingCategory {TrackingCategoryID, Name, Status, Options[TrackingOption]}."""
    return [{"TrackingCategoryID": _ident(tenant, "tracking", name), "Name": name, "Status": "ACTIVE",
             "Options": [{"TrackingOptionID": _ident(tenant, "tracking", name, option), "Name": option,
                          "Status": "ACTIVE"} for option in options]}
            for name, options in settings["tracking_categories"].items()]


def currency_codes(settings: dict[str, Any]) -> list[str]:
    """The base currency, then the subscribed ones when multicurrency is on (GET /Currencies)."""
    extra = [c for c in settings["currencies"] if c != settings["base_currency"]] if settings["multicurrency"] else []
    return [settings["base_currency"], *extra]


def currency_bodies(settings: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Code": code, "Description": CURRENCY_NAMES.get(code, code)} for code in currency_codes(settings)]


def organisation_body(tenant: str, settings: dict[str, Any]) -> dict[str, Any]:
    """GET /Organisation: the spec's Organisation fields a sales integration reads.

    ``PaymentTerms.Sales`` is there only when default sales terms are set ("Shown if set" style, as the
    other optional Organisation fields); ``DefaultSalesTax`` is the wording the Xero UI shows.
    """
    facts = _COUNTRY[settings["country"]]
    body: dict[str, Any] = {
        "OrganisationID": _ident(tenant, "organisation"), "Name": facts["name"], "LegalName": facts["name"],
        "PaysTax": True, "Version": facts["version"], "OrganisationType": "COMPANY",
        "BaseCurrency": settings["base_currency"], "CountryCode": settings["country"], "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE", "FinancialYearEndDay": calendar.monthrange(2026, facts["year_end_month"])[1],
        "FinancialYearEndMonth": facts["year_end_month"], "SalesTaxBasis": facts["tax_basis"],
        "SalesTaxPeriod": facts["tax_period"], "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive", "Timezone": facts["timezone"], "OrganisationEntityType": "COMPANY",
        "ShortCode": "!" + tenant.replace("-", "")[:5], "Class": "PREMIUM", "Edition": "BUSINESS",
        "LineOfBusiness": "Field services", "Addresses": [], "Phones": [], "ExternalLinks": [], "PaymentTerms": {},
    }
    if settings["default_sales_terms"]:
        body["PaymentTerms"]["Sales"] = dict(settings["default_sales_terms"])
    return body


def due_date_from(day: date, terms: dict[str, Any]) -> date:
    """The due date ``terms`` (spec Bill: Day, Type) give an invoice dated ``day``.

    The four PaymentTermType meanings as the Xero UI names them: N days after the invoice date; N days
    after the end of the invoice month; the Nth of the current month; the Nth of the following month (a day
    past the month's end is its last day).
    """
    number, kind = int(terms["Day"]), terms["Type"]
    month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if kind == "DAYSAFTERBILLDATE":
        return day + timedelta(days=number)
    if kind == "DAYSAFTERBILLMONTH":
        return month_end + timedelta(days=number)
    if kind == "OFCURRENTMONTH":
        return day.replace(day=max(1, min(number, month_end.day)))
    following = month_end + timedelta(days=1)
    return following.replace(day=max(1, min(number, calendar.monthrange(following.year, following.month)[1])))
