"""QBO sales tax in the sandbox: an illustrative rate table, per-country tax codes and rates, TxnTaxDetail.

The rates are illustrative, not current law: they are near real 2024 rates so totals look plausible,
but no tax is ever to be filed from them. Two models, as Intuit describes them:

* US with Automated Sales Tax (AST): the engine picks the rates from the destination address, the
  invoice's ShipAddr, else the company address ("If a shipping address is not provided, the company
  address is considered as the destination address", Intuit's "Manage sales tax for US locales",
  https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-sales-tax-for-us-locales and
  https://blogs.intuit.com/2017/12/11/using-quickbooks-online-api-automated-sales-tax/). Lines with
  TaxCodeRef TAX are taxed, NON are not (the US "pseudo tax codes", same page).
* US without AST, and CA/GB/AU: each line's TaxCodeRef names a TaxCode whose
  SalesTaxRateList.TaxRateDetail[].TaxRateRef names TaxRates (Intuit's "Manage sales tax for non-US
  locales", https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-sales-tax-for-non-us-locales).
  A US company without AST taxes its TAX lines with the invoice's TxnTaxDetail.TxnTaxCodeRef, else the
  company's Preferences.TaxPrefs.TaxGroupCodeRef (Intuit's Preferences example carries one).

Which address fields AST really reads, and how its rates are keyed, is Intuit's secret: the sandbox
keys on CountrySubDivisionCode, then PostalCode ranges, then City.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Rate:
    """One seeded TaxRate: its Id, Name, RateValue (a percentage, "8.5" not "0.085") and agency."""

    ident: str
    name: str
    percent: Decimal
    agency: str = "1"


@dataclass(frozen=True)
class Code:
    """One seeded TaxCode and the ids of the sales rates in its SalesTaxRateList."""

    ident: str
    name: str
    description: str
    rates: tuple[str, ...]
    taxable: bool = True
    group: bool = True


# ---- US: the AST table ---------------------------------------------------------------------------

US_RATES = (
    Rate("1", "IL State", Decimal("6.25"), "1"),
    Rate("2", "Cook County", Decimal("1.75"), "1"),
    Rate("3", "Chicago City", Decimal("1.25"), "1"),
    Rate("4", "RTA", Decimal("1.00"), "1"),
    Rate("5", "WI State", Decimal("5.00"), "2"),
    Rate("6", "Milwaukee County", Decimal("0.90"), "2"),
    Rate("7", "Milwaukee City", Decimal("2.00"), "2"),
    Rate("8", "Sandbox default", Decimal("6.00"), "3"),
    Rate("9", "MN State", Decimal("6.875"), "4"),
    Rate("10", "Minneapolis City", Decimal("1.15"), "4"),
    Rate("11", "St. Paul City", Decimal("1.00"), "4"),
)
# Ids 1..5 are numeric like the AST-created codes in Intuit's examples; TAX and NON are the pseudo codes.
US_CODES = (
    Code("TAX", "TAX", "TAX", (), group=False),
    Code("NON", "NON", "NON", (), taxable=False, group=False),
    Code("2", "Illinois", "Illinois", ("1",)),
    Code("3", "Chicago", "Chicago, IL", ("1", "2", "3", "4")),
    Code("4", "Wisconsin", "Wisconsin", ("5",)),
    Code("5", "Milwaukee", "Milwaukee, WI", ("5", "6", "7")),
    Code("6", "Sandbox default", "Any address outside the sandbox's table", ("8",)),
    Code("7", "Minnesota", "Minnesota", ("9",)),
    Code("8", "Minneapolis", "Minneapolis, MN", ("9", "10")),
    Code("9", "St. Paul", "St. Paul, MN", ("9", "11")),
)


@dataclass(frozen=True)
class Jurisdiction:
    """Where a US tax code applies: a state, optionally narrowed to postal-code ranges or a city."""

    state: str
    code: str
    postal: tuple[tuple[str, str], ...] = ()
    city: str = ""


# Most specific first: the first jurisdiction that matches the address wins.
US_JURISDICTIONS = (
    Jurisdiction("IL", "3", postal=(("60601", "60661"),), city="Chicago"),
    Jurisdiction("WI", "5", postal=(("53202", "53202"),), city="Milwaukee"),
    Jurisdiction("MN", "8", postal=(("55401", "55415"),), city="Minneapolis"),
    Jurisdiction("MN", "9", postal=(("55101", "55107"),), city="St. Paul"),
    Jurisdiction("IL", "2"),
    Jurisdiction("WI", "4"),
    Jurisdiction("MN", "7"),
)
US_DEFAULT_CODE = "6"

# ---- the other countries: their usual codes, as a new company of that country is seeded -----------

GLOBAL_RATES: dict[str, tuple[Rate, ...]] = {
    "CA": (Rate("1", "GST", Decimal("5")), Rate("2", "HST ON", Decimal("13")),
           Rate("3", "GST ZR", Decimal("0")), Rate("4", "GST ES", Decimal("0"))),
    "GB": (Rate("1", "20.0% S", Decimal("20")), Rate("2", "0.0% Z", Decimal("0")),
           Rate("3", "Exempt", Decimal("0"))),
    "AU": (Rate("1", "GST (sales)", Decimal("10")), Rate("2", "GST-free (sales)", Decimal("0"))),
}
GLOBAL_CODES: dict[str, tuple[Code, ...]] = {
    "CA": (Code("2", "GST", "GST", ("1",)), Code("3", "HST ON", "HST Ontario", ("2",)),
           Code("4", "Zero-rated", "Zero-rated", ("3",)), Code("5", "Exempt", "Exempt", ("4",))),
    "GB": (Code("2", "20.0% S", "Standard rate", ("1",)), Code("3", "0.0% Z", "Zero rate", ("2",)),
           Code("4", "Exempt", "Exempt", ("3",))),
    "AU": (Code("2", "GST", "GST on sales", ("1",)), Code("3", "GST free", "GST free sales", ("2",))),
}
TAX_WORD = {"CA": "GST/HST", "GB": "VAT", "AU": "GST"}
"""How the 6000 Fault for a line without a tax code names the tax (Autotask's KB quotes the CA wording)."""


def rates_for(country: str) -> tuple[Rate, ...]:
    return US_RATES if country == "US" else GLOBAL_RATES[country]


def codes_for(country: str) -> tuple[Code, ...]:
    return US_CODES if country == "US" else GLOBAL_CODES[country]


def rate_entity(rate: Rate) -> dict[str, Any]:
    """A TaxRate as Intuit's TaxRate reference shows one (…/all-entities/taxrate)."""
    return {"Id": rate.ident, "Name": rate.name, "Description": "Sales Tax", "RateValue": rate.percent,
            "AgencyRef": {"value": rate.agency}, "SpecialTaxType": "NONE", "DisplayType": "ReadOnly",
            "Active": True}


def code_entity(code: Code, names: Mapping[str, str]) -> dict[str, Any]:
    """A TaxCode as Intuit's TaxCode reference shows one (…/all-entities/taxcode); ``names`` maps rate ids."""
    body: dict[str, Any] = {"Id": code.ident, "Name": code.name, "Description": code.description,
                            "Active": True, "Taxable": code.taxable, "TaxGroup": code.group}
    if code.group:
        body["SalesTaxRateList"] = {"TaxRateDetail": [
            {"TaxRateRef": {"value": ident, "name": names[ident]}, "TaxTypeApplicable": "TaxOnAmount",
             "TaxOrder": 0} for ident in code.rates]}
        body["PurchaseTaxRateList"] = {"TaxRateDetail": []}
    return body


def ast_code(address: Mapping[str, Any] | None) -> str:
    """The id of the US tax code AST would assign to ``address`` (a PhysicalAddress), from the table above."""
    address = address or {}
    state = str(address.get("CountrySubDivisionCode") or "").strip().upper()
    postal = str(address.get("PostalCode") or "").strip()[:5]
    city = str(address.get("City") or "").strip().casefold()
    for place in US_JURISDICTIONS:
        if place.state != state:
            continue
        narrowed = bool(place.postal or place.city)
        in_postal = any(low <= postal <= high for low, high in place.postal) if postal else False
        in_city = bool(place.city) and city == place.city.casefold()
        if not narrowed or in_postal or (not postal and in_city):
            return place.code
    return US_DEFAULT_CODE


def _split(total: Decimal, net: Decimal, percents: list[Decimal]) -> list[Decimal]:
    """Each rate's share of ``total`` rounded half-up to cents; the largest rate takes the rounding rest."""
    shares = [(net * pct / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP) for pct in percents]
    if shares:
        largest = max(range(len(percents)), key=lambda i: percents[i])
        shares[largest] += total - sum(shares, Decimal("0"))
    return shares


def tax_detail(groups: Iterable[tuple[str, Decimal, Decimal]], rates: Mapping[str, Rate],
               code_ref: str | None, *, inclusive: bool = False) -> dict[str, Any]:
    """The TxnTaxDetail for ``groups`` of (tax code's rate ids joined by ",", net taxable, gross) amounts.

    Shape from Intuit's Invoice reference example: {"TxnTaxCodeRef": {"value": ...}, "TotalTax": ...,
    "TaxLine": [{"DetailType": "TaxLineDetail", "Amount": ..., "TaxLineDetail": {"TaxRateRef": {...},
    "PercentBased": true, "TaxPercent": 8, "NetAmountTaxable": ...}}]}. Rounding is not documented by
    Intuit: the sandbox rounds the tax on each code's taxable subtotal (at the code's combined rate)
    half-up to cents, then splits it across the code's rates. ``inclusive`` (GlobalTaxCalculation
    TaxInclusive) reads the amounts as tax-inclusive: tax = gross - gross / (1 + rate), also half-up.
    """
    lines: list[dict[str, Any]] = []
    total_tax = Decimal("0.00")
    for joined, net, gross in groups:
        ids = [i for i in joined.split(",") if i]
        net, gross = net.quantize(CENT), gross.quantize(CENT)
        percents = [rates[i].percent for i in ids]
        combined = sum(percents, Decimal("0"))
        if inclusive:
            tax = (gross - gross * HUNDRED / (HUNDRED + combined)).quantize(CENT, rounding=ROUND_HALF_UP)
            net = gross - tax
        else:
            tax = (net * combined / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
        total_tax += tax
        for ident, pct, share in zip(ids, percents, _split(tax, net, percents)):
            lines.append({"DetailType": "TaxLineDetail", "Amount": share, "TaxLineDetail": {
                "TaxRateRef": {"value": ident, "name": rates[ident].name}, "PercentBased": True,
                "TaxPercent": pct, "NetAmountTaxable": net}})
    detail: dict[str, Any] = {"TotalTax": total_tax}
    if code_ref:
        detail = {"TxnTaxCodeRef": {"value": code_ref}, **detail}
    if lines:
        detail["TaxLine"] = lines
    return detail
