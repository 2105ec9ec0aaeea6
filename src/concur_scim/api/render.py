"""Stored records rendered as SCIM resources (RFC 7643 §3.1 ``meta``, §4.1.2, §4.2)."""

from __future__ import annotations

from typing import Any

from concur_scim.scim.registry import ResourceSchema
from concur_scim.scim.validation import format_datetime
from concur_scim.store.records import ResourceRecord


def render(
    record: ResourceRecord,
    resource: ResourceSchema,
    base_url: str,
    *,
    integer_version: bool = False,
    always_schemas: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The full resource as a client reads it; ``base_url`` ends with the dialect root.

    ``integer_version`` renders ``meta.version`` as Concur's integer (§6.1) instead of the
    RFC 7644 §3.14 ETag; ``always_schemas`` are listed whatever the document holds (Concur's
    Identity responses always name core, enterprise and sap, §6.1).
    """
    doc = record.doc
    present = [e.urn for e in resource.extensions if e.urn in doc]
    schemas = [resource.core.urn]
    schemas += [u for u in (*always_schemas, *present) if u not in schemas]
    schemas = list(dict.fromkeys(schemas))
    body: dict[str, Any] = {"schemas": schemas, "id": record.id}
    body.update(doc)
    if record.members is not None:
        body["members"] = [
            {**m, "$ref": f"{base_url}/{m['type']}s/{m['value']}"} for m in record.members
        ]
    if record.groups is not None and record.groups:
        body["groups"] = [{**g, "$ref": f"{base_url}/Groups/{g['value']}"} for g in record.groups]
    body["meta"] = {
        "resourceType": resource.name,
        "created": format_datetime(record.created),
        "lastModified": format_datetime(record.last_modified),
        "location": location(record, resource, base_url),
        "version": record.version if integer_version else record.etag,
    }
    return body


def location(record: ResourceRecord, resource: ResourceSchema, base_url: str) -> str:
    """The resource's absolute URI (``meta.location``, the ``Location`` header)."""
    return f"{base_url}{resource.endpoint}/{record.id}"
