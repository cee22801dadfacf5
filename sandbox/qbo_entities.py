"""Create and update of Customer, Item and Invoice with QBO's validations, Faults and computed fields."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable

from sandbox.qbo_store import RealmView
from sandbox.qbo_wire import QboFault, invalid_reference, not_found, now_stamp, required

CENT = Decimal("0.01")
MAX_DOC_NUMBER = 21
_READ_ONLY = {"Id", "SyncToken", "sparse", "domain", "MetaData", "TotalAmt", "Balance", "HomeBalance",
              "HomeTotalAmt", "TxnTaxDetail", "FullyQualifiedName", "BalanceWithJobs", "InvoiceLink"}
_ITEM_TYPES = {"Service", "NonInventory", "Inventory"}


def clean(value: Any) -> Any:
    """Drop what the SDK sends to mean "not set": "" and None values, and empty lists."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items() if v is not None and v != "" and v != []}
        return {k: v for k, v in out.items() if v != []}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("value")
    return None if value in (None, "") else str(value)


def _decimal(value: Any, element: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise InvalidOperation
        result = Decimal(value)
        if not result.is_finite():
            raise InvalidOperation
        return result
    except InvalidOperation:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property {element} must be a number, not {value!r}", element=element) from None


def _date(value: Any, element: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property {element} must be a date (YYYY-MM-DD), not {value!r}", element=element) from None


def _stale() -> QboFault:
    return QboFault("5010", "Stale Object Error",
                    "Stale Object Error : You and root were working on this at the same time. "
                    "root finished before you did, so your work was not saved.")


def _duplicate_name(name: str, owner: str) -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Another customer, vendor or employee is already using "
                    f"this name. Please use a different name. Name={name} Id={owner}")


def _customer(view: RealmView, data: dict[str, Any], ident: str | None, params: dict[str, str]) -> dict[str, Any]:
    given = " ".join(p for p in (data.get("GivenName"), data.get("FamilyName")) if p)
    name = str(data.get("DisplayName") or data.get("CompanyName") or given).strip()
    if not name:
        raise required("DisplayName")
    owner = view.name_owner("Customer", name, exclude=ident)
    if owner:
        raise _duplicate_name(name, owner)
    return {"Active": True, "Taxable": True, "Balance": Decimal("0"), **data, "DisplayName": name,
            "FullyQualifiedName": name, "PrintOnCheckName": data.get("PrintOnCheckName", name)}


def _item(view: RealmView, data: dict[str, Any], ident: str | None, params: dict[str, str]) -> dict[str, Any]:
    name = str(data.get("Name", "")).strip()
    if not name:
        raise required("Name")
    if data.get("Type") not in _ITEM_TYPES:
        raise required("Type") if not data.get("Type") else QboFault(
            "2010", "Request has invalid or unsupported property", f"Item Type {data['Type']!r} is not supported")
    account = _ref(data.get("IncomeAccountRef"))
    if not account:
        raise required("IncomeAccountRef")
    if not view.get("Account", account):
        raise invalid_reference("Account", account, "IncomeAccountRef")
    if data["Type"] == "Inventory":
        for field in ("AssetAccountRef", "InvStartDate", "QtyOnHand"):
            if field not in data:
                raise required(field)
    owner = view.name_owner("Item", name, exclude=ident)
    if owner:
        raise QboFault("6240", "Duplicate Name Exists Error",
                       f"The name supplied already exists. : Another product or service is using this name. "
                       f"Name={name} Id={owner}")
    price = _decimal(data.get("UnitPrice"), "UnitPrice") or Decimal("0")
    return {"Active": True, **data, "Name": name, "FullyQualifiedName": name, "UnitPrice": price}


def _sales_line(view: RealmView, raw: dict[str, Any], number: int) -> dict[str, Any]:
    detail = raw.get("SalesItemLineDetail") or {}
    item_id = _ref(detail.get("ItemRef"))
    if not item_id:
        raise required("Line.SalesItemLineDetail.ItemRef")
    item = view.get("Item", item_id)
    if not item or not item.get("Active", True):
        raise invalid_reference("Item", item_id, "Line.SalesItemLineDetail.ItemRef")
    tax = _ref(detail.get("TaxCodeRef")) or "NON"
    if not view.get("TaxCode", tax):
        raise invalid_reference("TaxCode", tax, "Line.SalesItemLineDetail.TaxCodeRef")
    qty = _decimal(detail.get("Qty"), "Line.SalesItemLineDetail.Qty")
    price = _decimal(detail.get("UnitPrice"), "Line.SalesItemLineDetail.UnitPrice")
    amount = _decimal(raw.get("Amount"), "Line.Amount")
    if amount is None:
        if qty is None or price is None:
            raise required("Line.Amount")
        amount = (qty * price).quantize(CENT, rounding=ROUND_HALF_UP)
    elif qty is not None and price is not None and (qty or price):
        if (qty * price).quantize(CENT, rounding=ROUND_HALF_UP) != amount.quantize(CENT, rounding=ROUND_HALF_UP):
            raise QboFault("6070", "A business validation error has occurred while processing your request",
                           f"Business Validation Error: Amount is not equal to UnitPrice * Qty. "
                           f"Supplied value:{amount}", element="Line.Amount")
    out_detail = {**detail, "ItemRef": {"value": item_id, "name": item["Name"]}, "TaxCodeRef": {"value": tax},
                  "Qty": qty, "UnitPrice": price, "ItemAccountRef": item.get("IncomeAccountRef"),
                  "ServiceDate": _date(detail.get("ServiceDate"), "Line.SalesItemLineDetail.ServiceDate")}
    line = {"Id": str(number), "LineNum": number, "Description": raw.get("Description"), "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {k: v for k, v in out_detail.items() if v is not None}}
    return {k: v for k, v in line.items() if v is not None}


def _invoice(view: RealmView, data: dict[str, Any], ident: str | None, params: dict[str, str]) -> dict[str, Any]:
    customer_id = _ref(data.get("CustomerRef"))
    if not customer_id:
        raise required("CustomerRef")
    customer = view.get("Customer", customer_id)
    if not customer or not customer.get("Active", True):
        raise invalid_reference("Customer", customer_id, "CustomerRef")
    lines: list[dict[str, Any]] = []
    for raw in data.get("Line", []):
        kind = raw.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # computed by QBO, echoed back by clients that resend what they read
        if kind != "SalesItemLineDetail":
            raise QboFault("2010", "Request has invalid or unsupported property",
                           f"Line DetailType {kind!r} is not supported by the sandbox", element="Line.DetailType")
        lines.append(_sales_line(view, raw, len(lines) + 1))
    if not lines:
        raise QboFault("6000", "A business validation error has occurred while processing your request",
                       "Business Validation Error: You must fill out at least one split line.", element="Line")
    doc = data.get("DocNumber")
    if doc is not None:
        doc = str(doc)
        if len(doc) > MAX_DOC_NUMBER:
            raise QboFault("2050", "String length is either shorter or longer than supported by specification",
                           f"String length specified does not match the supported length. Min:0 Max:21 "
                           f"supplied length:{len(doc)}", element="DocNumber")
        owner = view.doc_number_owner(doc, exclude=ident)
        if owner and "allowduplicatedocnum" not in params.get("include", "").lower():
            raise QboFault("6140", "Duplicate Document Number Error",
                           f"Duplicate Document Number Error : You must specify a different number. This number "
                           f"has already been used. DocNumber={doc} is assigned to TxnType=Invoice with TxnId={owner}")
    txn_date = _date(data.get("TxnDate"), "TxnDate") or date.today().isoformat()
    due = _date(data.get("DueDate"), "DueDate") or (date.fromisoformat(txn_date) + timedelta(days=30)).isoformat()
    total = sum((line["Amount"] for line in lines), Decimal("0")).quantize(CENT)
    deposit = _decimal(data.get("Deposit"), "Deposit") or Decimal("0")
    subtotal = {"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    return {"PrintStatus": "NotSet", "EmailStatus": "NotSet", **data,
            "CustomerRef": {"value": customer_id, "name": customer["DisplayName"]},
            "CurrencyRef": data.get("CurrencyRef", {"value": "USD", "name": "United States Dollar"}),
            "DocNumber": doc, "TxnDate": txn_date, "DueDate": due, "Line": [*lines, subtotal],
            "TxnTaxDetail": {"TotalTax": Decimal("0")}, "TotalAmt": total, "Balance": total - deposit}


_VALIDATORS: dict[str, Callable[[RealmView, dict[str, Any], str | None, dict[str, str]], dict[str, Any]]] = {
    "Customer": _customer, "Item": _item, "Invoice": _invoice,
}
WRITABLE = tuple(_VALIDATORS)


def save_entity(view: RealmView, entity: str, body: Any, params: dict[str, str]) -> dict[str, Any]:
    """Create (no Id) or update (Id + current SyncToken, ``sparse`` merges) one entity; return it as stored.

    ``body`` is what python-quickbooks sends: "" and empty lists mean absent, an int SyncToken is fine,
    read-only fields (TotalAmt, Balance, MetaData, TxnTaxDetail, ...) are ignored and recomputed; money
    stays Decimal. Ids are per-realm, per-entity sequences of decimal strings.

    Raises QboFault: 610 unknown Id, 5010 stale SyncToken, 6140 duplicate DocNumber, 6240 duplicate name,
    2020 required field missing, 2500 reference to a missing item/customer/tax code, 6000 no lines.
    """
    if not isinstance(body, dict):
        raise QboFault("2010", "Request has invalid or unsupported property", f"The body must be a {entity} object")
    data = clean(body)
    ident, existing = data.get("Id"), None
    if ident not in (None, 0, "0"):
        existing = view.get(entity, str(ident))
        if existing is None:
            raise not_found(entity, str(ident))
        if str(data.get("SyncToken", "")) != existing["SyncToken"]:
            raise _stale()
        if data.get("sparse") is True:
            data = {**existing, **data}
    fields = {k: v for k, v in data.items() if k not in _READ_ONLY}
    result = _VALIDATORS[entity](view, fields, existing["Id"] if existing else None, params)
    stamp = now_stamp()
    result = {k: v for k, v in result.items() if v is not None}
    result.update({
        "Id": existing["Id"] if existing else view.next_id(entity),
        "SyncToken": str(int(existing["SyncToken"]) + 1) if existing else "0",
        "sparse": False, "domain": "QBO",
        "MetaData": {"CreateTime": existing["MetaData"]["CreateTime"] if existing else stamp, "LastUpdatedTime": stamp},
    })
    view.put(entity, result)
    return result
