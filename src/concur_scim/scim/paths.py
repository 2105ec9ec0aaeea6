"""Parse and resolve a PATCH operation's ``path`` (RFC 7644 §3.5.2).

``PATH = attrPath / valuePath [subAttr]``: ``nickName``, ``name.givenName``,
``emails[type eq "work"]``, ``emails[type eq "work"].value``, each optionally prefixed by a
schema URN (``urn:…:enterprise:2.0:User:employeeNumber``, or Entra's legacy
``urn:…:enterprise:2.0:User.manager``). Names resolve case-insensitively (RFC 7644 §3.10) to
the registry's definitions, so the PATCH engine works with :class:`AttributeDef` objects and
never with raw strings. Every failure is ``invalidPath`` (RFC 7644 §3.12), including a
malformed ``[filter]``, whose problem the detail repeats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidFilter, InvalidPath
from .filter import MAX_FILTER_LENGTH, parse_filter
from .filter_ast import And, AttrPath, Compare, Expr, Not, Or, Present, ValuePath
from .registry import AttributeDef, ResourceSchema, SchemaDef

# RFC 7644 §3.4.2.2 ATTRNAME; "$" admitted for the "$ref" sub-attribute (RFC 7643 §2.4).
_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
# The filter is greedy so that a "]" inside a quoted value does not end it early.
_PATH = re.compile(rf"(?P<attr>{_NAME})(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>{_NAME}))?", re.DOTALL)


@dataclass(frozen=True)
class PatchPath:
    """A resolved PATCH path.

    ``value_filter`` holds the ``[filter]`` part with paths relative to one element of
    ``attr``; ``sub`` is the sub-attribute named after the filter or after the dot.
    """

    schema: SchemaDef
    attr: AttributeDef
    value_filter: Expr | None
    sub: AttributeDef | None


def parse_patch_path(text: str, resource: ResourceSchema) -> PatchPath:
    """Parse ``text`` and resolve it against ``resource`` (RFC 7644 §3.5.2).

    Returns:
        The :class:`PatchPath`; ``schema`` is the core schema unless ``text`` starts with an
        extension URN (common attributes ``id``, ``externalId``, ``meta`` are core).

    Raises:
        InvalidPath: the path is empty, malformed, names an unknown schema, attribute or
            sub-attribute, puts a ``[filter]`` or ``.sub`` on a simple attribute, or its
            filter is invalid or names something that is not a sub-attribute of ``attr``.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidPath("The PATCH path is empty.")
    if len(stripped) > MAX_FILTER_LENGTH:
        raise InvalidPath(f"The PATCH path is longer than {MAX_FILTER_LENGTH} characters.")
    schema, rest = resource.split_urn(stripped)
    if not rest:
        raise InvalidPath(f"The path {text!r} names a schema; name one of its attributes.")
    match = _PATH.fullmatch(rest)
    if match is None:
        if ":" in rest.split("[", 1)[0]:
            raise InvalidPath(f"The path {text!r} has an unknown schema URN.")
        raise InvalidPath(
            f"The path {text!r} is not 'attr', 'attr.sub', 'attr[filter]' or "
            "'attr[filter].sub' (RFC 7644 §3.5.2)."
        )
    schema, attr = _resolve(resource, schema, match["attr"], qualified=rest != stripped)
    value_filter = None
    if match["filter"] is not None:
        _require_complex(attr, "a [filter]")
        value_filter = _element_filter(rest, match["attr"], attr)
    sub = None
    if match["sub"] is not None:
        _require_complex(attr, "a sub-attribute")
        sub = attr.sub(match["sub"])
        if sub is None:
            raise InvalidPath(f"{attr.name!r} has no sub-attribute {match['sub']!r}.")
    return PatchPath(schema=schema, attr=attr, value_filter=value_filter, sub=sub)


def _resolve(
    resource: ResourceSchema, schema: SchemaDef, name: str, *, qualified: bool
) -> tuple[SchemaDef, AttributeDef]:
    """The schema and definition of top-level attribute ``name``.

    An unqualified name missing from the core schema is looked up in the extensions, so
    ``manager[value eq "x"]`` works as clients send it; RFC 7644 §3.10 asks for the URN
    prefix, but the Enterprise User names do not clash with core ones.
    """
    attr = schema.attribute(name)
    if attr is not None:
        return schema, attr
    if not qualified:
        found = [(ext, a) for ext in resource.extensions if (a := ext.attribute(name))]
        if len(found) == 1:
            return found[0]
    raise InvalidPath(f"Unknown attribute {name!r} in schema {schema.urn}.")


def _require_complex(attr: AttributeDef, what: str) -> None:
    if attr.type != "complex":
        raise InvalidPath(f"{attr.name!r} is not a complex attribute; it cannot take {what}.")


def _element_filter(rest: str, name: str, attr: AttributeDef) -> Expr:
    """Parse ``name[filter]`` and check that the filter names only sub-attributes of ``attr``.

    The bracket text is parsed as the value path ``name[...]`` (not on its own) so that
    nested brackets and URN or dotted names inside it are reported as such.
    """
    head = rest[: rest.rindex("]") + 1]  # without the trailing ".sub"
    try:
        parsed = parse_filter(head)
    except InvalidFilter as exc:
        raise InvalidPath(f"Invalid filter in {head!r}: {exc.detail}") from None
    # A "]" inside the filter can close the brackets early: "a[x pr] or b[y pr]".
    if not isinstance(parsed, ValuePath) or parsed.path != AttrPath(None, name):
        raise InvalidPath(f"The path {rest!r} must be one 'attr[filter]', not a filter.")
    todo: list[Expr] = [parsed.filter]
    while todo:  # iterative: long and/or chains are deep, left-leaning trees
        node = todo.pop()
        if isinstance(node, And | Or):
            todo.extend((node.left, node.right))
        elif isinstance(node, Not):
            todo.append(node.expr)
        elif isinstance(node, Compare | Present):
            sub = attr.sub(node.path.attr)
            nested = node.path.sub
            if sub is not None and nested is not None:
                sub = sub.sub(nested) if sub.type == "complex" else None
            if sub is None:
                shown = node.path.attr + (f".{nested}" if nested else "")
                raise InvalidPath(f"{attr.name!r} has no sub-attribute {shown!r}.")
    return parsed.filter
