"""Attribute definitions of every resource type, derived once from the schema models.

The pydantic models of ``scim2-models`` (one class per schema URN) are the single source of
truth: ``/Schemas`` publishes ``Model.to_schema()`` and this module turns the same schema into
frozen :class:`AttributeDef` trees that the filter compiler, the PATCH engine, the request
validator and the projection consult. Nothing here does I/O; the tree is built at import time
of :func:`resource_schemas` callers, once per process (``functools.cache``).

RFC 7643 §2.2 (characteristics), §3.1 (common attributes ``id``, ``externalId``, ``meta``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from scim2_models import EnterpriseUser, Group, Resource, User

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class AttributeDef:
    """One attribute or sub-attribute with the RFC 7643 §2.2 characteristics we act on."""

    name: str
    type: str  # string | boolean | decimal | integer | dateTime | binary | reference | complex
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly | readWrite | immutable | writeOnly
    returned: str = "default"  # always | never | default | request
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    sub_attributes: tuple[AttributeDef, ...] = ()
    by_key: dict[str, AttributeDef] = field(default_factory=dict, compare=False, repr=False)

    def sub(self, name: str) -> AttributeDef | None:
        """The sub-attribute called ``name`` (case-insensitive, RFC 7644 §3.10), or None."""
        return self.by_key.get(name.lower())


def _build(raw: dict[str, Any]) -> AttributeDef:
    subs = tuple(_build(s) for s in raw.get("subAttributes") or ())
    return AttributeDef(
        name=raw["name"],
        type=raw["type"],
        multi_valued=bool(raw.get("multiValued")),
        required=bool(raw.get("required")),
        case_exact=bool(raw.get("caseExact")),
        mutability=raw.get("mutability") or "readWrite",
        returned=raw.get("returned") or "default",
        uniqueness=raw.get("uniqueness") or "none",
        canonical_values=tuple(raw.get("canonicalValues") or ()),
        sub_attributes=subs,
        by_key={s.name.lower(): s for s in subs},
    )


def _complex(name: str, subs: tuple[AttributeDef, ...], **kw: Any) -> AttributeDef:
    return AttributeDef(
        name=name,
        type="complex",
        sub_attributes=subs,
        by_key={s.name.lower(): s for s in subs},
        **kw,
    )


# RFC 7643 §3.1: present on every resource, not part of any schema's attribute list.
COMMON_ATTRIBUTES: tuple[AttributeDef, ...] = (
    AttributeDef(
        "id",
        "string",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
    ),
    AttributeDef("externalId", "string", case_exact=True),
    _complex(
        "meta",
        (
            AttributeDef("resourceType", "string", case_exact=True, mutability="readOnly"),
            AttributeDef("created", "dateTime", mutability="readOnly"),
            AttributeDef("lastModified", "dateTime", mutability="readOnly"),
            AttributeDef("location", "reference", case_exact=True, mutability="readOnly"),
            AttributeDef("version", "string", case_exact=True, mutability="readOnly"),
        ),
        mutability="readOnly",
    ),
)


@dataclass(frozen=True)
class SchemaDef:
    """One schema URN and its top-level attributes."""

    urn: str
    attributes: tuple[AttributeDef, ...]
    by_key: dict[str, AttributeDef] = field(compare=False, repr=False)

    def attribute(self, name: str) -> AttributeDef | None:
        """The top-level attribute ``name`` (case-insensitive), or None."""
        return self.by_key.get(name.lower())


@dataclass(frozen=True)
class ResourceSchema:
    """A resource type: its core schema (plus common attributes) and its extensions."""

    name: str
    endpoint: str
    core: SchemaDef
    extensions: tuple[SchemaDef, ...]
    models: tuple[type[Resource[Any]] | type[Any], ...]

    def extension(self, urn: str) -> SchemaDef | None:
        """The extension schema whose URN equals ``urn`` case-insensitively, or None."""
        low = urn.lower()
        for ext in self.extensions:
            if ext.urn.lower() == low:
                return ext
        return None

    def schema_for(self, urn: str) -> SchemaDef | None:
        """The core or extension schema named ``urn`` (case-insensitive), or None."""
        if urn.lower() == self.core.urn.lower():
            return self.core
        return self.extension(urn)

    def split_urn(self, path: str) -> tuple[SchemaDef, str]:
        """Split ``urn:…:User:name.givenName`` into (schema, ``name.givenName``).

        A path without a known URN prefix belongs to the core schema. Entra's legacy dot
        separator (``…:enterprise:2.0:User.manager``) is accepted as well as the colon
        (reference/idp-clients.md §1.6).
        """
        low = path.lower()
        for schema in (*self.extensions, self.core):
            urn = schema.urn.lower()
            if low == urn:
                return schema, ""
            if low.startswith(urn) and path[len(urn)] in ":.":
                return schema, path[len(urn) + 1 :]
        return self.core, path

    @property
    def schema_urns(self) -> tuple[str, ...]:
        """Every schema URN this resource type serves, core first."""
        return (self.core.urn, *(e.urn for e in self.extensions))


def schema_document(model: type[Any]) -> dict[str, Any]:
    """The schema of ``model`` (RFC 7643 §7) as ``/Schemas`` publishes it and the registry reads it.

    Generated by ``Model.to_schema()``, then corrected by :func:`_fixup` where the generated
    schema does not describe what this server does, so that what is published is what is
    enforced.
    """
    raw: dict[str, Any] = model.to_schema().model_dump(exclude_none=True)
    raw["attributes"] = [_fixup(a) for a in raw["attributes"]]
    return raw


def _schema_def(model: type[Any], extra: tuple[AttributeDef, ...] = ()) -> SchemaDef:
    raw = schema_document(model)
    attrs = extra + tuple(_build(a) for a in raw["attributes"])
    return SchemaDef(urn=raw["id"], attributes=attrs, by_key={a.name.lower(): a for a in attrs})


def _fixup(attr: dict[str, Any]) -> dict[str, Any]:
    """Correct the few places where the generated schema departs from RFC 7643 or this server.

    ``manager.value`` / ``manager.$ref`` are not required by RFC 7643 §4.3 (Entra sends only
    an id). ``members.display`` is readOnly: the server computes it from the member's current
    name and ignores what a client sends (RFC 7643 §4.2 and §8.7.1 define no writable
    ``display`` for members).
    """
    subs: list[dict[str, Any]] = attr.get("subAttributes") or []
    if attr["name"] == "manager":
        return {**attr, "subAttributes": [{**s, "required": False} for s in subs]}
    if attr["name"] == "members":
        fixed = [{**s, "mutability": "readOnly"} if s["name"] == "display" else s for s in subs]
        return {**attr, "subAttributes": fixed}
    return attr


@cache
def resource_schemas() -> dict[str, ResourceSchema]:
    """The resource types by name (``User``, ``Group``), built once per process."""
    user = ResourceSchema(
        name="User",
        endpoint="/Users",
        core=_schema_def(User, COMMON_ATTRIBUTES),
        extensions=(_schema_def(EnterpriseUser),),
        models=(User, EnterpriseUser),
    )
    group = ResourceSchema(
        name="Group",
        endpoint="/Groups",
        core=_schema_def(Group, COMMON_ATTRIBUTES),
        extensions=(),
        models=(Group,),
    )
    return {"User": user, "Group": group}


def user_schema() -> ResourceSchema:
    """The User resource type (core User + Enterprise User extension)."""
    return resource_schemas()["User"]


def group_schema() -> ResourceSchema:
    """The Group resource type."""
    return resource_schemas()["Group"]
