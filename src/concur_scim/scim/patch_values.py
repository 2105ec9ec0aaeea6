"""Value shaping for the PATCH engine: canonical keys, structural shapes, equality, primary.

The engine writes values as the client sent them; type coercion (``"False"`` → ``false``)
is the validator's job (``scim/validation.py``), run on the whole patched document. What
happens here is only what the engine needs to place a value at all:

- complex values get their sub-attribute keys canonicalised (``"GivenName"`` →
  ``givenName``); unknown keys and empty values are dropped (RFC 7643 §2.5: unassigned);
- a single-valued complex attribute accepts a one-element list and, when it has a
  ``value`` sub-attribute (``manager``), a bare string (Entra, idp-clients.md §1.3f);
- a multi-valued attribute accepts one item instead of a list, and an attribute with a value
  shorthand (``entitlements``) a bare value for ``{"value": …}``;
- at most one element of a multi-valued attribute is ``primary`` (RFC 7643 §2.4).

Nothing here does I/O; every function either returns a fresh value or mutates only the
element or list it is given (which belongs to the engine's private copy of the document).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from concur_scim.scim.errors import InvalidValue, Mutability
from concur_scim.scim.evaluate import value_equals
from concur_scim.scim.filter_ast import And, Compare, Expr
from concur_scim.scim.registry import AttributeDef


def is_empty(value: Any) -> bool:
    """True for the values that mean "no value": null, ``""``, ``[]`` and ``{}``."""
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def is_true(value: Any) -> bool:
    """True for boolean true and its string spellings (Entra sends ``"True"``)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _writable_sub(attr: AttributeDef, key: Any) -> AttributeDef | None:
    """The sub-attribute a client key names, or None when the engine must not write it.

    readOnly sub-attributes of a writable parent (``manager.displayName``) are server-set:
    a client copy is dropped rather than refused, as on POST/PUT (RFC 7644 §3.5.1). Under a
    readOnly parent they are kept, so the mutability check sees the attempted change.
    """
    sub = attr.sub(key) if isinstance(key, str) else None
    if sub is None:
        return None
    if sub.mutability == "readOnly" and attr.mutability != "readOnly":
        return None
    return sub


def shape_element(value: Any, attr: AttributeDef) -> dict[str, Any]:
    """A copy of the complex ``value`` under canonical keys, unknown and empty keys dropped.

    An attribute with a value shorthand takes a bare value for ``{"value": …}`` (Concur's
    ``"entitlements": ["Expense"]``). Raises InvalidValue when ``value`` is not an object.
    """
    if attr.value_shorthand and isinstance(value, str | int | float | bool):
        value = {"value": value}
    if not isinstance(value, dict):
        raise InvalidValue(f"each value of '{attr.name}' must be an object")
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = _writable_sub(attr, key)
        if sub is not None and not is_empty(sub_value):
            out[sub.name] = copy.deepcopy(sub_value)
    return out


def as_object(value: Any, attr: AttributeDef) -> dict[str, Any]:
    """``value`` for one complex value as the client's object, keys not yet canonicalised.

    Accepts an object, a one-element list of one (Entra's older manager example) and, when
    ``attr`` has a ``value`` sub-attribute, a bare string meaning ``{"value": …}`` (Entra
    sends the manager as a bare id, idp-clients.md §1.3f). Raises InvalidValue otherwise.
    """
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidValue(f"'{attr.name}' takes one object here, not a list of {len(value)}")
        value = value[0]
    if isinstance(value, str) and attr.sub("value") is not None:
        value = {"value": value}
    if not isinstance(value, dict):
        raise InvalidValue(f"'{attr.name}' takes an object of sub-attributes")
    return value


def shape_single_complex(value: Any, attr: AttributeDef) -> dict[str, Any]:
    """:func:`as_object` then :func:`shape_element`: one complex value, ready to store."""
    return shape_element(as_object(value, attr), attr)


def shape_items(value: Any, attr: AttributeDef) -> list[Any]:
    """The items of a multi-valued ``value`` (one item is wrapped), shaped and de-duplicated.

    Raises InvalidValue when an item of a complex attribute is not an object.
    """
    raw = value if isinstance(value, list) else [value]
    items: list[Any] = []
    for item in raw:
        shaped = shape_element(item, attr) if attr.type == "complex" else copy.deepcopy(item)
        if not is_empty(shaped) and not contains(items, shaped, attr):
            items.append(shaped)
    return items


def contains(items: Sequence[Any], item: Any, attr: AttributeDef) -> bool:
    """Whether an element equal to ``item`` (per ``attr``'s caseExact rules) is in ``items``."""
    return any(value_equals(existing, item, attr) for existing in items)


def set_sub(element: dict[str, Any], sub: AttributeDef, value: Any, where: str) -> None:
    """Write ``value`` to ``element[sub]``, enforcing the sub-attribute's mutability.

    readOnly: only its current value may be written; immutable: only while unset
    (RFC 7643 §2.2). Raises Mutability otherwise. An empty ``value`` removes the key.
    """
    old = element.get(sub.name)
    locked = sub.mutability == "readOnly" or (sub.mutability == "immutable" and old is not None)
    if locked and old != value:
        raise Mutability(f"attribute '{where}.{sub.name}' is {sub.mutability}")
    if is_empty(value):
        element.pop(sub.name, None)
    else:
        element[sub.name] = copy.deepcopy(value)


def merge_into(element: dict[str, Any], value: dict[str, Any], attr: AttributeDef) -> None:
    """Merge the sub-attributes given in ``value`` into ``element`` (RFC 7644 §3.5.2.1/3).

    Sub-attributes not named in ``value`` are left unchanged; a named one whose value is
    empty is removed. Unknown keys are dropped. Raises Mutability (see :func:`set_sub`).
    """
    for key, sub_value in value.items():
        sub = _writable_sub(attr, key)
        if sub is not None:
            set_sub(element, sub, sub_value, attr.name)


def check_immutable_subs(old: dict[str, Any], new: dict[str, Any], attr: AttributeDef) -> None:
    """Raise Mutability when replacing ``old`` by ``new`` changes a set immutable sub-attribute.

    ``members.value`` is immutable: an existing member cannot be re-pointed in place.
    """
    for sub in attr.sub_attributes:
        if sub.mutability == "immutable" and sub.name in old and old[sub.name] != new.get(sub.name):
            raise Mutability(f"attribute '{attr.name}.{sub.name}' is immutable")


def element_from_filter(expr: Expr, attr: AttributeDef) -> dict[str, Any] | None:
    """The element an ``eq`` filter (or an ``and`` of them) describes, or None if not buildable.

    Entra writes ``emails[type eq "work"].value`` to a user without a work email and expects
    the element to be created (idp-clients.md §1.3d); RFC 7644 §3.5.2.3 would answer
    ``noTarget``, which the caller still does for any other filter shape.
    """
    if isinstance(expr, Compare):
        sub = attr.sub(expr.path.attr) if expr.path.sub is None else None
        if expr.op != "eq" or sub is None or sub.mutability == "readOnly":
            return None
        return None if is_empty(expr.value) else {sub.name: expr.value}
    if isinstance(expr, And):
        left = element_from_filter(expr.left, attr)
        right = element_from_filter(expr.right, attr)
        if left is None or right is None:
            return None
        if any(key in left and left[key] != value for key, value in right.items()):
            return None  # `type eq "a" and type eq "b"` describes no element
        return {**left, **right}
    return None


def keep_one_primary(items: list[Any], touched: Sequence[Any]) -> None:
    """Demote every other primary element when a touched element is primary (RFC 7643 §2.4).

    ``touched`` are the elements the current operation wrote, compared by identity; the
    first of them that is primary wins, so one request never leaves two primaries behind.
    """
    winner = next((e for e in touched if isinstance(e, dict) and is_true(e.get("primary"))), None)
    if winner is None:
        return
    for element in items:
        if element is not winner and isinstance(element, dict) and is_true(element.get("primary")):
            element["primary"] = False
