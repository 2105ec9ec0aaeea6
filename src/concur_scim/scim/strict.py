"""The Concur checks of the strict dialects, run on a document already coerced to its types.

:func:`enforce_strict` is called by ``normalize_resource(..., strict=True)`` once the generic
pass has built the stored document (names canonical, types coerced, unassigned values gone).
It reads the Concur characteristics the models declare (``AttributeDef``: reference/concur-v4.md
§6) and, per schema of the resource, in this order:

1. mutability against the stored document (``previous``): an immutable attribute keeps its
   value (``companyId``: a different one is 400 ``mutability``; left out, it is kept) and a
   ``keepOnUpdate`` attribute is settable at creation only (``testEmployee``: a later change
   is not applied, §9.17);
2. required attributes (required on create, and so on every replacement);
3. each value: item counts, string lengths, closed value lists (matched case-insensitively,
   stored in their canonical spelling), date and date-time formats (stored as ``YYYY-MM-DD``
   and RFC 3339 UTC), code lists, required sub-attributes and ``anyOf`` groups;
4. the attribute's rules (``scim/rules.py``).

Violations raise InvalidValue (or Mutability) naming the path, with a Concur message.
The document is changed in place (canonical spellings, completed values).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from concur_scim.scim.codes import CODE_LISTS, is_language_tag
from concur_scim.scim.datetimes import format_datetime, parse_date, parse_datetime
from concur_scim.scim.registry import AttributeDef, ResourceSchema, SchemaDef
from concur_scim.scim.rules import RULES
from concur_scim.scim.schemas.annotations import Rule
from concur_scim.scim.violations import Where, immutable, invalid, size

# Concur's range for its date-times (startDate, terminationDate, validFrom/To; §6.2, §6.3).
EARLIEST = date(1900, 1, 1)
LATEST = date(2079, 6, 6)
_SHOWN_VALUES = 12  # a longer canonical list (role codes) is cut in the detail
CORE_SCHEMAS = "urn:ietf:params:scim:schemas:core:"


def enforce_strict(
    doc: dict[str, Any], resource: ResourceSchema, previous: dict[str, Any] | None
) -> None:
    """Apply the Concur constraints of every schema of ``resource`` to ``doc`` (in place).

    ``previous`` is the stored document being replaced or patched, None on create. Raises
    InvalidValue or Mutability.
    """
    for schema in (resource.core, *resource.extensions):
        core = schema is resource.core
        part = doc if core else doc.get(schema.urn, {})
        before = previous if core or previous is None else previous.get(schema.urn, {})
        # Paths are shown bare in a core schema only; a downstream extension checked on its
        # own (the resource's core) still names its URN.
        shown_bare = schema.urn.startswith(CORE_SCHEMAS)
        _enforce_schema(part, schema, before, core=shown_bare)
        if not core and part:
            doc[schema.urn] = part


def _enforce_schema(
    part: dict[str, Any], schema: SchemaDef, before: dict[str, Any] | None, *, core: bool
) -> None:
    for attr in schema.attributes:
        if attr.mutability == "readOnly":
            continue
        where = Where(schema.urn, attr.name, core)
        value = part.get(attr.name)
        if before is not None and attr.mutability == "immutable":
            value = _immutable(value, before.get(attr.name), attr, where)
        if value is None:
            part.pop(attr.name, None)
            if attr.strict_required:
                raise invalid(where, "is required")
            continue
        value = check_value(value, attr, where)
        for rule in attr.rules:
            if rule in RULES:
                value = RULES[rule](value, attr, where)
        part[attr.name] = value


def _immutable(value: Any, old: Any, attr: AttributeDef, where: Where) -> Any:
    if Rule.keep_on_update.value in attr.rules or value is None:
        return old  # settable at creation only (§9.17); an immutable value is never removed
    if old is not None and not _same(value, old, attr):
        raise immutable(where)
    return value


def _same(value: Any, old: Any, attr: AttributeDef) -> bool:
    if isinstance(value, str) and isinstance(old, str) and not attr.case_exact:
        return value.lower() == old.lower()
    return bool(value == old)


def check_value(value: Any, attr: AttributeDef, where: Where) -> Any:
    """``value`` (of ``attr``, at ``where``) checked against Concur's constraints.

    Returns the value to store (canonical spellings); raises InvalidValue.
    """
    if not attr.multi_valued:
        return _check_single(value, attr, where)
    items = value if isinstance(value, list) else [value]
    if attr.max_length is not None and len(items) > attr.max_length:
        raise size(where, f"has {len(items)} values; at most {attr.max_length} are allowed")
    return [_check_single(item, attr, where.item(i)) for i, item in enumerate(items)]


def _check_single(value: Any, attr: AttributeDef, where: Where) -> Any:
    if attr.type == "complex" and isinstance(value, dict):
        return _check_complex(value, attr, where)
    if isinstance(value, str):
        return _check_string(value, attr, where)
    return value


def _check_complex(value: dict[str, Any], attr: AttributeDef, where: Where) -> dict[str, Any]:
    for sub in attr.sub_attributes:
        if sub.mutability == "readOnly":
            continue
        sub_value = value.get(sub.name)
        if sub_value is None:
            if sub.strict_required:
                raise invalid(where.child(sub.name), "is required")
            continue
        checked = check_value(sub_value, sub, where.child(sub.name))
        for rule in sub.rules:
            if rule in RULES:
                checked = RULES[rule](checked, sub, where.child(sub.name))
        value[sub.name] = checked
    if attr.any_of and all(value.get(name) is None for name in attr.any_of):
        raise invalid(where, f"needs one of: {', '.join(attr.any_of)}")
    return value


def _check_string(value: str, attr: AttributeDef, where: Where) -> str:
    if attr.exact_length is not None:
        if len(value) != attr.exact_length:
            raise size(where, f"must be exactly {attr.exact_length} characters long")
    elif attr.max_length is not None and len(value) > attr.max_length:
        raise size(where, f"is longer than {attr.max_length} characters")
    elif attr.min_length is not None and len(value) < attr.min_length:
        raise size(where, f"is shorter than {attr.min_length} characters")
    if attr.closed and attr.canonical_values:
        value = _canonical(value, attr, where)
    if attr.format is not None:
        value = _formatted(value, attr.format, where)
    if attr.code_list is not None:
        lookup, description = CODE_LISTS[attr.code_list]
        code = lookup(value)
        if code is None:
            raise invalid(where, f"must be {description}, not '{value}'")
        value = code
    return value


def _canonical(value: str, attr: AttributeDef, where: Where) -> str:
    for canonical in attr.canonical_values:
        if canonical == value or (not attr.case_exact and canonical.lower() == value.lower()):
            return canonical
    shown = list(attr.canonical_values[:_SHOWN_VALUES])
    more = ", …" if len(attr.canonical_values) > _SHOWN_VALUES else ""
    raise invalid(where, f"must be one of {', '.join(shown)}{more}; not '{value}'")


def _formatted(value: str, form: str, where: Where) -> str:
    if form == "date":
        day = parse_date(value)
        if day is None:
            raise invalid(where, f"must be a date, YYYY-MM-DD; not '{value}'")
        return day.isoformat()
    if form == "dateTime":
        moment = parse_datetime(value)
        if moment is None:
            raise invalid(where, f"must be a date-time, YYYY-MM-DDThh:mm:ssZ; not '{value}'")
        if not EARLIEST <= moment.date() <= LATEST:
            raise invalid(where, f"must be between {EARLIEST} and {LATEST}")
        return format_datetime(moment)
    if form == "languageTag" and not is_language_tag(value):
        raise invalid(where, f"must be a BCP 47 language tag such as en-US; not '{value}'")
    return value
