"""Evaluate a value filter against one element of a complex attribute, in memory.

A PATCH path such as ``emails[type eq "work"]`` (RFC 7644 §3.5.2) selects the elements of
``emails`` that satisfy the bracket filter; the PATCH engine calls :func:`element_matches`
once per element. Comparisons follow RFC 7644 §3.4.2.2: strings compare case-insensitively
unless the sub-attribute is ``caseExact``, ordering is lexicographic for strings, numeric for
numbers and chronological for dateTimes, and booleans and binaries cannot be ordered. The
whole filter is checked before any element is looked at, so an invalid filter fails the same
way whatever the data (short-circuiting ``and``/``or`` would otherwise hide errors).
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidFilter
from .filter_ast import And, Compare, Expr, Not, Or, Present, Scalar, ValuePath
from .registry import AttributeDef

_ORDERING = frozenset({"gt", "ge", "lt", "le"})
_SUBSTRING = frozenset({"co", "sw", "ew"})
_ORDER = {
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def element_matches(expr: Expr, element: Any, attr: AttributeDef) -> bool:
    """Whether ``element`` (one value of complex ``attr``) satisfies the value filter ``expr``.

    Paths in ``expr`` name sub-attributes of ``attr`` (case-insensitive); keys of
    ``element`` are matched case-insensitively too. A missing or null sub-attribute matches
    ``ne``, ``eq null`` and ``not (...)``, and nothing else. String booleans (``"True"``)
    compare equal to JSON booleans because clients send them.

    Raises:
        InvalidFilter: an unknown sub-attribute, a nested ``[filter]``, an ordering operator
            on a boolean or binary, a substring operator on a number, a value of the wrong
            type for the sub-attribute, or ``null`` with an operator other than eq/ne.
    """
    _check(expr, attr)
    return _eval(expr, element, attr)


def value_equals(a: Any, b: Any, attr: AttributeDef) -> bool:
    """Whether ``a`` and ``b`` are the same value of ``attr`` under its comparison rules.

    For a complex ``attr`` every sub-attribute must be equal (keys outside the definition
    compare with ``==``); absent, null and empty are all "no value" (RFC 7644 §3.5.2).
    Used by PATCH to find an existing element equal to an added or removed one.
    """
    if attr.type == "complex" and isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in {str(k).lower() for k in (*a, *b)}:
            x, y = _lookup(a, key), _lookup(b, key)
            sub = attr.sub(key)
            if not (_same(sub, x, y) if sub is not None else x == y):
                return False
        return True
    return _same(attr, a, b)


def _check(expr: Expr, attr: AttributeDef) -> None:
    todo: list[Expr] = [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, And | Or):
            todo.extend((node.left, node.right))
        elif isinstance(node, Not):
            todo.append(node.expr)
        elif isinstance(node, ValuePath):
            raise InvalidFilter(f"Nested [filters] are not allowed inside {attr.name}[...].")
        else:
            sub = _resolve(node, attr)
            if isinstance(node, Compare):
                _check_compare(sub, node.op, node.value)


def _resolve(node: Compare | Present, attr: AttributeDef) -> AttributeDef:
    """The sub-attribute ``node`` compares: ``sub``, or ``sub.nested`` of a complex sub
    (Concur's ``report[approver.value eq "…"]``, reference/concur-v4.md §3.6)."""
    path = node.path
    sub = attr.sub(path.attr) if path.urn is None else None
    if sub is not None and path.sub is not None:
        sub = sub.sub(path.sub) if sub.type == "complex" else None
    if sub is None:
        shown = ".".join(p for p in (path.attr, path.sub) if p)
        raise InvalidFilter(f"{attr.name!r} has no sub-attribute {shown!r}.")
    return sub


def _check_compare(sub: AttributeDef, op: str, value: Scalar) -> None:
    kind = sub.type
    if value is None:
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"'{op}' cannot compare {sub.name!r} with null.")
    elif kind in ("boolean", "binary") and op in _ORDERING:
        raise InvalidFilter(f"'{op}' is not defined for the {kind} attribute {sub.name!r}.")
    elif kind == "boolean" and (op in _SUBSTRING or _as_bool(value) is None):
        raise InvalidFilter(f"{sub.name!r} is boolean: compare it with eq/ne true or false.")
    elif kind in ("integer", "decimal") and (op in _SUBSTRING or _as_number(value) is None):
        raise InvalidFilter(f"{sub.name!r} is a number: compare it with eq/ne/gt/ge/lt/le.")
    elif kind == "dateTime" and op not in _SUBSTRING and _as_datetime(value) is None:
        raise InvalidFilter(f"{value!r} is not a dateTime (RFC 3339) for {sub.name!r}.")


def _eval(expr: Expr, element: Any, attr: AttributeDef) -> bool:
    if isinstance(expr, And):
        return _eval(expr.left, element, attr) and _eval(expr.right, element, attr)
    if isinstance(expr, Or):
        return _eval(expr.left, element, attr) or _eval(expr.right, element, attr)
    if isinstance(expr, Not):
        return not _eval(expr.expr, element, attr)
    assert not isinstance(expr, ValuePath)  # _check refused it
    sub = _resolve(expr, attr)
    stored = _lookup(element, expr.path.attr)
    if expr.path.sub is not None:
        outer = stored if isinstance(stored, list) else [stored]
        found = [_lookup(item, sub.name) for item in outer]
        stored = [v for v in found if v is not None] or None
    if isinstance(expr, Present) or expr.value is None:
        # RFC 7644 §3.4.2.2 "pr": non-null and non-empty; "eq null" is read as "absent".
        present = _present(stored)
        return present if isinstance(expr, Present) or expr.op == "ne" else not present
    items = [v for v in (stored if isinstance(stored, list) else [stored]) if v is not None]
    if expr.op == "ne":  # "not identical": true when no value equals, absent included
        return not any(_test(sub, "eq", item, expr.value) for item in items)
    return any(_test(sub, expr.op, item, expr.value) for item in items)


def _test(sub: AttributeDef, op: str, stored: Any, value: Any) -> bool:
    """``stored op value`` for one non-null stored value; False when it cannot be read."""
    kind = sub.type
    left: Any
    right: Any
    if kind == "boolean":
        left, right = _as_bool(stored), _as_bool(value)
    elif kind in ("integer", "decimal"):
        left, right = _as_number(stored), _as_number(value)
    elif kind == "dateTime" and op not in _SUBSTRING:
        left, right = _as_datetime(stored), _as_datetime(value)
    else:
        left, right = _text(stored), _text(value)
        if not sub.case_exact:
            left, right = left.casefold(), right.casefold()
        if op == "co":
            return bool(right in left)
        if op == "sw":
            return bool(left.startswith(right))
        if op == "ew":
            return bool(left.endswith(right))
    if left is None or right is None:
        return False
    return bool(_ORDER[op](left, right))


def _same(attr: AttributeDef, a: Any, b: Any) -> bool:
    if not _present(a) or not _present(b):
        return not _present(a) and not _present(b)
    return bool(a == b) or _test(attr, "eq", a, b)


def _lookup(element: Any, name: str) -> Any:
    """``element[name]`` with the key matched case-insensitively; None if absent."""
    if not isinstance(element, Mapping):
        return None
    if name in element:
        return element[name]
    low = name.lower()
    return next((v for k, v in element.items() if str(k).lower() == low), None)


def _present(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, list):
        return any(_present(v) for v in value)
    if isinstance(value, Mapping):
        return any(_present(v) for v in value.values())
    return True


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        for parse in (int, float):
            try:
                number = parse(value.strip())
            except ValueError:
                continue
            return number if math.isfinite(number) else None
    return None


def _as_datetime(value: Any) -> datetime | None:
    """An aware datetime from an RFC 3339 string (``Z`` or offset); naive means UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    """The string form of a value compared with a string attribute (``12`` → ``"12"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return str(value)
