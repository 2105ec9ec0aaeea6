"""Attribute definitions of every resource type, derived once from the schema models.

The pydantic models of ``scim/schemas/`` (one class per schema URN, built on scim2-models)
are the single source of truth: ``/Schemas`` publishes :func:`schema_document` of each, and
this module turns the same description into frozen :class:`AttributeDef` trees that the
filter compiler, the PATCH engine, the request validator and the projection consult. Nothing
here does I/O; the trees are built once per process (``functools.cache``).

Two views of one model:

- the **RFC view** (generic ``/scim/v2``): RFC 7643 §7 keys only, and ``required`` only where
  RFC 7643 requires the attribute (the top-level attributes scim2-models' own classes mark
  required: ``userName``, Group ``displayName``); that is what the generic dialect enforces.
  Non-RFC keys stay out because RFC clients built on scim2-models refuse unknown keys.
- the **Concur view** (the strict dialects): Concur's ``required`` flags plus ``maxLength``
  (a Concur addition, reference/concur-v4.md §4.4), and ``id``/``externalId`` listed with
  the core schema's attributes (Concur's swagger lists them).

The rest of a model's Concur characteristics (lengths, closed value lists, formats, code
lists, rules; ``scim/schemas/annotations.py``) is carried on :class:`AttributeDef` for the
strict validator only.

RFC 7643 §2.2 (characteristics), §3.1 (common attributes ``id``, ``externalId``, ``meta``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from inspect import isclass
from typing import Any

from scim2_models import Resource

from concur_scim.scim.descriptions import (
    ALIASES,
    ANY_OF,
    CLOSED,
    CODE_LIST,
    FORMAT,
    RFC_REQUIRED,
    RULES,
    SHORTHAND,
    describe,
    public,
    schema_model,
)
from concur_scim.scim.schemas import DOWNSTREAM_MODELS, GROUP_MODELS, IDENTITY_MODELS, urn_of

__all__ = [
    "CORE_GROUP",
    "CORE_USER",
    "ENTERPRISE_USER",
    "AttributeDef",
    "ResourceSchema",
    "SchemaDef",
    "downstream_schemas",
    "group_schema",
    "resource_schemas",
    "schema_document",
    "schema_documents",
    "schema_model",
    "user_schema",
]

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class AttributeDef:
    """One attribute or sub-attribute with the characteristics the server acts on.

    The first group is RFC 7643 §2.2; ``required`` is RFC 7643's requirement, enforced by
    every dialect. The second group is Concur's (reference/concur-v4.md §6), enforced by the
    strict dialects only: ``strict_required`` (required on create), lengths (characters of a
    string, or items of a multi-valued attribute), ``closed`` (the canonical values are the
    only ones), ``format`` (``date``/``dateTime``/``languageTag`` of a string), ``code_list``
    (``country``/``currency``/``language``/``timezone``), ``rules`` (named checks of
    ``scim/rules.py``), ``any_of`` (at least one of these sub-attributes) and
    ``value_shorthand`` (an item may be sent as its bare ``value``).
    """

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
    strict_required: bool = False
    max_length: int | None = None
    min_length: int | None = None
    exact_length: int | None = None
    closed: bool = False
    format: str | None = None
    code_list: str | None = None
    rules: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    value_shorthand: bool = False
    # Derived: the sub-attributes a client may set (not readOnly), for the validators.
    writable_subs: tuple[AttributeDef, ...] = field(
        init=False, compare=False, repr=False, default=()
    )

    def __post_init__(self) -> None:
        subs = tuple(s for s in self.sub_attributes if s.mutability != "readOnly")
        object.__setattr__(self, "writable_subs", subs)

    def sub(self, name: str) -> AttributeDef | None:
        """The sub-attribute called ``name`` (case-insensitive, RFC 7644 §3.10), or None.

        Also found under a spelling the model accepts as an alias (Concur's misspelt
        ``temporaryDelegatation``, §9.22).
        """
        return self.by_key.get(name.lower())


def _build(raw: dict[str, Any]) -> AttributeDef:
    subs = tuple(_build(s) for s in raw.get("subAttributes") or ())
    by_key = {s.name.lower(): s for s in subs}
    for raw_sub, sub in zip(raw.get("subAttributes") or (), subs, strict=True):
        by_key.update({alias.lower(): sub for alias in raw_sub.get(ALIASES, ())})
    max_length, min_length = raw.get("maxLength"), raw.get("minLength")
    return AttributeDef(
        name=raw["name"],
        type=raw["type"],
        multi_valued=bool(raw.get("multiValued")),
        required=bool(raw.get(RFC_REQUIRED)),
        case_exact=bool(raw.get("caseExact")),
        mutability=raw.get("mutability") or "readWrite",
        returned=raw.get("returned") or "default",
        uniqueness=raw.get("uniqueness") or "none",
        canonical_values=tuple(raw.get("canonicalValues") or ()),
        sub_attributes=subs,
        by_key=by_key,
        strict_required=bool(raw.get("required")),
        max_length=max_length,
        min_length=min_length,
        exact_length=max_length if max_length is not None and max_length == min_length else None,
        closed=bool(raw.get(CLOSED)),
        format=raw.get(FORMAT),
        code_list=raw.get(CODE_LIST),
        rules=tuple(raw.get(RULES, ())),
        any_of=tuple(raw.get(ANY_OF, ())),
        value_shorthand=bool(raw.get(SHORTHAND)),
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
    # Unique per company (store/tables.py), as Concur states (§6.1).
    AttributeDef("externalId", "string", case_exact=True, uniqueness="server"),
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
    # Derived: the attributes a client may set (not readOnly), for the validators.
    writable: tuple[AttributeDef, ...] = field(init=False, compare=False, repr=False, default=())

    def __post_init__(self) -> None:
        attrs = tuple(a for a in self.attributes if a.mutability != "readOnly")
        object.__setattr__(self, "writable", attrs)

    def attribute(self, name: str) -> AttributeDef | None:
        """The top-level attribute ``name`` (case-insensitive), or None."""
        return self.by_key.get(name.lower())


@dataclass(frozen=True)
class ResourceSchema:
    """A resource type: its core schema (plus common attributes) and its extensions.

    ``aliases`` are other spellings of extension URNs, as (alias, URN) pairs, that
    :meth:`split_urn` reads as the URN (Concur's travel URN without ``:User``).
    """

    name: str
    endpoint: str
    core: SchemaDef
    extensions: tuple[SchemaDef, ...]
    models: tuple[type[Resource[Any]] | type[Any], ...]
    aliases: tuple[tuple[str, str], ...] = ()

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
        (reference/idp-clients.md §1.6). An alias (``aliases``) names its extension.
        """
        low = path.lower()
        for schema in (*self.extensions, self.core):
            urn = schema.urn.lower()
            if low == urn:
                return schema, ""
            if low.startswith(urn) and path[len(urn)] in ":.":
                return schema, path[len(urn) + 1 :]
        # After the URNs themselves: an alias may be a prefix of its URN (``…:travel:2.0``).
        for alias, target in self.aliases:
            found = self.extension(target)
            short = alias.lower()
            if found is not None and low == short:
                return found, ""
            if found is not None and low.startswith(short) and path[len(short)] in ":.":
                return found, path[len(short) + 1 :]
        return self.core, path

    @property
    def schema_urns(self) -> tuple[str, ...]:
        """Every schema URN this resource type serves, core first."""
        return (self.core.urn, *(e.urn for e in self.extensions))


def schema_document(model: type[Any], *, concur: bool = False) -> dict[str, Any]:
    """The schema of ``model`` (RFC 7643 §7) as ``/Schemas`` publishes it: a fresh dict.

    ``concur`` selects the Concur view (Concur's ``required`` flags, ``maxLength``, and
    ``id``/``externalId`` with a resource's core attributes) over the RFC view; see the
    module docstring. Either is generated from the model, never written by hand.
    """
    raw = describe(urn_of(model))
    attributes = [public(a, concur) for a in raw["attributes"]]
    if concur and _is_resource(model):
        attributes = [_common_document(a) for a in COMMON_ATTRIBUTES[:2]] + attributes
    return {**{k: v for k, v in raw.items() if k != "attributes"}, "attributes": attributes}


def schema_documents(urns: Iterable[str], *, concur: bool = False) -> list[dict[str, Any]]:
    """The published schemas of ``urns`` (matched case-insensitively), in that order.

    What a dialect's ``/Schemas`` lists: each dialect passes the URNs it serves. Raises
    KeyError for a URN no model describes.
    """
    return [schema_document(schema_model(urn), concur=concur) for urn in urns]


def _is_resource(model: type[Any]) -> bool:
    return isclass(model) and issubclass(model, Resource)


def _common_document(attr: AttributeDef) -> dict[str, Any]:
    return {
        "name": attr.name,
        "type": attr.type,
        "multiValued": attr.multi_valued,
        "description": f"RFC 7643 §3.1 common attribute '{attr.name}'.",
        "required": False,
        "caseExact": attr.case_exact,
        "mutability": attr.mutability,
        "returned": attr.returned,
        "uniqueness": attr.uniqueness,
    }


def _schema_def(model: type[Any], extra: tuple[AttributeDef, ...] = ()) -> SchemaDef:
    raw = describe(urn_of(model))
    attrs = extra + tuple(_build(a) for a in raw["attributes"])
    return SchemaDef(urn=raw["id"], attributes=attrs, by_key={a.name.lower(): a for a in attrs})


@cache
def resource_schemas() -> dict[str, ResourceSchema]:
    """The resource types by name (``User``, ``Group``), built once per process.

    The User resource is the identity document every dialect serves: the core User and the
    enterprise, sap, settings and TravelPerk extensions. The spend, payroll and travel
    extensions are not part of it (:func:`downstream_schemas`).
    """
    core, *extensions = IDENTITY_MODELS
    user = ResourceSchema(
        name="User",
        endpoint="/Users",
        core=_schema_def(core, COMMON_ATTRIBUTES),
        extensions=tuple(_schema_def(m) for m in extensions),
        models=IDENTITY_MODELS,
    )
    group = ResourceSchema(
        name="Group",
        endpoint="/Groups",
        core=_schema_def(GROUP_MODELS[0], COMMON_ATTRIBUTES),
        extensions=(),
        models=GROUP_MODELS,
    )
    return {"User": user, "Group": group}


@cache
def downstream_schemas() -> dict[str, SchemaDef]:
    """The downstream extension schemas by URN: Spend (User, Role, Approver, ApproverLimit,
    Delegate, preferences), Payroll and Travel.

    Concur keeps these in services apart from identity (reference/concur-v4.md §1, §3): they
    are stored per user and URN (``user_extensions``), not in the identity document.
    """
    return {urn_of(m): _schema_def(m) for m in DOWNSTREAM_MODELS}


def user_schema() -> ResourceSchema:
    """The User resource type (the identity schemas: core, enterprise, sap, settings,
    TravelPerk)."""
    return resource_schemas()["User"]


def group_schema() -> ResourceSchema:
    """The Group resource type."""
    return resource_schemas()["Group"]
