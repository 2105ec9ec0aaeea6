"""Find the attributes of a request that no schema defines, to report what was ignored.

RFC 7644 §3.3 lets a service provider ignore attributes it does not know, and every dialect
does. The User Provisioning status has room to say so (reference/concur-v4.md §3.4:
``messages[]`` of ``type`` ``warning``), so the provisioning worker reports each ignored
attribute there rather than dropping it in silence (Concur's own Bulk example puts the travel
``gender`` in the core User). A PATCH path naming an unknown sub-attribute (Concur's Postman
collection sends ``name.nickName``) is found here too (:func:`unknown_sub_attribute`), so
that User Provisioning can report and skip it. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from concur_scim.scim.errors import InvalidPath
from concur_scim.scim.patch import resolve_path
from concur_scim.scim.registry import AttributeDef, ResourceSchema, SchemaDef

_RESOURCE_KEYS = frozenset({"schemas", "id", "meta", "groups", "password"})
# RFC 7644 §3.4.2.2 ATTRNAME (``$ref`` too), as scim/paths.py reads a sub-attribute name.
_NAME = re.compile(r"[A-Za-z$][A-Za-z0-9_$-]*")


def unknown_attributes(
    payload: dict[str, Any], core: SchemaDef, extensions: tuple[SchemaDef, ...]
) -> dict[str, list[str]]:
    """The attribute paths of ``payload`` no schema defines, by the URN they were sent under.

    Names are matched case-insensitively (RFC 7643 §2.1). Keys that are a URN no schema
    serves are whole extensions the server does not know (SAP IPS's custom URN, §9.20):
    tolerated, not listed. A path is ``<urn>:<attr>[.<sub>]``.
    """
    found: dict[str, list[str]] = {}
    by_urn = {e.urn.lower(): e for e in extensions}
    for key, value in payload.items():
        if not isinstance(key, str) or key.lower() in _RESOURCE_KEYS:
            continue
        schema = by_urn.get(key.lower())
        if schema is not None:
            if isinstance(value, dict):
                _walk(value, schema, schema.urn, found)
            continue
        if key.lower().startswith("urn:"):
            continue
        _check(key, value, core, core.urn, found)
    return found


def unknown_in_extension(payload: dict[str, Any], schema: SchemaDef) -> list[str]:
    """The attribute paths of one extension object that ``schema`` does not define."""
    found: dict[str, list[str]] = {}
    _walk(payload, schema, schema.urn, found)
    return found.get(schema.urn, [])


def _walk(obj: dict[str, Any], schema: SchemaDef, urn: str, found: dict[str, list[str]]) -> None:
    for key, value in obj.items():
        if isinstance(key, str):
            _check(key, value, schema, urn, found)


def _check(key: str, value: Any, schema: SchemaDef, urn: str, found: dict[str, list[str]]) -> None:
    attr = schema.attribute(key)
    if attr is None:
        found.setdefault(urn, []).append(f"{urn}:{key}")
        return
    _sub(attr, value, f"{urn}:{attr.name}", urn, found)


def _sub(attr: AttributeDef, value: Any, path: str, urn: str, found: dict[str, list[str]]) -> None:
    if attr.type != "complex" or not attr.sub_attributes:
        return
    items = value if isinstance(value, list) else [value]
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, sub_value in item.items():
            if not isinstance(key, str):
                continue
            sub = attr.sub(key)
            if sub is None:
                if key.lower() not in seen:
                    seen.add(key.lower())
                    found.setdefault(urn, []).append(f"{path}.{key}")
                continue
            _sub(sub, sub_value, f"{path}.{sub.name}", urn, found)


def unknown_sub_attribute(text: str, resource: ResourceSchema) -> str | None:
    """The path ``<urn>:<attr>.<sub>`` when the PATCH path ``text`` is valid but for its last
    ``.sub``, which its complex attribute does not define (``name.nickName``,
    ``…:enterprise:2.0:User:manager.foo``, ``emails[type eq "work"].foo``); else None.

    A path that resolves, or that fails for another reason (an unknown top-level attribute
    or schema, a bad filter, a sub-attribute of a simple attribute), is not one: the PATCH
    engine reports those as it always does.
    """
    try:
        resolve_path(text, resource)
        return None
    except InvalidPath:
        pass
    head, dot, sub = text.strip().rpartition(".")
    if not dot or not head or _NAME.fullmatch(sub) is None:
        return None
    try:
        path = resolve_path(head, resource)
    except InvalidPath:
        return None
    if path.sub is not None or path.attr.type != "complex" or path.attr.sub(sub) is not None:
        return None
    return f"{path.schema.urn}:{path.attr.name}.{sub}"


# What stands in for an operation left out: it changes nothing (patch.py ignores ``meta`` in a
# value), and keeps the operation count and the indices in error messages as sent.
_NO_OP = {"op": "add", "value": {"meta": {}}}


def skip_unknown_sub_attributes(body: Any, resource: ResourceSchema) -> tuple[Any, list[str]]:
    """A PatchOp ``body`` in which every well-formed add/replace/remove whose path names an
    unknown sub-attribute (:func:`unknown_sub_attribute`) is replaced by an operation that
    changes nothing, and those paths (``<urn>:<attr>.<sub>``), for User Provisioning to
    report as warnings. ``body`` is not changed; anything else is left for the PATCH parser.
    """
    if not isinstance(body, dict):
        return body, []
    fixed, ignored = dict(body), []
    for key, ops in body.items():
        if not (isinstance(key, str) and key.lower() == "operations" and isinstance(ops, list)):
            continue
        kept: list[Any] = []
        for op in ops:
            found = _unknown_in_operation(op, resource)
            if found is not None:
                ignored.append(found)
            kept.append(op if found is None else dict(_NO_OP))
        fixed[key] = kept
    return fixed, ignored


def _unknown_in_operation(op: Any, resource: ResourceSchema) -> str | None:
    """The unknown sub-attribute path of one raw operation, or None (an operation the
    parser would refuse for another reason is left for it to refuse)."""
    if not isinstance(op, dict):
        return None
    fields = {k.lower(): v for k, v in op.items() if isinstance(k, str)}
    name, path = fields.get("op"), fields.get("path")
    if not isinstance(name, str) or not isinstance(path, str):
        return None
    name = name.strip().lower()
    if name not in ("add", "replace", "remove") or (name != "remove" and "value" not in fields):
        return None
    return unknown_sub_attribute(path, resource)
