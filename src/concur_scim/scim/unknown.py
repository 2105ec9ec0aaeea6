"""Find the attributes of a request that no schema defines, to report what was ignored.

RFC 7644 §3.3 lets a service provider ignore attributes it does not know, and every dialect
does. The User Provisioning status has room to say so (reference/concur-v4.md §3.4:
``messages[]`` of ``type`` ``warning``), so the provisioning worker reports each ignored
attribute there rather than dropping it in silence (Concur's own Bulk example puts the travel
``gender`` in the core User). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from concur_scim.scim.registry import AttributeDef, SchemaDef

_RESOURCE_KEYS = frozenset({"schemas", "id", "meta", "groups", "password"})


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
