"""Create and update of Customer, Item and Invoice with QBO's validations, Faults and computed fields."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from sandbox.qbo_fields import business_fault as _business, read_currency as _currency, read_date as _date
from sandbox.qbo_fields import read_decimal as _decimal, read_ref as _ref
from sandbox.qbo_schema import check_fields, check_lengths
from sandbox.qbo_settings import read_settings
from sandbox.qbo_store import RealmView
from sandbox.qbo_tax import TAX_WORD, Rate, ast_code, tax_detail
from sandbox.qbo_wire import QboFault, invalid_reference, not_found, now_stamp, required

CENT = Decimal("0.01")
MAX_DOC_NUMBER = 21
_READ_ONLY = {"Id", "SyncToken", "sparse", "domain", "MetaData", "TotalAmt", "Balance", "HomeBalance",
              "HomeTotalAmt", "FullyQualifiedName", "BalanceWithJobs", "InvoiceLink", "Level"}
_ITEM_TYPES = {"Service", "NonInventory", "Inventory"}


def clean(value: Any) -> Any:
    """Drop what the SDK sends to mean "not set": "" and None values, and empty lists."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items() if v is not None and v != "" and v != []}
        return {k: v for k, v in out.items() if v != []}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def stale_fault() -> QboFault:
    return QboFault("5010", "Stale Object Error",
                    "Stale Object Error : You and root were working on this at the same time. "
                    "root finished before you did, so your work was not saved.")


def _duplicate_name(name: str, owner: str) -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error",
                    f"The name supplied already exists. : Another customer, vendor or employee is already using "
                    f"this name. Please use a different name. Name={name} Id={owner}")


def _named_ref(view: RealmView, data: dict[str, Any], field: str, entity: str) -> dict[str, str] | None:
    """``field`` (a ClassRef, DepartmentRef, SalesTermRef, ParentRef) resolved to an active ``entity``, or None."""
    ident = _ref(data.get(field))
    if ident is None:
        return None
    found = view.get(entity, ident)
    if not found or not found.get("Active", True):
        raise invalid_reference(entity, ident, field)
    return {"value": ident, "name": found.get("FullyQualifiedName") or found.get("Name") or found.get("DisplayName")}


def _customer(view: RealmView, data: dict[str, Any], ident: str | None, params: dict[str, str]) -> dict[str, Any]:
    given = " ".join(p for p in (data.get("GivenName"), data.get("FamilyName")) if p)
    name = str(data.get("DisplayName") or data.get("CompanyName") or given).strip()
    if not name:
        raise required("DisplayName")
    owner = view.name_owner("Customer", name, exclude=ident)
    if owner:
        raise _duplicate_name(name, owner)
    # Sub-customers and jobs: "Set Job to true and set ParentRef to reference parent customer object"; the
    # fully qualified name "Takes the form of Customer:Job:Sub-job", "Limited to 5 levels" (Intuit's
    # Customer reference, …/most-commonly-used/customer).
    parent = _named_ref(view, data, "ParentRef", "Customer")
    level, qualified = 0, name
    if parent:
        above = view.get("Customer", parent["value"]) or {}
        level, qualified = int(above.get("Level", 0)) + 1, f"{above.get('FullyQualifiedName', parent['name'])}:{name}"
        if level > 4:
            raise _business("Up to four levels of nesting can be defined under a top-level parent.", "ParentRef")
        parent = {"value": parent["value"]}
    out = {"Active": True, "Taxable": True, "Balance": Decimal("0"), "BalanceWithJobs": Decimal("0"), "Job": False,
           "BillWithParent": False, **data, "DisplayName": name, "FullyQualifiedName": qualified, "Level": level,
           "PrintOnCheckName": data.get("PrintOnCheckName", name), "CurrencyRef": _currency(view, data)}
    if parent:
        out["ParentRef"] = parent
    else:
        out.pop("ParentRef", None)
    return out


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


def _sales_line(view: RealmView, raw: dict[str, Any], number: int, taxes: _TaxModel) -> dict[str, Any]:
    detail = raw.get("SalesItemLineDetail") or {}
    item_id = _ref(detail.get("ItemRef"))
    if not item_id:
        raise required("Line.SalesItemLineDetail.ItemRef")
    item = view.get("Item", item_id)
    if not item or not item.get("Active", True):
        raise invalid_reference("Item", item_id, "Line.SalesItemLineDetail.ItemRef")
    tax = taxes.line_code(_ref(detail.get("TaxCodeRef")))
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
    out_detail = {**detail, "ItemRef": {"value": item_id, "name": item["Name"]},
                  "TaxCodeRef": {"value": tax} if tax else None,
                  "Qty": qty, "UnitPrice": price, "ItemAccountRef": item.get("IncomeAccountRef"),
                  "ClassRef": _named_ref(view, detail, "ClassRef", "Class"),
                  "ServiceDate": _date(detail.get("ServiceDate"), "Line.SalesItemLineDetail.ServiceDate")}
    line = {"Id": str(number), "LineNum": number, "Description": raw.get("Description"), "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {k: v for k, v in out_detail.items() if v is not None}}
    return {k: v for k, v in line.items() if v is not None}


class _TaxModel:
    """How this realm taxes an invoice: AST by address (US), or the lines' tax codes (sandbox.qbo_tax)."""

    def __init__(self, view: RealmView, data: dict[str, Any]) -> None:
        self.view, self.settings = view, read_settings(view)
        self.country = self.settings["country"]
        self.ast = self.country == "US" and self.settings["automated_sales_tax"]
        mode = data.get("GlobalTaxCalculation")
        # "Not applicable to US companies; required for non-US companies", default TaxExcluded (Intuit's
        # Invoice reference): a US realm ignores what the SDK always sends; elsewhere it is honoured.
        self.mode = None if self.country == "US" else (mode or "TaxExcluded")
        if self.mode not in (None, "TaxExcluded", "TaxInclusive", "NotApplicable"):
            raise QboFault("2010", "Request has invalid or unsupported property",
                           f"Property Name:GlobalTaxCalculation value {mode!r} specified is unsupported or invalid",
                           element="GlobalTaxCalculation")
        self.txn_code = _ref((data.get("TxnTaxDetail") or {}).get("TxnTaxCodeRef"))
        self.rates = {str(rate["Id"]): rate for rate in view.rows("TaxRate")}

    def line_code(self, given: str | None) -> str | None:
        """The line's TaxCodeRef as stored: a US line without one is NON; elsewhere one is required."""
        if given is None:
            if self.country == "US":
                return "NON"
            if self.mode == "NotApplicable":
                return None
            # Seen from QBO for a non-US line without a tax code (Autotask KB 360030193511).
            raise _business(f"Make sure all your transactions have a {TAX_WORD[self.country]} rate before you save.",
                            "Line.SalesItemLineDetail.TaxCodeRef")
        code = self.view.get("TaxCode", given)
        if not code or not code.get("Active", True):
            raise invalid_reference("TaxCode", given, "Line.SalesItemLineDetail.TaxCodeRef")
        return given

    def _code_rates(self, code_id: str) -> str:
        code = self.view.get("TaxCode", code_id) or {}
        details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        return ",".join(str(d["TaxRateRef"]["value"]) for d in details)

    def detail(self, lines: list[dict[str, Any]], destination: dict[str, Any] | None) -> dict[str, Any]:
        """TxnTaxDetail for the stored ``lines``, taxed at ``destination`` (the ship-to, else the company)."""
        if self.mode == "NotApplicable":
            return {"TotalTax": Decimal("0.00")}
        groups: dict[str, list[Decimal]] = {}
        if self.country == "US":
            taxed = [line for line in lines if line["SalesItemLineDetail"]["TaxCodeRef"]["value"] != "NON"]
            if self.ast:
                code = ast_code(destination or read_settings(self.view)["company_address"])
            else:
                code = self.txn_code or str(self._default_group())
                found = self.view.get("TaxCode", code)
                if not found or not found.get("TaxGroup"):
                    raise invalid_reference("TaxCode", code, "TxnTaxDetail.TxnTaxCodeRef")
            if taxed:
                groups[self._code_rates(code)] = [line["Amount"] for line in taxed]
            return tax_detail(((ids, sum(a, Decimal("0")), sum(a, Decimal("0"))) for ids, a in groups.items()),
                              self._rates(), code if taxed else None)
        for line in lines:
            code_ref = line["SalesItemLineDetail"].get("TaxCodeRef")
            if code_ref:
                groups.setdefault(self._code_rates(code_ref["value"]), []).append(line["Amount"])
        totals = [(ids, sum(a, Decimal("0")), sum(a, Decimal("0"))) for ids, a in groups.items() if ids]
        return tax_detail(totals, self._rates(), None, inclusive=self.mode == "TaxInclusive")

    def _default_group(self) -> str:
        prefs = self.view.get("Preferences", "1") or {}
        return str(((prefs.get("TaxPrefs") or {}).get("TaxGroupCodeRef") or {}).get("value") or "2")

    def _rates(self) -> dict[str, Rate]:
        return {ident: Rate(ident, str(r["Name"]), Decimal(str(r["RateValue"]))) for ident, r in self.rates.items()}


def sales_lines(view: RealmView, data: dict[str, Any]) -> tuple[list[dict[str, Any]], _TaxModel]:
    """The SalesItemLineDetail lines of an invoice or credit memo, checked and numbered, and how to tax them;
    no line → 6000. SubTotalLineDetail lines the client echoes back are dropped (QBO computes them)."""
    taxes = _TaxModel(view, data)
    lines: list[dict[str, Any]] = []
    for raw in data.get("Line", []):
        kind = raw.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # computed by QBO, echoed back by clients that resend what they read
        if kind != "SalesItemLineDetail":
            raise QboFault("2010", "Request has invalid or unsupported property",
                           f"Line DetailType {kind!r} is not supported by the sandbox", element="Line.DetailType")
        lines.append(_sales_line(view, raw, len(lines) + 1, taxes))
    if not lines:
        raise QboFault("6000", "A business validation error has occurred while processing your request",
                       "Business Validation Error: You must fill out at least one split line.", element="Line")
    return lines, taxes


def price_lines(lines: list[dict[str, Any]], taxes: _TaxModel,
                destination: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any], Decimal]:
    """The SubTotalLineDetail line, TxnTaxDetail and TotalAmt of ``lines`` taxed at ``destination``."""
    subtotal = sum((line["Amount"] for line in lines), Decimal("0")).quantize(CENT)
    tax = taxes.detail(lines, destination)
    if taxes.mode == "TaxInclusive":
        for line in lines:
            line["SalesItemLineDetail"]["TaxInclusiveAmt"] = line["Amount"]
    # "TotalAmt … includes the total of all the charges, allowances, and taxes" (Intuit's Invoice reference).
    total = subtotal if taxes.mode == "TaxInclusive" else subtotal + tax["TotalTax"]
    return {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}, tax, total


def doc_number(data: dict[str, Any]) -> str | None:
    """The DocNumber as a string, or None; over 21 characters → 2050 (ledgers.md §1.2)."""
    doc = data.get("DocNumber")
    if doc is None:
        return None
    doc = str(doc)
    if len(doc) > MAX_DOC_NUMBER:
        raise QboFault("2050", "String length is either shorter or longer than supported by specification",
                       f"String length specified does not match the supported length. Min:0 Max:21 "
                       f"supplied length:{len(doc)}", element="DocNumber")
    return doc


def address_or(data: dict[str, Any], field: str, fallback: Any) -> dict[str, Any] | None:
    given = data.get(field)
    return given if isinstance(given, dict) and given else (fallback if isinstance(fallback, dict) else None)


def active_customer(view: RealmView, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The id CustomerRef names and its customer: 2020 when missing, 2500 when unknown or inactive (ledgers.md §1.2).
    Shared by Invoice, Payment and CreditMemo."""
    customer_id = _ref(data.get("CustomerRef"))
    if not customer_id:
        raise required("CustomerRef")
    customer = view.get("Customer", customer_id)
    if not customer or not customer.get("Active", True):
        raise invalid_reference("Customer", customer_id, "CustomerRef")
    return customer_id, customer


def new_document(entity: str, body: Any, ignored: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a create-only ``entity`` (Payment, CreditMemo) as a client sent them, without ``ignored``.

    2010 for a body that is not an object or has a field QBO does not know, 2050 for one over its length; an
    ``Id`` asks for an update, which the sandbox does not do for these (500 Unsupported Operation).
    """
    if not isinstance(body, dict):
        raise QboFault("2010", "Request has invalid or unsupported property", f"The body must be a {entity} object")
    check_fields(entity, body)
    data = clean(body)
    check_lengths(entity, data)
    if data.get("Id") not in (None, 0, "0"):
        raise QboFault("500", "Unsupported Operation", f"Operation update is not supported by the sandbox for {entity}.")
    return {k: v for k, v in data.items() if k not in ignored}


VOIDED = "Voided"
_TXN_TYPES = {"Invoice": "Invoice", "CreditMemo": "Credit Memo"}  # as the 6140 Detail spells them (below)


def is_voided(invoice: dict[str, Any]) -> bool:
    """What a void leaves (sandbox.qbo_credits VOID EFFECT): TotalAmt 0 and a PrivateNote that starts "Voided"."""
    return Decimal(str(invoice.get("TotalAmt", 0))) == 0 and str(invoice.get("PrivateNote") or "").startswith(VOIDED)


def check_doc_number(view: RealmView, doc: str | None, *, entity: str, ident: str | None,
                     params: dict[str, str]) -> None:
    """6140 when another Invoice or CreditMemo carries ``doc``: invoices and credit memos share one number space.

    Invoice vs Invoice: refused unless ``include=allowduplicatedocnum`` (ledgers.md §1.4). Invoice vs CreditMemo:
    QBO refuses an invoice whose number a credit memo has, with "DocNumber=207083-2 is assigned to TxnType=Credit
    Memo with TxnId=54993" (support.jobboxsoft.com KB 19000156890; Clio KB 115003454593, ledgers.md §1.2).
    CreditMemo vs either: [?] not documented; refused as the reverse case is (the safe side: a retried create
    cannot leave two credits under one number; Closeout looks a credit up by number before resending, so it is
    right under either answer). [?] Whether allowduplicatedocnum also lifts the cross-type check, and whether it
    applies to credit memos, is not documented: the sandbox lets it lift the check for invoices only.
    """
    if doc is None:
        return
    owner = view.doc_number_owner(doc, entity=entity, exclude=ident)
    allowed = entity == "Invoice" and "allowduplicatedocnum" in params.get("include", "").lower()
    if owner and not allowed:
        raise QboFault("6140", "Duplicate Document Number Error",
                       f"Duplicate Document Number Error : You must specify a different number. This number has "
                       f"already been used. DocNumber={doc} is assigned to TxnType={_TXN_TYPES[owner[0]]} "
                       f"with TxnId={owner[1]}")


def _invoice(view: RealmView, data: dict[str, Any], ident: str | None, params: dict[str, str]) -> dict[str, Any]:
    customer_id, customer = active_customer(view, data)
    lines, taxes = sales_lines(view, data)
    doc = doc_number(data)
    check_doc_number(view, doc, entity="Invoice", ident=ident, params=params)
    term = _named_ref(view, data, "SalesTermRef", "Term")
    txn_date = _date(data.get("TxnDate"), "TxnDate") or date.today().isoformat()
    due = _date(data.get("DueDate"), "DueDate")
    if due is None:
        # A term's DueDays count from the invoice date (Intuit's Term reference: "Number of days from delivery
        # of goods or services until the payment is due"); without a term, the company default Net 30
        # (Preferences.SalesFormsPrefs.DefaultTerms, seeded as Term 3).
        days = int((view.get("Term", term["value"]) or {}).get("DueDays") or 0) if term else 30
        due = (date.fromisoformat(txn_date) + timedelta(days=days)).isoformat()
    elif due < txn_date:
        # What QBO does with a DueDate before the TxnDate is not documented; the sandbox refuses it (the safe
        # answer: an invoice due before it was issued is a mapping error, not something to store).
        raise _business(f"The due date {due} is before the invoice date {txn_date}.", "DueDate")
    # "If ShipAddr, BillAddr, or both are not provided, the appropriate customer address from the referenced
    # Customer object is used to fill those values" (Intuit's Invoice reference, Business Rules).
    ship = address_or(data, "ShipAddr", customer.get("ShipAddr"))
    bill = address_or(data, "BillAddr", customer.get("BillAddr"))
    subtotal_line, tax, total = price_lines(lines, taxes, ship)
    deposit = _decimal(data.get("Deposit"), "Deposit") or Decimal("0")
    # Payments already applied keep counting after an update (sandbox.qbo_payments): "a payment applied to a
    # given invoice is considered a linked transaction to that invoice" (Intuit's "Manage linked transactions").
    paid, payment_links = payments_on(view, ident) if ident else (Decimal("0"), [])
    if total - deposit - paid < 0:
        # [?] What QBO does when an edit drops TotalAmt below what was paid is not documented; the sandbox
        # refuses it (safe: a negative Balance would hide an overpayment from Closeout's read-back).
        raise _business(f"The invoice total {total} is less than the {paid} already paid on it.", "Line")
    links = [link for link in data.get("LinkedTxn") or [] if link.get("TxnType") != "Payment"] + payment_links
    out = {"PrintStatus": "NotSet", "EmailStatus": "NotSet", **data,
           "CustomerRef": {"value": customer_id, "name": customer["DisplayName"]},
           "CurrencyRef": _currency(view, data), "DocNumber": doc, "TxnDate": txn_date, "DueDate": due,
           "SalesTermRef": term, "ClassRef": _named_ref(view, data, "ClassRef", "Class"),
           "DepartmentRef": _named_ref(view, data, "DepartmentRef", "Department"),
           "ShipAddr": ship, "BillAddr": bill, "Line": [*lines, subtotal_line], "TxnTaxDetail": tax,
           "TotalAmt": total, "Balance": total - deposit - paid, "GlobalTaxCalculation": taxes.mode,
           "LinkedTxn": links or None}
    return out


def payments_on(view: RealmView, invoice_id: str) -> tuple[Decimal, list[dict[str, str]]]:
    """What stored Payments applied to the invoice: the sum of their lines linked to it, and one
    ``{"TxnId": payment, "TxnType": "Payment"}`` per payment, as the invoice's LinkedTxn shows them (Intuit's
    "Manage linked transactions": Invoice 147 carries LinkedTxn TxnType=Payment TxnId=190)."""
    paid, links = Decimal("0"), []
    for payment in sorted(view.rows("Payment"), key=lambda row: int(row["Id"])):
        amounts = [Decimal(str(line["Amount"])) for line in payment.get("Line", [])
                   for link in line.get("LinkedTxn", [])
                   if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == str(invoice_id)]
        if amounts:
            paid += sum(amounts, Decimal("0"))
            links.append({"TxnId": str(payment["Id"]), "TxnType": "Payment"})
    return paid, links


_VALIDATORS: dict[str, Callable[[RealmView, dict[str, Any], str | None, dict[str, str]], dict[str, Any]]] = {
    "Customer": _customer, "Item": _item, "Invoice": _invoice,
}
WRITABLE = tuple(_VALIDATORS)


def save_entity(view: RealmView, entity: str, body: Any, params: dict[str, str]) -> dict[str, Any]:
    """Create (no Id) or update (Id + current SyncToken, ``sparse`` merges) one entity; return it as stored.

    ``body`` is what python-quickbooks sends: "" and empty lists mean absent, an int SyncToken is fine,
    read-only fields (TotalAmt, Balance, MetaData, TxnTaxDetail, ...) are ignored and recomputed; money
    stays Decimal. Ids are per-realm, per-entity sequences of decimal strings.

    Raises QboFault: 610 unknown Id, 5010 stale SyncToken, 6000 an update of a voided invoice, 6140 a DocNumber
    another Invoice or CreditMemo has (``check_doc_number``), 6240 duplicate name,
    2020 required field missing, 2500 reference to a missing item/customer/tax code/class/department/term
    or a foreign currency, 2010 a field QBO does not know, 2050 a string over its documented length,
    6000 no lines, a DueDate before the TxnDate or a non-US line without a tax code.
    """
    if not isinstance(body, dict):
        raise QboFault("2010", "Request has invalid or unsupported property", f"The body must be a {entity} object")
    check_fields(entity, body)
    data = clean(body)
    check_lengths(entity, data)
    ident, existing = data.get("Id"), None
    if ident not in (None, 0, "0"):
        existing = view.get(entity, str(ident))
        if existing is None:
            raise not_found(entity, str(ident))
        if str(data.get("SyncToken", "")) != existing["SyncToken"]:
            raise stale_fault()
        if entity == "Invoice" and is_voided(existing):
            # [?] What QBO does with an update of a voided invoice is not documented (its UI offers no un-void;
            # Intuit's pages say nothing of the API). Refused, the safe answer: Closeout never edits a voided
            # invoice (a cancelled job stays voided), so it is right whichever QBO does.
            raise _business(f"Invoice {existing['Id']} is voided; a voided transaction cannot be changed.", "Id")
        if data.get("sparse") is True:
            data = {**existing, **data}
    fields = {k: v for k, v in data.items() if k not in _READ_ONLY}
    result = _VALIDATORS[entity](view, fields, existing["Id"] if existing else None, params)
    return store_entity(view, entity, result, existing)


def store_entity(view: RealmView, entity: str, result: dict[str, Any],
                 existing: dict[str, Any] | None) -> dict[str, Any]:
    """Stamp ``result`` (Id, next SyncToken, MetaData) as a new ``entity`` or a change to ``existing``; store it."""
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
