"""``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5, §3.9) on a rendered resource.

A :class:`Projection` is parsed once per request from the query parameters (or a
SearchRequest) and then applied to each resource of the response. It also answers
:meth:`Projection.includes`, so that the API loads expensive attributes (group ``members``,
user ``groups``) only when the response will carry them.

``id`` and ``schemas`` are always returned (RFC 7643 §3.1 ``returned: always``); ``meta`` is
returned by default and when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concur_scim.scim.errors import InvalidValue
from concur_scim.scim.registry import ResourceSchema

ALWAYS = frozenset({"id", "schemas"})

# (schema URN or "" for core, attribute lower-cased or "" for a whole extension, sub or "")
_Key = tuple[str, str, str]


@dataclass(frozen=True)
class Projection:
    """The parsed attribute selection of one request."""

    attributes: frozenset[_Key] = frozenset()
    excluded: frozenset[_Key] = frozenset()

    @classmethod
    def parse(
        cls,
        resource: ResourceSchema,
        attributes: str | list[str] | None,
        excluded: str | list[str] | None,
    ) -> Projection:
        """Parse comma-separated (or listed) attribute paths; unknown names are ignored."""
        return cls(_keys(resource, attributes), _keys(resource, excluded))

    def includes(self, resource: ResourceSchema, name: str) -> bool:
        """Will a core attribute ``name`` (e.g. ``members``) appear in the response?"""
        key = name.lower()
        if self.attributes:
            return any(urn == "" and attr == key for urn, attr, _ in self.attributes)
        return ("", key, "") not in self.excluded

    def apply(self, body: dict[str, Any], resource: ResourceSchema) -> dict[str, Any]:
        """``body`` reduced to the selection (a new dict; ``body`` is not changed)."""
        if not self.attributes and not self.excluded:
            return body
        core = resource.core.urn.lower()
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key in ALWAYS:
                out[key] = value
                continue
            urn = key.lower() if key.lower().startswith("urn:") else ""
            if urn and urn != core and isinstance(value, dict):
                kept = {}
                for sub_key, sub_value in value.items():
                    selected = self._select(urn, sub_key, sub_value)
                    if selected is not _DROP:
                        kept[sub_key] = selected
                if kept:
                    out[key] = kept
                continue
            selected = self._select("", key, value)
            if selected is not _DROP:
                out[key] = selected
        return out

    def _select(self, urn: str, key: str, value: Any) -> Any:
        attr = key.lower()
        if self.attributes:
            if (urn, "", "") in self.attributes or (urn, attr, "") in self.attributes:
                return value
            if key == "meta" and not urn:
                return _DROP
            subs = {s for u, a, s in self.attributes if u == urn and a == attr and s}
            return _only(value, subs) if subs else _DROP
        if (urn, "", "") in self.excluded or (urn, attr, "") in self.excluded:
            return _DROP
        subs = {s for u, a, s in self.excluded if u == urn and a == attr and s}
        return _without(value, subs) if subs else value


class _Drop:
    pass


_DROP = _Drop()


def _only(value: Any, subs: set[str]) -> Any:
    if isinstance(value, list):
        items = [_only(v, subs) for v in value]
        items = [i for i in items if i is not _DROP]
        return items or _DROP
    if isinstance(value, dict):
        kept = {k: v for k, v in value.items() if k.lower() in subs}
        return kept or _DROP
    return _DROP


def _without(value: Any, subs: set[str]) -> Any:
    if isinstance(value, list):
        return [_without(v, subs) for v in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k.lower() not in subs}
    return value


def _keys(resource: ResourceSchema, raw: str | list[str] | None) -> frozenset[_Key]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, str | list):
        raise InvalidValue("attributes must be a comma-separated string or a list of names")
    parts = raw.split(",") if isinstance(raw, str) else raw
    keys: set[_Key] = set()
    for part in parts:
        if not isinstance(part, str):
            raise InvalidValue("attribute names must be strings")
        text = part.strip()
        if not text:
            continue
        schema, rest = resource.split_urn(text)
        urn = "" if schema is resource.core else schema.urn.lower()
        if text.lower().startswith("urn:") and schema is resource.core and rest == text:
            continue  # unknown schema: nothing of it is ever returned
        attr, _, sub = rest.partition(".")
        keys.add((urn, attr.lower(), sub.lower()))
    return frozenset(keys)
