"""The served OpenAPI document (``GET /openapi.json``) narrowed for fuzzing.

The application's own document already describes every request body, query parameter and
path parameter (src/concur_scim/api/openapi.py). :func:`fuzz_openapi` only narrows it to
what makes a fuzzing budget go far: plain ``application/json`` bodies (one media type, so
each generated case is a JSON body), at most 4 operations per PatchOp and 3 per
BulkRequest (the limits, 100 or 1000, would spend the budget on sizes rather than shapes).
Nothing is added that the served document lacks.
"""

from __future__ import annotations

import copy
from typing import Any

from concur_scim.api.openapi_bodies import BULK_REQUEST, PATCH_OP

# Most operations of a generated PatchOp or BulkRequest, by message URN.
OPERATIONS_CAP = {PATCH_OP: 4, BULK_REQUEST: 3}


def _cap(schema: Any) -> None:
    """Cap ``Operations`` of every PatchOp and BulkRequest schema nested in ``schema``."""
    if isinstance(schema, list):
        for item in schema:
            _cap(item)
        return
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties", {})
    urns = properties.get("schemas", {}).get("items", {}).get("enum", [])
    if len(urns) == 1 and urns[0] in OPERATIONS_CAP and "Operations" in properties:
        properties["Operations"]["maxItems"] = OPERATIONS_CAP[urns[0]]
    for value in schema.values():
        _cap(value)


def fuzz_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (the served ``app.openapi()``) with JSON bodies only, operations capped."""
    doc = copy.deepcopy(document)
    for operations in doc["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody")
            if body is None:
                continue
            body["content"] = {"application/json": body["content"]["application/json"]}
            _cap(body)
    return doc
