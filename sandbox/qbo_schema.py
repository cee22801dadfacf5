"""The fields QBO knows on Customer, Item, Invoice, Payment and CreditMemo, their documented lengths, and Faults.

Field lists follow Intuit's entity references (https://developer.intuit.com/app/developer/qbo/docs/api/
accounting/most-commonly-used/customer, …/all-entities/item, …/all-entities/invoice) and include every
field python-quickbooks 0.9.12 serialises for those objects (tests/sandbox/test_qbo_conformance.py checks
that the SDK sends nothing else). A field outside them is refused as QBO's JSON reader refuses it: 2010
"Request has invalid or unsupported property" with Detail 'Property Name:Unrecognized field "X" (class
com.intuit.schema.finance.v3.Item), not marked as ignorable …' (as quoted in routablehq/python-quickbooks
issues #80 and #38).
"""

from __future__ import annotations

from typing import Any

from sandbox.qbo_wire import QboFault

REF = frozenset({"value", "name", "type"})
ADDRESS = frozenset({"Id", "Line1", "Line2", "Line3", "Line4", "Line5", "City", "Country", "CountryCode",
                     "County", "CountrySubDivisionCode", "PostalCode", "PostalCodeSuffix", "Lat", "Long", "Tag",
                     "Note"})
EMAIL = frozenset({"Address"})
PHONE = frozenset({"FreeFormNumber"})
WEB = frozenset({"URI"})
MEMO = frozenset({"value"})
META = frozenset({"CreateTime", "LastUpdatedTime"})
CUSTOM_FIELD = frozenset({"DefinitionId", "Name", "Type", "StringValue"})
LINKED_TXN = frozenset({"TxnId", "TxnType", "TxnLineId"})
TAX_DETAIL = frozenset({"TxnTaxCodeRef", "TotalTax", "TaxLine"})
LINE = frozenset({"Id", "LineNum", "Description", "Amount", "DetailType", "LinkedTxn", "CustomField",
                  "SalesItemLineDetail", "SubTotalLineDetail", "SubtotalLineDetail", "DiscountLineDetail",
                  "GroupLineDetail", "DescriptionLineDetail", "ProjectRef"})
SALES_DETAIL = frozenset({"ItemRef", "ClassRef", "TaxCodeRef", "MarkupInfo", "ItemAccountRef", "ServiceDate",
                          "DiscountRate", "DiscountAmt", "Qty", "UnitPrice", "TaxInclusiveAmt", "PriceLevelRef",
                          "TaxClassificationRef"})
MARKUP = frozenset({"PriceLevelRef", "Percent", "PercentBased", "Value", "MarkUpIncomeAccountRef"})
# Payment lines: python-quickbooks' PaymentLine (Amount, LinkedTxn) and the LineEx Intuit's own Payment
# sample answers with (gist IntuitDeveloperRelations/e0f09cdb48f23308d9c30d2aaf7360ad).
PAYMENT_LINE = frozenset({"Amount", "LinkedTxn", "LineEx"})
CREDIT_CARD = frozenset({"CreditChargeInfo", "CreditChargeResponse"})  # the SDK's CreditCardPayment

_COMMON = {"Id": None, "SyncToken": None, "sparse": None, "domain": None, "MetaData": META}
# field → the known keys of its object value, or None for a scalar (or a list of scalars)
FIELDS: dict[str, dict[str, frozenset[str] | None]] = {
    "Invoice": {
        **_COMMON, "Line": LINE, "CustomerRef": REF, "ShipFromAddr": ADDRESS, "CurrencyRef": REF,
        "GlobalTaxCalculation": None, "DocNumber": None, "ProjectRef": REF, "BillEmail": EMAIL,
        "BillEmailCc": EMAIL, "BillEmailBcc": EMAIL, "HomeBalance": None, "DeliveryInfo": None, "TotalAmt": None,
        "InvoiceLink": None, "RecurDataRef": REF, "TaxExemptionRef": REF, "Balance": None, "HomeTotalAmt": None,
        "FreeFormAddress": None, "AllowOnlinePayment": None, "AllowIPNPayment": None,
        "AllowOnlineCreditCardPayment": None, "AllowOnlineACHPayment": None, "TxnDate": None, "ShipDate": None,
        "TrackingNum": None, "ClassRef": REF, "PrintStatus": None, "SalesTermRef": REF, "TxnSource": None,
        "LinkedTxn": LINKED_TXN, "DepositToAccountRef": REF, "TransactionLocationType": None, "DueDate": None,
        "PrivateNote": None, "CustomerMemo": MEMO, "EmailStatus": None, "ExchangeRate": None, "Deposit": None,
        "TxnTaxDetail": TAX_DETAIL, "CustomField": CUSTOM_FIELD, "ShipAddr": ADDRESS, "DepartmentRef": REF,
        "ShipMethodRef": REF, "BillAddr": ADDRESS, "ApplyTaxAfterDiscount": None, "EInvoiceStatus": None,
    },
    # Every attribute of python-quickbooks' Payment (quickbooks/objects/payment.py) plus ProcessPayment and
    # ProjectRef from Intuit's Payment reference (…/all-entities/payment) and its sample object (gist above).
    "Payment": {
        **_COMMON, "PaymentRefNum": None, "TotalAmt": None, "UnappliedAmt": None, "ExchangeRate": None,
        "TxnDate": None, "TxnSource": None, "PrivateNote": None, "TxnStatus": None, "CreditCardPayment": CREDIT_CARD,
        "ARAccountRef": REF, "CustomerRef": REF, "CurrencyRef": REF, "PaymentMethodRef": REF,
        "DepositToAccountRef": REF, "TaxExemptionRef": REF, "Line": PAYMENT_LINE, "TransactionLocationType": None,
        "ProcessPayment": None, "ProjectRef": REF,
    },
    # Every attribute of python-quickbooks' CreditMemo (quickbooks/objects/creditmemo.py: its __init__ and
    # class_dict, which adds PaymentMethodRef and DepositToAccountRef) plus HomeBalance, read-only in the
    # CreditMemo field list (docs.breadwinner.com/quickbooks/credit-memo, which mirrors Intuit's reference).
    "CreditMemo": {
        **_COMMON, "RemainingCredit": None, "ExchangeRate": None, "DocNumber": None, "TxnDate": None,
        "PrivateNote": None, "TotalAmt": None, "ApplyTaxAfterDiscount": None, "PrintStatus": None,
        "EmailStatus": None, "Balance": None, "HomeBalance": None, "GlobalTaxCalculation": None,
        "BillAddr": ADDRESS, "ShipAddr": ADDRESS, "ClassRef": REF, "DepartmentRef": REF, "CustomerRef": REF,
        "CurrencyRef": REF, "CustomerMemo": MEMO, "BillEmail": EMAIL, "TxnTaxDetail": TAX_DETAIL,
        "SalesTermRef": REF, "PaymentMethodRef": REF, "DepositToAccountRef": REF, "CustomField": CUSTOM_FIELD,
        "Line": LINE,
    },
    "Customer": {
        **_COMMON, "DisplayName": None, "Title": None, "GivenName": None, "MiddleName": None, "Suffix": None,
        "FamilyName": None, "FullyQualifiedName": None, "Level": None, "TaxExemptionReasonId": None,
        "PrimaryEmailAddr": EMAIL, "ResaleNum": None, "SecondaryTaxIdentifier": None, "ARAccountRef": REF,
        "DefaultTaxCodeRef": REF, "PreferredDeliveryMethod": None, "GSTIN": None, "SalesTermRef": REF,
        "CustomerTypeRef": REF, "Fax": PHONE, "BusinessNumber": None, "BillWithParent": None,
        "CurrencyRef": REF, "Mobile": PHONE, "Job": None, "BalanceWithJobs": None, "PrimaryPhone": PHONE,
        "OpenBalanceDate": None, "Taxable": None, "AlternatePhone": PHONE, "ParentRef": REF, "Notes": None,
        "WebAddr": WEB, "Active": None, "CompanyName": None, "Balance": None, "ShipAddr": ADDRESS,
        "PaymentMethodRef": REF, "IsProject": None, "Source": None, "PrimaryTaxIdentifier": None,
        "GSTRegistrationType": None, "PrintOnCheckName": None, "BillAddr": ADDRESS, "TaxRegimeCode": None,
        "ClientEntityId": None, "V4IDPseudonym": None,
    },
    "Item": {
        **_COMMON, "Name": None, "ItemCategoryType": None, "InvStartDate": None, "Type": None,
        "QtyOnHand": None, "AssetAccountRef": REF, "Sku": None, "SalesTaxIncluded": None, "TrackQtyOnHand": None,
        "SalesTaxCodeRef": REF, "ClassRef": REF, "Source": None, "PurchaseTaxIncluded": None, "Description": None,
        "AbatementRate": None, "SubItem": None, "Taxable": None, "UQCDisplayText": None, "ReorderPoint": None,
        "PurchaseDesc": None, "PrefVendorRef": REF, "Active": None, "UQCId": None, "ReverseChargeRate": None,
        "PurchaseTaxCodeRef": REF, "ServiceType": None, "PurchaseCost": None, "ParentRef": REF,
        "UnitPrice": None, "FullyQualifiedName": None, "ExpenseAccountRef": REF, "Level": None,
        "IncomeAccountRef": REF, "TaxClassificationRef": REF,
    },
}
_CLASS = {REF: "ReferenceType", ADDRESS: "PhysicalAddress", EMAIL: "EmailAddress", PHONE: "TelephoneNumber",
          WEB: "WebSiteAddress", MEMO: "MemoRef", LINE: "Line", SALES_DETAIL: "SalesItemLineDetail",
          MARKUP: "MarkupInfo", META: "ModificationMetaData", CUSTOM_FIELD: "CustomField",
          LINKED_TXN: "LinkedTxn", TAX_DETAIL: "TxnTaxDetail", PAYMENT_LINE: "Line",
          CREDIT_CARD: "CreditCardPayment"}

# Documented maximum lengths (Intuit's references above): Invoice PrivateNote "Max of 4000 chars",
# CustomerMemo 1000 (mappings.qbo keeps the same figure), Line.Description "Max 4000 chars", BillEmail
# 100; DocNumber 21 is checked in qbo_entities (Fault 2050, as before). Customer DisplayName "maximum of
# 500 chars", GivenName/MiddleName/FamilyName 100, Title/Suffix 16, ResaleNum 16, e-mail 100, phones 30.
# Item Name 100, Sku 100. PhysicalAddress Line1..5 "Individual maximum of 500 chars, up to combined max of
# 2000 chars", City/Country/CountrySubDivisionCode 255, PostalCode 30. Fields whose length Intuit does
# not state are not limited here.
MAX_LENGTHS: dict[str, dict[str, int]] = {
    "Invoice": {"PrivateNote": 4000, "CustomerMemo.value": 1000, "Line.Description": 4000,
                "BillEmail.Address": 100},
    "Customer": {"DisplayName": 500, "GivenName": 100, "MiddleName": 100, "FamilyName": 100, "Title": 16,
                 "Suffix": 16, "ResaleNum": 16, "PrimaryEmailAddr.Address": 100, "PrimaryPhone.FreeFormNumber": 30,
                 "Mobile.FreeFormNumber": 30, "Fax.FreeFormNumber": 30, "AlternatePhone.FreeFormNumber": 30},
    "Item": {"Name": 100, "Sku": 100},
    # Payment PrivateNote "Max of 4000 chars" as on every QBO transaction (Intuit's Payment reference).
    "Payment": {"PrivateNote": 4000},
    # CreditMemo: the Invoice's limits, [?] as Intuit's CreditMemo reference is not at hand (the same
    # sales-form fields; the safe side is the tighter documented figure).
    "CreditMemo": {"PrivateNote": 4000, "CustomerMemo.value": 1000, "Line.Description": 4000,
                   "BillEmail.Address": 100},
}
ADDRESS_LENGTHS = {"Line1": 500, "Line2": 500, "Line3": 500, "Line4": 500, "Line5": 500, "City": 255,
                   "Country": 255, "CountrySubDivisionCode": 255, "PostalCode": 30}
ADDRESS_LINES_COMBINED = 2000


def _unrecognized(key: str, owner: str) -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property",
                    f'Property Name:Unrecognized field "{key}" (class com.intuit.schema.finance.v3.{owner}), '
                    f"not marked as ignorable specified is unsupported or invalid", element=key)


def _check_object(value: Any, known: frozenset[str], owner: str) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, inner in item.items():
            if key not in known:
                raise _unrecognized(key, owner)
            if known is LINE and key == "SalesItemLineDetail":
                _check_object(inner, SALES_DETAIL, "SalesItemLineDetail")
            elif known is SALES_DETAIL and key == "MarkupInfo":
                _check_object(inner, MARKUP, "MarkupInfo")
            elif known is SALES_DETAIL and key.endswith("Ref"):
                _check_object(inner, REF, "ReferenceType")
            elif known is PAYMENT_LINE and key == "LinkedTxn":
                _check_object(inner, LINKED_TXN, "LinkedTxn")
            elif known is LINE and key in ("LinkedTxn", "CustomField"):
                _check_object(inner, LINKED_TXN if key == "LinkedTxn" else CUSTOM_FIELD, key)


def check_fields(entity: str, body: dict[str, Any]) -> None:
    """Refuse (2010) a field QBO does not know on ``entity`` or in its addresses, refs, memo and lines."""
    fields = FIELDS[entity]
    for key, value in body.items():
        if key not in fields:
            raise _unrecognized(key, entity)
        known = fields[key]
        if known is not None and value is not None:
            _check_object(value, known, _CLASS.get(known, key))


def _too_long(element: str, limit: int, length: int) -> QboFault:
    return QboFault("2050", "String length is either shorter or longer than supported by specification",
                    f"String length specified does not match the supported length. Min:0 Max:{limit} "
                    f"supplied length:{length}", element=element)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def check_lengths(entity: str, body: dict[str, Any]) -> None:
    """Refuse (2050, the Fault QBO gives an over-long DocNumber) a string longer than its documented maximum."""
    for path, limit in MAX_LENGTHS[entity].items():
        head, _, tail = path.partition(".")
        values = body.get(head)
        for value in values if isinstance(values, list) else [values]:
            text = _text(value.get(tail) if tail and isinstance(value, dict) else value if not tail else None)
            if text is not None and len(text) > limit:
                raise _too_long(path, limit, len(text))
    for field, value in body.items():
        if FIELDS[entity].get(field) is ADDRESS and isinstance(value, dict):
            check_address(field, value)


def check_address(field: str, address: dict[str, Any]) -> None:
    """A PhysicalAddress's documented lengths: each part, and Line1..Line5 together at most 2000."""
    for part, limit in ADDRESS_LENGTHS.items():
        text = _text(address.get(part))
        if text is not None and len(text) > limit:
            raise _too_long(f"{field}.{part}", limit, len(text))
    combined = sum(len(address.get(f"Line{n}") or "") for n in range(1, 6) if _text(address.get(f"Line{n}")))
    if combined > ADDRESS_LINES_COMBINED:
        raise _too_long(f"{field}.Line1-5", ADDRESS_LINES_COMBINED, combined)
