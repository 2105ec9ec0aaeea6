"""The description of a schema model: its generated RFC 7643 schema plus Concur's extras.

:func:`describe` runs ``Model.to_schema()`` (scim2-models) and adds, under internal ``x-``
keys and Concur's ``maxLength``/``minLength``, what the model's field metadata declares
(``scim/schemas/annotations.py``, pydantic ``Field(max_length=...)``). ``scim/registry.py``
builds the attribute definitions from it and publishes its two views (:func:`public`).
Pure; each description is built once per process.
"""

from __future__ import annotations

from functools import cache
from inspect import isclass
from typing import Any

from annotated_types import MaxLen, MinLen
from pydantic import AliasChoices
from scim2_models import Required

from concur_scim.scim.schemas import DOWNSTREAM_MODELS, GROUP_MODELS, IDENTITY_MODELS, urn_of
from concur_scim.scim.schemas.annotations import (
    AnyOf,
    Closed,
    ClosedStringEnum,
    CodeList,
    Format,
    Rule,
    ValueShorthand,
)

# Keys of the internal description that never reach a published schema.
RFC_REQUIRED = "x-rfcRequired"
CLOSED = "x-closed"
FORMAT = "x-format"
CODE_LIST = "x-codeList"
RULES = "x-rules"
ANY_OF = "x-anyOf"
ALIASES = "x-aliases"
SHORTHAND = "x-valueShorthand"


def schema_model(urn: str) -> type[Any]:
    """The model class of the schema ``urn`` (case-insensitive); KeyError if there is none."""
    for model in (*IDENTITY_MODELS, *DOWNSTREAM_MODELS, *GROUP_MODELS):
        if urn_of(model).lower() == urn.lower():
            return model
    raise KeyError(urn)


# Attributes the generic dialect never takes from a client (services/users.py _normalize).
GENERIC_READ_ONLY = frozenset({"companyId"})


def public(attr: dict[str, Any], concur: bool) -> dict[str, Any]:
    """One described attribute as published: a fresh dict without the internal keys.

    The Concur view (``concur``) keeps ``maxLength`` and Concur's ``required``; the RFC view
    drops ``maxLength`` and says ``required`` only where RFC 7643 does (registry docstring).
    """
    out = {k: v for k, v in attr.items() if not k.startswith("x-") and k != "subAttributes"}
    out.pop("minLength", None)  # neither RFC 7643 nor Concur's /Schemas has it (§4.4)
    if not concur:
        out.pop("maxLength", None)
        out["required"] = bool(attr.get(RFC_REQUIRED))
        if out.get("name") in GENERIC_READ_ONLY:
            # Set by the server from the caller's token in the generic dialect.
            out["mutability"] = "readOnly"
    if "subAttributes" in attr:
        out["subAttributes"] = [public(s, concur) for s in attr["subAttributes"]]
    return out


@cache
def describe(urn: str) -> dict[str, Any]:
    """The schema of model ``urn``: ``Model.to_schema()`` plus the model's Concur
    characteristics under ``x-`` keys. Cached: callers copy what they change."""
    model = schema_model(urn)
    raw: dict[str, Any] = model.to_schema().model_dump(exclude_none=True)
    rfc_required = _rfc_required(model)
    raw["attributes"] = [_fixup(_annotate(model, a, rfc_required)) for a in raw["attributes"]]
    return raw


def _rfc_required(model: type[Any]) -> frozenset[str]:
    """The fields RFC 7643 requires: those the nearest scim2-models class marks required."""
    for base in model.__mro__:
        if base.__module__.startswith("scim2_models.") and hasattr(base, "model_fields"):
            scim: Any = base
            return frozenset(
                name
                for name in scim.model_fields
                if scim.get_field_annotation(name, Required) is Required.true
            )
    return frozenset()


def _annotate(
    model: type[Any], attr: dict[str, Any], rfc_required: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``attr`` with the Concur characteristics declared on its field of ``model``."""
    fields = {model._scim_name(name): name for name in model.model_fields}
    name = fields[attr["name"]]
    info = model.model_fields[name]
    out = dict(attr)
    out[RFC_REQUIRED] = name in rfc_required
    for meta in info.metadata:
        if isinstance(meta, MaxLen):
            out["maxLength"] = meta.max_length
        elif isinstance(meta, MinLen):
            out["minLength"] = meta.min_length
        elif isinstance(meta, Format):
            out[FORMAT] = meta.value
        elif isinstance(meta, CodeList):
            out[CODE_LIST] = meta.value
        elif isinstance(meta, Rule):
            out[RULES] = [*out.get(RULES, ()), meta.value]
        elif isinstance(meta, AnyOf):
            out[ANY_OF] = list(meta.names)
        elif meta is ValueShorthand.true:
            out[SHORTHAND] = True
        elif meta is Closed.true:
            out[CLOSED] = True
    root = model.get_field_root_type(name)
    if isclass(root) and issubclass(root, ClosedStringEnum):
        out[CLOSED] = True
    if isinstance(info.validation_alias, AliasChoices):
        aliases = [c for c in info.validation_alias.choices if isinstance(c, str)]
        out[ALIASES] = [a for a in aliases if a != attr["name"]]
    if "subAttributes" in attr:
        out["subAttributes"] = [_annotate(root, s) for s in attr["subAttributes"]]
    return out


def _fixup(attr: dict[str, Any]) -> dict[str, Any]:
    """Correct where the generated schema departs from RFC 7643 or this server.

    ``members.display`` is readOnly: the server computes it from the member's current name
    and ignores what a client sends (RFC 7643 §4.2 and §8.7.1 define no writable
    ``display`` for members). (``manager.value``/``$ref``, which scim2-models marks
    required, need no fix: the RFC view publishes no sub-attribute as required, and the
    Concur model requires ``value`` only, as RFC 7643 §4.3 and Concur §6.2 do.)
    """
    if attr["name"] == "members":
        subs: list[dict[str, Any]] = attr.get("subAttributes") or []
        fixed = [{**s, "mutability": "readOnly"} if s["name"] == "display" else s for s in subs]
        return {**attr, "subAttributes": fixed}
    return attr
