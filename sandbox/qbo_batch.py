"""QBO's batch endpoint: up to 30 operations in one call, each answered by its ``bId`` with the entity or a Fault.

    POST /v3/company/{realm}/batch[?requestid=..]
    {"BatchItemRequest": [{"bId": "1", "operation": "create", "Invoice": {...}}, ...]}
    → 200 {"BatchItemResponse": [{"bId": "1", "Invoice": {...}} | {"bId": "2", "Fault": {...}}], "time": ...}

Each item runs in its own SAVEPOINT, so a refused item leaves nothing behind and the others still land;
more than 30 items is a 400 Fault for the whole call. ``requestid`` replays the whole answer (qbo_app).

Intuit's Batch reference (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/
batch, ledgers.md §1.1): "Execution order of BatchItemRequest objects should not be assumed" and items "are
treated independently; a given object cannot depend on another one within the same batch operation. For
example, a newly created customer is not available for a subsequent invoice create operation". So every
item is judged against the realm as it was before the batch (an entity created or changed by another item
is invisible to it), and the answers come back in reverse order: callers must match them by ``bId``, as
the SDK does. Uniqueness (DocNumber, DisplayName) still counts the batch's own earlier items: the sandbox
never stores two invoices with one DocNumber.
"""

from __future__ import annotations

from typing import Any

from sandbox.qbo_credits import WRITABLE, save_document
from sandbox.qbo_store import RealmView
from sandbox.qbo_wire import QboFault, Reply, ok

MAX_ITEMS = 30
MAX_BID_WITH_REQUEST_ID = 10


def _item_fault(exc: QboFault) -> dict[str, Any]:
    return {"Error": [{"Message": exc.message, "Detail": exc.detail, "code": exc.code, "element": exc.element}],
            "type": exc.kind}


class _BeforeTheBatch(RealmView):
    """The realm as the batch found it: what an earlier item created or changed is not there for the next."""

    def __init__(self, view: RealmView) -> None:
        super().__init__(view.db, view.realm)
        self.touched: set[tuple[str, str]] = set()
        self.before: dict[tuple[str, str], dict[str, Any] | None] = {}

    def get(self, entity: str, ident: str) -> dict[str, Any] | None:
        key = (entity, str(ident))
        return self.before[key] if key in self.touched else super().get(entity, ident)

    def put(self, entity: str, body: dict[str, Any]) -> None:
        key = (entity, str(body["Id"]))
        if key not in self.touched:
            self.before[key] = super().get(entity, key[1])
        super().put(entity, body)

    def settle(self, entities: set[tuple[str, str]]) -> None:
        """After an item: hide what it wrote (``entities``) from the items after it."""
        self.touched |= entities


def check_batch_ids(body: Any, request_id: str | None) -> None:
    """With a requestid, "For each batch ID, only 10 characters are allowed" (Intuit's requestid post,
    https://blogs.intuit.com/2015/04/06/15346/, ledgers.md §1.3). The real Fault is not documented: the
    sandbox answers 2050, as for any string over its length."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not request_id or not isinstance(items, list):
        return
    for item in items:
        bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
        if len(bid) > MAX_BID_WITH_REQUEST_ID:
            raise QboFault("2050", "String length is either shorter or longer than supported by specification",
                           f"String length specified does not match the supported length. Min:1 "
                           f"Max:{MAX_BID_WITH_REQUEST_ID} supplied length:{len(bid)}", element="bId")


def run_batch(view: RealmView, body: Any, request_id: str | None = None) -> Reply:
    check_batch_ids(body, request_id)
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise QboFault("2010", "Request has invalid or unsupported property", "BatchItemRequest is required")
    if len(items) > MAX_ITEMS:
        raise QboFault("1040", "Too many batch items",
                       f"The maximum number of batch items is {MAX_ITEMS}; the request has {len(items)}")
    answers = []
    frozen = _BeforeTheBatch(view)
    for item in items:
        bid = str(item.get("bId", ""))
        entities = [key for key in item if key in WRITABLE]
        try:
            if item.get("operation", "create") not in ("create", "update") or len(entities) != 1:
                raise QboFault("2010", "Request has invalid or unsupported property",
                               "each item needs operation create|update and one entity")
            view.db.execute("SAVEPOINT batch_item")
            try:
                saved = save_document(frozen, entities[0], item[entities[0]], {})
            except QboFault:
                view.db.execute("ROLLBACK TO batch_item")
                raise
            finally:
                view.db.execute("RELEASE batch_item")
            frozen.settle({(entities[0], str(saved["Id"]))})
            answers.append({"bId": bid, entities[0]: saved})
        except QboFault as exc:
            answers.append({"bId": bid, "Fault": _item_fault(exc)})
    return ok({"BatchItemResponse": answers[::-1]})
