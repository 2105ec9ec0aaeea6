"""Turn a client's resource JSON into the stored document, or raise a SCIM error.

One function, :func:`normalize_resource`, serves POST, PUT and the result of PATCH, so the
same tolerance and the same checks apply whichever way a value arrives:

- read-only attributes (``id``, ``meta``, ``groups``) and ``schemas`` are dropped, so a PUT
  may carry back what the client just read (Okta's App Integration Wizard; idp-clients.md
  §2.2); ``password`` (writeOnly) is accepted and discarded: this server authenticates no
  end users;
- unknown attributes and unknown schema URNs are ignored (RFC 7644 §3.3 lets a service
  provider ignore what it does not know; Entra and SAP IPS send extra URNs);
- booleans sent as strings (``"False"``) become booleans (Entra, idp-clients.md §1.3e);
- ``manager`` may be a bare id, an object or a one-element list (idp-clients.md §1.3f); an
  item of an attribute with a value shorthand may be its bare value (Concur's
  ``"entitlements": ["Expense"]``, reference/concur-v4.md §6.1);
- readOnly sub-attributes (``manager.displayName``, ``emails.verified``) are server-set: a
  client's copy is dropped (RFC 7644 §3.5.1);
- null, ``""``, ``[]`` and ``{}`` mean "unassigned" and are not stored (RFC 7643 §2.5);
- attribute names are matched case-insensitively and stored under their canonical names.

The stored document has no ``id``/``meta``/``schemas``/``groups``; extensions sit under their
URN. Raises :class:`~concur_scim.scim.errors.InvalidValue` or ``InvalidSyntax``.

In strict mode (the Concur dialects) the document then goes through ``scim/strict.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from concur_scim.scim.datetimes import format_datetime, parse_datetime
from concur_scim.scim.errors import InvalidSyntax, InvalidValue
from concur_scim.scim.registry import ENTERPRISE_USER, AttributeDef, ResourceSchema, SchemaDef
from concur_scim.scim.strict import enforce_strict
from concur_scim.scim.text import storable_text
from concur_scim.scim.violations import Findings

__all__ = [
    "DROPPED",
    "MISSING",
    "coerce_value",
    "format_datetime",
    "normalize_resource",
    "parse_datetime",
]

# Columns backed by a VARCHAR(512); longer values must be refused before the database does.
INDEXED_MAX_LENGTH = 512
INDEXED_ATTRIBUTES = frozenset({"username", "externalid", "displayname", "employeenumber"})
MAX_STRING_LENGTH = 8192
MAX_MULTI_VALUES = 1000
DROPPED = frozenset({"id", "meta", "schemas", "groups"})


class _Missing:
    """Marker for "no value": the key is left out of the stored document."""


MISSING = _Missing()


def normalize_resource(
    payload: Any,
    resource: ResourceSchema,
    *,
    strict: bool = False,
    previous: dict[str, Any] | None = None,
    findings: Findings | None = None,
    generic_checks: bool = True,
) -> dict[str, Any]:
    """The canonical stored document for ``payload`` (a POST/PUT body or a patched document).

    ``strict`` applies the Concur constraints declared on the schema models (required on
    create, lengths, enums, formats, code lists, one-per-type and other rules;
    ``scim/strict.py``); the generic dialect validates types, RFC 7643's requirements and the
    Concur rules the rule book marks generic (formats, date ranges, code lists), so that
    what it stores every Concur dialect can serve. ``previous`` is the stored document being
    replaced (None on create), against which strict mode checks immutable and create-only
    attributes.

    Every violation is collected, not just the first (``scim/violations.py``): ``findings``,
    when given, receives them, and its warnings are the caller's to pass on once the write
    succeeds. Raises InvalidSyntax when ``payload`` is not a JSON object, InvalidValue
    listing every error (wrong types, broken constraints, missing required attributes; each
    a Concur message with its ``schemaPath``), and (strict) Mutability when an immutable
    attribute would change.
    """
    if not isinstance(payload, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    found = findings if findings is not None else Findings()
    doc: dict[str, Any] = {}
    for key, value in payload.items():
        if not isinstance(key, str) or key.lower() in DROPPED:
            continue
        schema, rest = resource.split_urn(key)
        if key.lower().startswith("urn:") and schema is resource.core and rest == key:
            continue  # an extension this server does not serve (e.g. Entra's ADSCIM URN)
        if rest == "":
            _merge_schema_object(doc, schema, value, resource, found)
            continue
        _set_reported(doc, schema, rest, value, resource, found)
    for attr in resource.core.attributes:
        if attr.required and attr.name not in doc:
            found.add("required", f"{resource.core.urn}:{attr.name}", f"'{attr.name}' is required")
    if strict or generic_checks:  # generic_checks False: CONCUR_SCIM_GENERIC_VALUES=any
        enforce_strict(doc, resource, previous, found, generic=not strict)
    found.raise_errors()
    return doc


def _merge_schema_object(
    doc: dict[str, Any],
    schema: SchemaDef,
    value: Any,
    resource: ResourceSchema,
    findings: Findings,
) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        findings.add("type", schema.urn, f"'{schema.urn}' must be an object")
        return
    report = _reporter(schema, findings)  # one for the whole object, not one per key
    for key, sub_value in value.items():
        if isinstance(key, str):
            _set_reported(doc, schema, key, sub_value, resource, findings, report)


def _set_reported(
    doc: dict[str, Any],
    schema: SchemaDef,
    name: str,
    value: Any,
    resource: ResourceSchema,
    findings: Findings,
    report: Report | None = None,
) -> None:
    """:func:`_set_attribute`, each wrong value reported as a ``type`` finding at its own
    path (``name.familyName``, ``emails[0].value``) and left out, so that the rest of the
    attribute and the other attributes are still checked. ``report``: the
    :func:`_reporter` of ``schema`` and ``findings``, when the caller has one already."""
    if report is None:
        report = _reporter(schema, findings)
    try:
        _set_attribute(doc, schema, name, value, resource, report)
    except InvalidValue as error:
        report(name, error.detail)


Report = Callable[[str, str], None]
"""Where a wrong value sits (an attribute path) and why; called instead of raising."""


def _reporter(schema: SchemaDef, findings: Findings) -> Report:
    """Report a wrong value of ``schema`` as a ``type`` finding at its qualified path."""

    def report(path: str, detail: str) -> None:
        findings.add("type", f"{schema.urn}:{path}", detail)

    return report


def _set_attribute(
    doc: dict[str, Any],
    schema: SchemaDef,
    name: str,
    value: Any,
    resource: ResourceSchema,
    report: Report | None = None,
) -> None:
    head, _, sub = name.partition(".")
    attr = schema.attribute(head)
    if attr is None or attr.name.lower() in DROPPED or attr.mutability == "readOnly":
        return
    if attr.mutability == "writeOnly":
        return
    target = doc if schema is resource.core else doc.setdefault(schema.urn, {})
    if sub:
        sub_attr = attr.sub(sub)
        if sub_attr is None or attr.multi_valued:
            return
        value = {sub_attr.name: value}
        existing = target.get(attr.name)
        if isinstance(existing, dict):
            value = {**existing, **value}
    coerced = coerce_value(value, attr, schema.urn, report=report, where=attr.name)
    if coerced is MISSING:
        target.pop(attr.name, None)
    else:
        target[attr.name] = coerced
    if schema is not resource.core and not target:
        doc.pop(schema.urn, None)


def coerce_value(
    value: Any,
    attr: AttributeDef,
    urn: str = "",
    *,
    report: Report | None = None,
    where: str = "",
) -> Any:
    """``value`` converted to the JSON type ``attr`` declares, or MISSING when unassigned.

    Raises InvalidValue for a value of the wrong type; with ``report``, a wrong item of a
    list or sub-attribute of an object is reported at its path (below ``where``) and left
    out instead, and only a wrong value as a whole raises.
    """
    if value is None:
        return MISSING
    if attr.multi_valued:
        items = value if isinstance(value, list) else [value]
        # Group members are bounded by the request size alone: groups hold 100,000 members.
        if len(items) > MAX_MULTI_VALUES and attr.name != "members":
            raise InvalidValue(f"'{attr.name}' has more than {MAX_MULTI_VALUES} values")
        out = []
        for index, item in enumerate(items):
            coerced = _reported(_coerce_single, item, attr, urn, report, f"{where}[{index}]")
            if coerced is not MISSING:
                out.append(coerced)
        if not out:
            return MISSING
        if attr.type == "complex":
            _check_one_primary(out, attr)
        return out
    if isinstance(value, list) and attr.type == "complex" and len(value) == 1:
        value = value[0]  # manager sent as a one-element list (Entra's older docs)
    return _coerce_single(value, attr, urn, report, where)


def _reported(
    coerce: Callable[..., Any],
    value: Any,
    attr: AttributeDef,
    urn: str,
    report: Report | None,
    where: str,
) -> Any:
    """``coerce(value, …)``; with ``report``, a wrong value is reported and MISSING."""
    if report is None:
        return coerce(value, attr, urn, report, where)
    try:
        return coerce(value, attr, urn, report, where)
    except InvalidValue as error:
        report(where, error.detail)
        return MISSING


def _check_one_primary(items: list[Any], attr: AttributeDef) -> None:
    if sum(1 for i in items if isinstance(i, dict) and i.get("primary") is True) > 1:
        raise InvalidValue(f"at most one value of '{attr.name}' may be primary (RFC 7643 §2.4)")


def _coerce_single(
    value: Any, attr: AttributeDef, urn: str, report: Report | None = None, where: str = ""
) -> Any:
    if value is None:
        return MISSING
    if attr.value_shorthand and isinstance(value, str | int | float | bool):
        value = {"value": value}  # "entitlements": ["Expense"] (Concur's swagger, §6.1)
    if attr.type == "complex":
        return _coerce_complex(value, attr, urn, report, where)
    if attr.type == "boolean":
        return _coerce_boolean(value, attr)
    if attr.type in ("integer", "decimal"):
        return _coerce_number(value, attr)
    if attr.type == "dateTime":
        return _coerce_datetime(value, attr)
    return _coerce_string(value, attr)


def _multi(
    value: Any, attr: AttributeDef, urn: str, report: Report | None = None, where: str = ""
) -> Any:
    return coerce_value(value, attr, urn, report=report, where=where)


def _coerce_complex(
    value: Any, attr: AttributeDef, urn: str, report: Report | None = None, where: str = ""
) -> Any:
    if isinstance(value, str) and attr.name == "manager" and urn == ENTERPRISE_USER:
        value = {"value": value}  # Entra sends the manager as a bare id
    if not isinstance(value, dict):
        raise InvalidValue(f"'{attr.name}' must be an object")
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = attr.sub(key) if isinstance(key, str) else None
        if sub is None or sub.mutability == "readOnly":
            continue  # unknown, or server-set (RFC 7644 §3.5.1: readOnly values are ignored)
        coerce = _multi if sub.multi_valued else _coerce_single
        # Concur nests lists (emergencyContacts.phones).
        coerced = _reported(coerce, sub_value, sub, urn, report, f"{where}.{sub.name}")
        if coerced is not MISSING:
            out[sub.name] = coerced
    return out or MISSING


def _coerce_boolean(value: Any, attr: AttributeDef) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(f"'{attr.name}' must be a boolean")


def _coerce_number(value: Any, attr: AttributeDef) -> Any:
    if isinstance(value, bool):
        raise InvalidValue(f"'{attr.name}' must be a number")
    try:
        number = int(value) if attr.type == "integer" else float(value)
    except (TypeError, ValueError):
        raise InvalidValue(
            f"'{attr.name}' must be {'an integer' if attr.type == 'integer' else 'a number'}"
        ) from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidValue(f"'{attr.name}' must be a finite number")
    return number


def _coerce_datetime(value: Any, attr: AttributeDef) -> Any:
    if isinstance(value, str) and value == "":
        return MISSING
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise InvalidValue(f"'{attr.name}' must be an RFC 3339 date-time")
    return format_datetime(parsed)


def _coerce_string(value: Any, attr: AttributeDef) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidValue(f"'{attr.name}' must be a string")
    if value == "":
        return MISSING
    limit = INDEXED_MAX_LENGTH if attr.name.lower() in INDEXED_ATTRIBUTES else MAX_STRING_LENGTH
    if len(value) > limit:
        raise InvalidValue(f"'{attr.name}' is longer than {limit} characters")
    if not storable_text(value):
        raise InvalidValue(f"'{attr.name}' contains a NUL character or a lone surrogate")
    return value
