"""The three PATCH operations applied at one resolved path (RFC 7644 §3.5.2.1-3).

Each handler takes a :class:`Slot` (where one top-level attribute lives in the engine's
private copy of the document), the parsed :class:`~concur_scim.scim.paths.PatchPath` and
the operation's value, and mutates the slot in place or raises. Mutability of the
top-level attribute and path-less expansion are the caller's business (``scim/patch.py``);
sub-attribute mutability is enforced here through :func:`patch_values.set_sub`.

Choices where RFC 7644 is strict but real clients are not (idp-clients.md §0, §1.3, §1.4):

- ``add``/``replace`` with null or ``""`` clears the target (Entra's null-update test and
  manager removal); ``replace`` with ``[]``/``{}`` clears too, while ``add`` of ``[]``/``{}``
  adds nothing and is a no-op, so an "add" can never delete data;
- a value filter that matches nothing on ``add``/``replace`` creates the element when the
  filter is an ``eq`` or an ``and`` of ``eq`` (Entra), else raises NoTarget (§3.5.2.3);
- ``remove`` is idempotent: a path or filter that matches nothing is a no-op, because IdPs
  retry deletes and RFC 7644 §3.5.2.2's noTarget would turn a retry into a failure;
- ``remove`` of a multi-valued attribute with a ``value`` removes only the listed elements
  (Entra's member removal) instead of the whole attribute; on a single-valued attribute
  the value is ignored and the attribute removed (Entra's manager removal);
- ``add``/``replace`` of a complex single-valued attribute merges sub-attributes, except
  that a new ``value`` (a different manager id) replaces the whole object, since ``$ref``
  and ``displayName`` described the previous referent;
- ``list.sub`` without a filter addresses every element (and creates one when the list is
  empty); a whole-element ``replace`` through a filter swaps the element for the value;
- a bare (non-object) value through a filter on a multi-valued attribute with a ``value``
  sub-attribute sets that sub-attribute of the matched elements and keeps the rest
  (Concur's Postman collection: ``replace emails[type eq "work"]`` with the address,
  reference/concur-v4.md §6.1).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from concur_scim.scim.errors import InvalidFilter, InvalidPath, NoTarget
from concur_scim.scim.evaluate import element_matches, value_equals
from concur_scim.scim.filter_ast import Expr
from concur_scim.scim.patch_values import (
    as_object,
    check_immutable_subs,
    contains,
    element_from_filter,
    is_empty,
    keep_one_primary,
    merge_into,
    set_sub,
    shape_element,
    shape_items,
    shape_single_complex,
)
from concur_scim.scim.paths import PatchPath
from concur_scim.scim.registry import AttributeDef


@dataclass(frozen=True)
class Slot:
    """One top-level attribute's place in the document: core (``urn`` None) or an extension.

    Writing an empty value removes the key, and an extension object left empty is removed
    too, so the document never holds null, ``""``, ``[]`` or ``{}``.
    """

    doc: dict[str, Any]
    urn: str | None
    attr: AttributeDef

    def get(self) -> Any:
        """The current value, or None when absent."""
        container = self.doc if self.urn is None else self.doc.get(self.urn)
        return container.get(self.attr.name) if isinstance(container, dict) else None

    def put(self, value: Any) -> None:
        """Store ``value`` (removing the attribute when it is empty)."""
        if is_empty(value):
            self.clear()
            return
        if self.urn is None:
            self.doc[self.attr.name] = value
            return
        container = self.doc.get(self.urn)
        if not isinstance(container, dict):
            container = self.doc[self.urn] = {}
        container[self.attr.name] = value

    def clear(self) -> None:
        """Remove the attribute; drop its extension object if that leaves it empty."""
        if self.urn is None:
            self.doc.pop(self.attr.name, None)
            return
        container = self.doc.get(self.urn)
        if isinstance(container, dict):
            container.pop(self.attr.name, None)
            if not container:
                del self.doc[self.urn]


Handler = Callable[[Slot, PatchPath, Any], None]


def add_at(slot: Slot, path: PatchPath, value: Any) -> None:
    """RFC 7644 §3.5.2.1 ``add``: set a simple value, merge a complex one, append to a list."""
    _check_filter(path)
    if value is None or value == "":
        remove_at(slot, path, None)
    elif not is_empty(value):
        _write(slot, path, value, replace=False)


def replace_at(slot: Slot, path: PatchPath, value: Any) -> None:
    """RFC 7644 §3.5.2.3 ``replace``: like add, but a list or a filtered element is swapped."""
    _check_filter(path)
    if is_empty(value):
        remove_at(slot, path, None)
    else:
        _write(slot, path, value, replace=True)


def remove_at(slot: Slot, path: PatchPath, value: Any) -> None:
    """RFC 7644 §3.5.2.2 ``remove``; a non-empty ``value`` on a list names the elements to drop."""
    _check_filter(path)
    attr = slot.attr
    if attr.type != "complex" and not attr.multi_valued:
        _require_plain(path)
        slot.clear()
        return
    if attr.multi_valued:
        items = _current_items(slot)
        if path.value_filter is not None:
            items = _remove_filtered(items, path)
        elif path.sub is not None:
            for element in items:
                if isinstance(element, dict):
                    set_sub(element, path.sub, None, attr.name)
            items = [e for e in items if not _vacant(e)]
        elif not is_empty(value):
            items = [e for e in items if not _named_by(e, value, attr)]
        else:
            items = []
        slot.put([e for e in items if not is_empty(e)])
        return
    current = slot.get()
    if not isinstance(current, dict):
        slot.clear()
        return
    if path.value_filter is not None and not _matches(path.value_filter, current, attr):
        return  # `manager[value eq "other"]`: nothing to remove
    if path.sub is not None:
        set_sub(current, path.sub, None, attr.name)
        slot.put(current)
    else:
        slot.clear()


HANDLERS: Mapping[str, Handler] = {"add": add_at, "replace": replace_at, "remove": remove_at}
"""The operations by their lower-case ``op`` name (commands dispatched through a registry)."""


def _write(slot: Slot, path: PatchPath, value: Any, *, replace: bool) -> None:
    attr = slot.attr
    if attr.type != "complex" and not attr.multi_valued:
        _require_plain(path)
        slot.put(copy.deepcopy(value))
        return
    if attr.multi_valued:
        items = _current_items(slot)
        touched: list[Any]
        if path.value_filter is not None:
            touched = _write_filtered(items, path, value, replace=replace, may_create=True)
        elif path.sub is not None:
            if not items:
                items.append({})  # `emails.value` on a user without emails: create one
            for element in items:
                if isinstance(element, dict):
                    set_sub(element, path.sub, value, attr.name)
            touched = items
        elif replace:
            items = touched = shape_items(value, attr)
        else:
            touched = [item for item in shape_items(value, attr) if not contains(items, item, attr)]
            items.extend(touched)
        keep_one_primary(items, touched)
        slot.put([e for e in items if not is_empty(e)])
        return
    current = slot.get()
    if path.value_filter is not None:
        single = [current] if isinstance(current, dict) else []
        _write_filtered(single, path, value, replace=replace, may_create=not single)
        slot.put(single[0])
        return
    element = current if isinstance(current, dict) else {}
    if path.sub is not None:
        set_sub(element, path.sub, value, attr.name)
        slot.put(element)
        return
    given = as_object(value, attr)
    value_sub = attr.sub("value")
    new_ref = next((v for k, v in given.items() if str(k).lower() == "value"), None)
    if (
        value_sub is not None
        and element
        and not is_empty(new_ref)
        and not value_equals(new_ref, element.get("value"), value_sub)
    ):
        # A new manager id: `$ref`/`displayName` described the previous referent, so the
        # RFC's merge would leave them stale.
        element = {}
    merge_into(element, given, attr)
    slot.put(element)


def _write_filtered(
    items: list[Any], path: PatchPath, value: Any, *, replace: bool, may_create: bool
) -> list[Any]:
    """Write to every element the value filter matches; returns the elements written."""
    attr, expr = path.attr, path.value_filter
    assert expr is not None  # the caller checked; keeps mypy's narrowing local
    indexes = [i for i, e in enumerate(items) if isinstance(e, dict) and _matches(expr, e, attr)]
    created = not indexes
    if created:
        fresh = element_from_filter(expr, attr) if may_create else None
        if fresh is None:
            raise NoTarget(f"no value of '{attr.name}' matches the filter in the path")
        items.append(fresh)
        indexes = [len(items) - 1]
    value_sub = attr.sub("value") if attr.multi_valued else None
    touched: list[Any] = []
    for i in indexes:
        element = items[i]
        if path.sub is not None:
            set_sub(element, path.sub, value, attr.name)
        elif value_sub is not None and isinstance(value, str | int | float | bool):
            # A bare value is the element's `value`; the rest of it (its `type`) stays, as
            # Concur's Postman collection expects of `replace emails[type eq "work"]`.
            set_sub(element, value_sub, value, attr.name)
        elif replace and not created:
            element = shape_single_complex(value, attr)
            check_immutable_subs(items[i], element, attr)
            items[i] = element
        else:
            merge_into(element, as_object(value, attr), attr)
        touched.append(element)
    return touched


def _remove_filtered(items: list[Any], path: PatchPath) -> list[Any]:
    attr, expr = path.attr, path.value_filter
    assert expr is not None
    kept: list[Any] = []
    for element in items:
        if isinstance(element, dict) and _matches(expr, element, attr):
            if path.sub is None:
                continue
            set_sub(element, path.sub, None, attr.name)
            if _vacant(element):
                continue
        kept.append(element)
    return kept


# Sub-attributes that only describe an element's value (RFC 7643 §2.4), not data of their own.
_DESCRIPTIVE = frozenset({"type", "primary", "display"})


def _vacant(element: Any) -> bool:
    """Whether a multi-valued element is left with no data after a sub-attribute removal.

    Entra clears ``phoneNumbers[type eq "work"].value`` to say "no work phone" (the SCIM
    validator's null-update test); ``{"type": "work"}`` left behind would be a phone with
    no number, so the element goes.
    """
    return isinstance(element, dict) and all(key in _DESCRIPTIVE for key in element)


def _named_by(element: Any, value: Any, attr: AttributeDef) -> bool:
    """Whether ``element`` is one of the items a remove's ``value`` lists.

    Elements are identified by their ``value`` sub-attribute (compared per its caseExact)
    when the attribute has one and the given item carries it, else by equality.
    """
    value_sub = attr.sub("value") if attr.type == "complex" else None
    for given in value if isinstance(value, list) else [value]:
        if value_sub is not None and isinstance(element, dict):
            ref = given
            if isinstance(given, dict):
                ref = next((v for k, v in given.items() if str(k).lower() == "value"), None)
            if ref is not None and not isinstance(ref, dict):
                if value_equals(element.get("value"), ref, value_sub):
                    return True
                continue
        expected = shape_element(given, attr) if attr.type == "complex" else given
        if value_equals(element, expected, attr):
            return True
    return False


def _matches(expr: Expr, element: Any, attr: AttributeDef) -> bool:
    """:func:`element_matches`, with a bad filter reported as the bad path it is part of."""
    try:
        return element_matches(expr, element, attr)
    except InvalidFilter as exc:
        raise InvalidPath(f"invalid filter in {attr.name}[...]: {exc.detail}") from None


def _check_filter(path: PatchPath) -> None:
    """Validate the value filter before any data is looked at.

    element_matches checks the whole filter before reading the element, so one call on an
    empty element fails the same way whether or not the attribute has values; otherwise a
    mistyped filter on an empty list would "create" an element from it.
    """
    if path.value_filter is not None:
        _matches(path.value_filter, {}, path.attr)


def _current_items(slot: Slot) -> list[Any]:
    current = slot.get()
    if current is None:
        return []
    return current if isinstance(current, list) else [current]


def _require_plain(path: PatchPath) -> None:
    if path.value_filter is not None or path.sub is not None:
        raise InvalidPath(f"'{path.attr.name}' has no sub-attributes to filter or select")
