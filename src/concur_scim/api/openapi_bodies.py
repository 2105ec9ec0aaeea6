"""JSON Schemas of the request messages, for the OpenAPI document (api/openapi.py).

The routes read raw JSON bodies and query strings (no pydantic models: the SCIM engine
validates, and answers SCIM errors), so FastAPI alone documents paths and path parameters
only. These schemas describe the messages: resources derived from the registry (RFC 7643
§4, §8.7.1), PatchOp (RFC 7644 §3.5.2), SearchRequest (§3.4.3, Concur's URN too), the
BulkRequests of User Provisioning and of ``/scim/v2`` (§3.7), the list and projection query
parameters (§3.4.2) and examples for path parameters. They stay open
(``additionalProperties``): the server accepts, and reports, what a strict schema would not.
"""

from __future__ import annotations

from typing import Any

from concur_scim.config import Settings
from concur_scim.scim.registry import AttributeDef, ResourceSchema, group_schema, user_schema

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
UNKNOWN_ID = "0b9c6f0e-4f5e-4a8e-9d55-1c2f3a4b5c6d"
_SCALARS = {"boolean": "boolean", "integer": "integer", "decimal": "number"}
_ANY: dict[str, Any] = {}
_FILTERS = [
    'userName eq "bjensen"',
    'emails[type eq "work" and value co "@example.com"]',
    "meta.lastModified gt 2011-05-13T04:42:34Z",
    'not (title pr) or displayName sw "B"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"',
    'members[value eq "x"]',
]
_QUERY = {
    "filter": {"type": "string", "examples": _FILTERS},
    "startIndex": {"type": "integer"},
    "count": {"type": "integer"},
    "cursor": {"type": "string"},
    "sortBy": {"type": "string", "examples": ["userName", "meta.created"]},
    "sortOrder": {"type": "string", "enum": ["ascending", "descending", "up"]},
    "attributes": {"type": "string", "examples": ["userName,emails.value", "members"]},
    "excludedAttributes": {"type": "string", "examples": ["members", "name.givenName"]},
}
PATH_EXAMPLES = {
    "resource_id": UNKNOWN_ID,
    "user_id": UNKNOWN_ID,
    "group_id": "EXP_APPROVER",
    "provision_id": UNKNOWN_ID,
    "name": "User",
    "urn": "urn:ietf:params:scim:schemas:core:2.0:User",
}


def _attribute_schema(attr: AttributeDef) -> dict[str, Any]:
    if attr.type == "complex":
        one: dict[str, Any] = {
            "type": "object",
            "properties": {s.name: _attribute_schema(s) for s in attr.sub_attributes},
        }
    else:
        one = {"type": _SCALARS.get(attr.type, "string")}
    return {"type": "array", "items": one} if attr.multi_valued else one


def resource_body(resource: ResourceSchema) -> dict[str, Any]:
    """A loose JSON Schema of a ``resource`` create/replace body (RFC 7643 §4, §8.7.1)."""
    properties: dict[str, Any] = {
        "schemas": {"type": "array", "items": {"enum": list(resource.schema_urns)}},
    }
    properties.update({a.name: _attribute_schema(a) for a in resource.core.attributes})
    for extension in resource.extensions:
        properties[extension.urn] = {
            "type": "object",
            "properties": {a.name: _attribute_schema(a) for a in extension.attributes},
        }
    required = ["userName"] if resource.name == "User" else ["displayName"]
    return {"type": "object", "properties": properties, "required": required}


def _paths_of(resource: ResourceSchema) -> list[str]:
    out = []
    for schema in (resource.core, *resource.extensions):
        for attr in schema.attributes:
            out.append(attr.name)
            out.extend(f"{attr.name}.{s.name}" for s in attr.sub_attributes)
    return out


def patch_body(resource: ResourceSchema) -> dict[str, Any]:
    """A loose JSON Schema of a PatchOp request (RFC 7644 §3.5.2)."""
    path = {"anyOf": [{"enum": _paths_of(resource)}, {"type": "string"}]}
    operation = {
        "type": "object",
        "properties": {
            "op": {"enum": ["add", "replace", "remove", "Add", "Replace", "Remove"]},
            "path": path,
            "value": _ANY,
        },
        "required": ["op"],
    }
    return {
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"enum": [PATCH_OP]}},
            "Operations": {"type": "array", "items": operation},
        },
        "required": ["schemas", "Operations"],
    }


def search_body() -> dict[str, Any]:
    """A loose JSON Schema of a SearchRequest (RFC 7644 §3.4.3; Concur's URN too)."""
    properties = {
        key: ({"type": "array", "items": {"type": "string"}} if "ttributes" in key else schema)
        for key, schema in _QUERY.items()
    }
    properties["schemas"] = {
        "type": "array",
        "items": {
            "enum": [SEARCH_REQUEST, "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"]
        },
    }
    return {"type": "object", "properties": properties, "required": ["schemas"]}


def bulk_body(max_operations: int) -> dict[str, Any]:
    """A loose JSON Schema of a User Provisioning BulkRequest (RFC 7644 §3.7; reference
    §3.2: at most ``max_operations``, ``CONCUR_SCIM_BULK_MAX_OPERATIONS``)."""
    operation = {
        "type": "object",
        "properties": {
            "method": {"enum": ["POST", "PUT", "PATCH", "DELETE", "GET"]},
            "path": {"anyOf": [{"enum": ["/Users", f"/Users/{UNKNOWN_ID}"]}, {"type": "string"}]},
            "bulkId": {"type": "string"},
            "data": {"anyOf": [resource_body(user_schema()), patch_body(user_schema()), _ANY]},
        },
        "required": ["method", "path"],
    }
    return {
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"enum": [BULK_REQUEST]}},
            "failOnErrors": {"type": "integer"},
            "Operations": {"type": "array", "items": operation, "maxItems": max_operations},
        },
        "required": ["schemas", "Operations"],
    }


def scim_bulk_body(max_operations: int) -> dict[str, Any]:
    """A JSON Schema of the generic dialect's BulkRequest (RFC 7644 §3.7) whose positive
    cases mostly pass the envelope check, so that operations run: one variant per method
    (POST to a collection with a ``bulkId``; PUT, PATCH, DELETE to an id or a ``bulkId:``
    reference) on Users and Groups, ``version``, ``failOnErrors``, and each method's data
    (a User, a Group, a PatchOp of either, with ``bulkId:`` members). Negative cases break
    the envelope. At most ``max_operations`` (``CONCUR_SCIM_SCIM_BULK_MAX_OPERATIONS``)."""
    refs = ["bulkId:u1", "bulkId:g1", "bulkId:nobody"]
    by_id = [f"/{endpoint}/{i}" for endpoint in ("Users", "Groups") for i in [*refs, UNKNOWN_ID]]
    user, group = resource_body(user_schema()), resource_body(group_schema())
    member = {"type": "object", "properties": {"value": {"enum": [*refs, UNKNOWN_ID]}}}
    group["properties"]["members"] = {"type": "array", "items": member, "maxItems": 2}
    resource = {"anyOf": [user, group]}
    patches = {"anyOf": [patch_body(user_schema()), patch_body(group_schema())]}
    version = {"anyOf": [{"enum": ['W/"1"', 'W/"2"', "*"]}, {"type": "string"}]}

    def variant(method: str, paths: list[str], data: dict[str, Any] | None) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "method": {"enum": [method]},
            "path": {"enum": paths},
            "version": version,
        }
        required = ["method", "path"]
        if method == "POST":
            named = {"enum": ["u1", "g1"]}  # what ``refs`` name
            properties["bulkId"] = {"anyOf": [named, {"type": "string", "minLength": 1}]}
            required.append("bulkId")
        if data is not None:
            properties["data"] = data
            required.append("data")
        return {"type": "object", "properties": properties, "required": required}

    operation = {
        "anyOf": [
            variant("POST", ["/Users", "/Groups"], resource),
            variant("PUT", by_id, resource),
            variant("PATCH", by_id, patches),
            variant("DELETE", by_id, None),
        ]
    }
    return {
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"enum": [BULK_REQUEST]}, "minItems": 1},
            "failOnErrors": {"type": "integer", "minimum": 1},
            "Operations": {
                "type": "array",
                "items": operation,
                "minItems": 1,
                "maxItems": max_operations,
            },
        },
        "required": ["schemas", "Operations"],
    }


def request_body(path: str, method: str, settings: Settings) -> dict[str, Any] | None:
    """The JSON Schema of the body of ``method`` ``path``, or None (no JSON body)."""
    resource = group_schema() if "/groups" in path.lower() else user_schema()
    if path.endswith(".search"):
        return search_body()
    if path == "/scim/v2/Bulk":
        return scim_bulk_body(settings.scim_bulk_max_operations)
    if path.endswith("/Bulk"):
        return bulk_body(settings.bulk_max_operations)
    if path.startswith("/api/"):
        return None  # User v1.0 takes XML: fuzzed by its query string only
    if method == "patch":
        return patch_body(resource)
    if method in ("post", "put") and path.rstrip("}").rsplit("/", 1)[-1] in (
        "Users",
        "Groups",
        "{resource_id",
        "{user_id",
        "{group_id",
    ):
        return resource_body(resource)
    return None


def query_parameters(path: str, method: str) -> list[dict[str, Any]]:
    """The query parameters of ``method`` ``path``: listing and projection (RFC 7644
    §3.4.2, §3.9), or User v1.0's."""
    if method != "get":
        return []
    if path.startswith("/api/"):
        names: dict[str, Any] = {"loginID": {"type": "string"}, "offset": {"type": "integer"}}
        names.update({"limit": {"type": "integer"}, "active": {"type": "string"}})
    elif path.endswith(("/Users", "/Groups")):
        names = _QUERY
    elif "{" in path:
        names = {k: _QUERY[k] for k in ("attributes", "excludedAttributes")}
    else:
        return []
    return [{"name": n, "in": "query", "required": False, "schema": s} for n, s in names.items()]
