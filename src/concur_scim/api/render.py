"""Stored records rendered as SCIM resources (RFC 7643 §3.1 ``meta``, §4.1.2, §4.2)."""

from __future__ import annotations

from typing import Any

from concur_scim.scim.datetimes import format_datetime
from concur_scim.scim.registry import ENTERPRISE_USER, ResourceSchema
from concur_scim.store.records import ResourceRecord, utc

# Concur's defaults for user attributes its Identity API always returns (reference §6.1).
CONCUR_USER_DEFAULTS = {"preferredLanguage": "en-US", "timezone": "America/New_York"}


def render(
    record: ResourceRecord,
    resource: ResourceSchema,
    base_url: str,
    *,
    integer_version: bool = False,
    always_schemas: tuple[str, ...] = (),
    user_defaults: bool = False,
) -> dict[str, Any]:
    """The full resource as a client reads it; ``base_url`` ends with the dialect root.

    ``integer_version`` renders ``meta.version`` as Concur's integer (§6.1) instead of the
    RFC 7644 §3.14 ETag; ``always_schemas`` are listed whatever the document holds (Concur's
    Identity responses always name core, enterprise and sap, §6.1); ``user_defaults`` shows
    Concur's defaults for what a user leaves unset (:func:`with_concur_defaults`).
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
    if user_defaults:
        with_concur_defaults(body, record)
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


def with_concur_defaults(body: dict[str, Any], record: ResourceRecord) -> None:
    """Fill in, in place, what Concur's Identity API returns for a user that left it unset.

    ``preferredLanguage`` ``en-US`` and ``timezone`` ``America/New_York`` (reference §6.1); the
    enterprise ``companyId`` is the user's company (the token's, §6.2) and ``startDate`` the
    day the user was created (§6.2: "default to the creation date"), at midnight UTC.
    """
    for name, value in CONCUR_USER_DEFAULTS.items():
        body.setdefault(name, value)
    enterprise = dict(body.get(ENTERPRISE_USER) or {})
    enterprise.setdefault("companyId", record.company_id)
    enterprise.setdefault("startDate", f"{utc(record.created):%Y-%m-%d}T00:00:00Z")
    body[ENTERPRISE_USER] = enterprise
