"""QBO's batch endpoint: up to 30 operations in one call, each answered by its ``bId`` with the entity or a Fault.

    POST /v3/company/{realm}/batch[?requestid=..]
    {"BatchItemRequest": [{"bId": "1", "operation": "create", "Invoice": {...}}, ...]}
    → 200 {"BatchItemResponse": [{"bId": "1", "Invoice": {...}} | {"bId": "2", "Fault": {...}}], "time": ...}

Each item runs in its own SAVEPOINT, so a refused item leaves nothing behind and the others still land;
more than 30 items is a 400 Fault for the whole call. ``requestid`` replays the whole answer (QBO_app).
"""

from __future__ import annotations

from typing import Any

from sandbox.qbo_entities import WRITABLE, save_entity
from sandbox.qbo_store import RealmView
from sandbox.qbo_wire import QboFault, Reply, ok

MAX_ITEMS = 30


def _item_fault(exc: QboFault) -> dict[str, Any]:
    return {"Error": [{"Message": exc.message, "Detail": exc.detail, "code": exc.code, "element": exc.element}],
            "type": exc.kind}


def run_batch(view: RealmView, body: Any) -> Reply:
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise QboFault("2010", "Request has invalid or unsupported property", "BatchItemRequest is required")
    if len(items) > MAX_ITEMS:
        raise QboFault("1040", "Too many batch items",
                       f"The maximum number of batch items is {MAX_ITEMS}; the request has {len(items)}")
    answers = []
    for item in items:
        bid = str(item.get("bId", ""))
        entities = [key for key in item if key in WRITABLE]
        try:
            if item.get("operation", "create") not in ("create", "update") or len(entities) != 1:
                raise QboFault("2010", "Request has invalid or unsupported property",
                               "each item needs operation create|update and one entity")
            view.db.execute("SAVEPOINT batch_item")
            try:
                saved = save_entity(view, entities[0], item[entities[0]], {})
            except QboFault:
                view.db.execute("ROLLBACK TO batch_item")
                raise
            finally:
                view.db.execute("RELEASE batch_item")
            answers.append({"bId": bid, entities[0]: saved})
        except QboFault as exc:
            answers.append({"bId": bid, "Fault": _item_fault(exc)})
    return ok({"BatchItemResponse": answers})
