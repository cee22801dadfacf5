"""Request bodies checked against Xero's official OpenAPI schemas, so the sandbox cannot drift from Xero.

``xero_openapi_schemas.json`` holds the ``components/schemas`` of XeroAPI/Xero-OpenAPI ``xero_accounting.yaml``
(info.version 16.1.0) reachable from ``ROOTS``, with descriptions and examples dropped.
Refresh it from a newer spec with ``python -m sandbox.xero_schema path/to/xero_accounting.yaml``.
``DOCUMENTED_LIMITS`` adds the maximum lengths Xero states only in prose. Required fields are checked per
element in sandbox.xero_entities (Xero answers a missing Type or Contact as that element's ValidationError,
not as a refused request), and unknown properties stay accepted, as Xero ignores them (see there, UNKNOWN FIELDS).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SCHEMA_FILE = Path(__file__).with_name("xero_openapi_schemas.json")
ROOTS = ("Invoices", "Contacts", "Items", "Attachments", "RequestEmpty")
# (schema, property) → maxLength, for limits the spec gives in a description but not as ``maxLength``
DOCUMENTED_LIMITS = {
    # spec TrackingCategory.Option "The option name of the tracking option e.g. East, West (max length = 100)"
    ("LineItemTracking", "Option"): 100,
    # "Reference … (max length = 255)" [S suchimitha.github.io/Xero-API InvoiceOperations]; mappings.xero agrees
    ("Invoice", "Reference"): 255,
}


@cache
def _components() -> dict[str, Any]:
    document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for (schema, field), limit in DOCUMENTED_LIMITS.items():
        document["components"]["schemas"][schema]["properties"][field]["maxLength"] = limit
    return document["components"]


@cache
def _validator(root: str) -> Draft4Validator:
    return Draft4Validator({"$ref": f"#/components/schemas/{root}", "components": _components()})


@cache
def _envelope_validator(collection: str, item: str) -> Draft4Validator:
    envelope = {"type": "object", "properties": {
        collection: {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}}}
    return Draft4Validator({**envelope, "components": _components()})


def _worded(validator: Draft4Validator, body: Any) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(part) for part in error.absolute_path) or "body"
        problems.append(f"{where}: {error.message}")
    return problems


def body_problems(root: str, body: Any) -> list[str]:
    """Every way ``body`` breaks the spec's ``root`` schema (one of ``ROOTS``), as text."""
    if root not in ROOTS:
        raise ValueError(f"no schema root {root!r}")
    return _worded(_validator(root), body)


def envelope_problems(collection: str, item: str, body: Any) -> list[str]:
    """Every way ``body`` breaks ``{collection: [item]}``, for an envelope the extracted file does not hold
    (Payments, CreditNotes, Allocations: the spec's envelopes of schemas reachable from ``ROOTS``), as text."""
    return _worded(_envelope_validator(collection, item), body)


def extract_schemas(spec_path: Path) -> dict[str, Any]:
    """The schemas reachable from ``ROOTS`` in a full spec, in the shape of ``SCHEMA_FILE``."""
    import yaml

    spec = yaml.load(spec_path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = spec["components"]["schemas"]

    def refs(node: Any):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from ([value] if key == "$ref" else refs(value))
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("example", "description")}
        return [strip(v) for v in node] if isinstance(node, list) else node

    needed: set[str] = set()
    stack = list(ROOTS)
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack += [ref.split("/")[-1] for ref in refs(schemas[name])]
    return {"source": f"XeroAPI/Xero-OpenAPI xero_accounting.yaml info.version {spec['info']['version']}, "
                      f"components/schemas reachable from {', '.join(ROOTS)}; descriptions and examples dropped",
            "components": {"schemas": {name: strip(schemas[name]) for name in sorted(needed)}}}


if __name__ == "__main__":
    SCHEMA_FILE.write_text(json.dumps(extract_schemas(Path(sys.argv[1])), indent=1, sort_keys=True, default=str))
