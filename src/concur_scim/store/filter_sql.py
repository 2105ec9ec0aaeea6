"""Compile a filter AST (RFC 7644 §3.4.2.2) into a SQLAlchemy boolean expression.

Every attribute path goes through an allowlist: the resource's attribute definitions, plus
the real columns in :class:`ColumnMap`. An attribute the schema does not have is
``invalidFilter``, never a silently dropped clause, and no SQL text is ever built from input:
values are bound parameters.

- ``userName``, ``externalId``, ``id``, group ``displayName`` and ``meta.*`` compile to their
  indexed columns, so the lookups IdPs make at every sync are index seeks.
- Other attributes are read from the JSON document (``json_extract`` on SQLite, ``#>>`` on
  PostgreSQL, both through SQLAlchemy's JSON type); multi-valued attributes become an
  ``EXISTS`` over the array elements (``json_each`` / ``jsonb_array_elements``).
- Every comparison is NULL-safe (an absent attribute gives false, never NULL), so ``not``
  behaves as RFC 7644 intends for absent attributes.
- ``caseExact: false`` attributes are compared on ``lower()`` of both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    column,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from concur_scim.scim.errors import InvalidFilter, UnknownFilterAttribute
from concur_scim.scim.filter_ast import (
    And,
    AttrPath,
    Compare,
    Expr,
    Not,
    Or,
    Present,
    Scalar,
    ValuePath,
)
from concur_scim.scim.registry import AttributeDef, ResourceSchema, SchemaDef
from concur_scim.scim.text import storable_text
from concur_scim.scim.validation import format_datetime, parse_datetime
from concur_scim.store.tables import Document

Condition = ColumnElement[bool]


@dataclass(frozen=True)
class ColumnMap:
    """Which attribute paths are real columns, for one table.

    ``columns`` maps a lower-cased path (``username``, ``meta.created``, or
    ``<urn>:employeenumber``) to (column, already-case-folded). ``special`` compiles paths that
    need more than a column (``members.value``, ``schemas``). ``extension_docs`` maps a
    lower-cased extension URN to the JSON document that holds that extension's attributes at
    its top level (a downstream extension kept in its own row); other extensions are
    objects under their URN in ``doc``.
    """

    doc: Any
    resource_type: str
    columns: dict[str, tuple[Any, bool]]
    special: dict[str, Callable[[Compare | Present], Condition]] = field(default_factory=dict)
    extension_docs: dict[str, Any] = field(default_factory=dict)


def compile_filter(
    expr: Expr, resource: ResourceSchema, cmap: ColumnMap, dialect: str
) -> Condition:
    """A WHERE clause equivalent to ``expr``; raises InvalidFilter for unknown attributes."""
    return _Compiler(resource, cmap, dialect).compile(expr)


class _Compiler:
    def __init__(self, resource: ResourceSchema, cmap: ColumnMap, dialect: str) -> None:
        self.resource = resource
        self.cmap = cmap
        self.dialect = dialect

    def compile(self, expr: Expr) -> Condition:
        if isinstance(expr, And):
            return and_(self.compile(expr.left), self.compile(expr.right))
        if isinstance(expr, Or):
            return or_(self.compile(expr.left), self.compile(expr.right))
        if isinstance(expr, Not):
            return not_(self.compile(expr.expr))
        if isinstance(expr, ValuePath):
            return self._value_path(expr)
        return self._leaf(expr)

    # -- resolution --------------------------------------------------------------------------

    def _resolve(self, path: AttrPath) -> tuple[SchemaDef, AttributeDef, AttributeDef | None]:
        schema: SchemaDef | None
        if path.urn is not None:
            # Concur's SCIM v4 writes the enterprise URN without ":User" (concur-v4.md §4.2).
            schema = self.resource.schema_for(path.urn) or self.resource.schema_for(
                f"{path.urn}:User"
            )
            if schema is None:
                raise UnknownFilterAttribute(f"unknown schema '{path.urn}' in filter")
        else:
            schema = self.resource.core
        attr = schema.attribute(path.attr)
        if attr is None and path.urn is None:
            # An unqualified extension attribute (``manager eq "id"``, older Entra).
            for extension in self.resource.extensions:
                attr = extension.attribute(path.attr)
                if attr is not None:
                    schema = extension
                    break
        if attr is None:
            raise UnknownFilterAttribute(f"unknown attribute '{path.attr}' in filter")
        sub = None
        if path.sub is not None:
            sub = attr.sub(path.sub)
            if sub is None:
                raise UnknownFilterAttribute(
                    f"unknown attribute '{path.attr}.{path.sub}' in filter"
                )
        elif attr.type == "complex":
            # "emails co x" means emails.value (RFC 7644 §3.4.2.2); "manager eq id" likewise.
            sub = attr.sub("value")
        if attr.type == "complex" and sub is None:
            raise InvalidFilter(f"'{attr.name}' is complex: filter on one of its sub-attributes")
        if attr.mutability == "writeOnly" or (sub and sub.mutability == "writeOnly"):
            raise InvalidFilter(f"'{attr.name}' cannot be filtered on")
        return schema, attr, sub

    def _column_key(self, schema: SchemaDef, attr: AttributeDef, sub: AttributeDef | None) -> str:
        key = attr.name.lower() + (f".{sub.name.lower()}" if sub else "")
        return key if schema is self.resource.core else f"{schema.urn.lower()}:{key}"

    # -- leaves ------------------------------------------------------------------------------

    def _leaf(self, expr: Compare | Present) -> Condition:
        path = expr.path
        if path.urn is None and path.sub is None and path.attr.lower() in self.cmap.special:
            return self.cmap.special[path.attr.lower()](expr)  # e.g. "schemas"
        schema, attr, sub = self._resolve(expr.path)
        key = self._column_key(schema, attr, sub)
        if key in self.cmap.special:
            return self.cmap.special[key](expr)
        if key == "meta.resourcetype":
            return self._literal_compare(expr, self.cmap.resource_type)
        if key in self.cmap.columns:
            col, folded = self.cmap.columns[key]
            target = sub or attr
            return self._compare(expr, col, target, folded=folded)
        if key.startswith("meta."):
            raise InvalidFilter(f"'{key}' cannot be filtered on")
        doc, keys = self._doc_keys(schema, attr)
        if attr.multi_valued:
            assert sub is not None
            elements = self._elements(doc, keys)
            inner = self._compare(expr, elements.c.value[(sub.name,)], sub, json=True)
            return exists(select(literal(1)).select_from(elements).where(inner))
        target = sub or attr
        json_keys = (*keys, sub.name) if sub else keys
        return self._compare(expr, doc[json_keys], target, json=True)

    def _value_path(self, expr: ValuePath) -> Condition:
        schema, attr, _ = self._resolve(
            AttrPath(expr.path.urn, expr.path.attr, "value") if expr.path.sub is None else expr.path
        )
        if not attr.multi_valued or attr.type != "complex":
            raise InvalidFilter(f"'{attr.name}' is not a multi-valued complex attribute")
        key = self._column_key(schema, attr, None)
        if f"{key}.value" in self.cmap.special:
            return self._special_value_path(expr, key)
        elements = self._elements(*self._doc_keys(schema, attr))
        inner = _ElementCompiler(self, attr, elements.c.value).compile(expr.filter)
        return exists(select(literal(1)).select_from(elements).where(inner))

    def _special_value_path(self, expr: ValuePath, key: str) -> Condition:
        inner = expr.filter
        if isinstance(inner, Compare | Present) and inner.path.attr.lower() == "value":
            return self.cmap.special[f"{key}.value"](inner)
        raise InvalidFilter(f"only '{key}[value op ...]' can be filtered on")

    def _doc_keys(self, schema: SchemaDef, attr: AttributeDef) -> tuple[Any, tuple[str, ...]]:
        """The JSON document holding ``attr`` and the keys that reach it there."""
        if schema is self.resource.core:
            return self.cmap.doc, (attr.name,)
        own = self.cmap.extension_docs.get(schema.urn.lower())
        if own is not None:
            return own, (attr.name,)
        return self.cmap.doc, (schema.urn, attr.name)

    def _elements(self, doc: Any, keys: tuple[str, ...]) -> Any:
        if self.dialect == "postgresql":
            fn = func.jsonb_array_elements(doc[keys])
        else:
            fn = func.json_each(doc, "$." + ".".join(f'"{k}"' for k in keys))
        return fn.table_valued(column("value", Document)).alias()

    # -- comparisons -------------------------------------------------------------------------

    def _literal_compare(self, expr: Compare | Present, value: str) -> Condition:
        if isinstance(expr, Present):
            return true()
        if expr.op not in ("eq", "ne") or not isinstance(expr.value, str):
            raise InvalidFilter("meta.resourceType supports eq and ne with a string")
        same = expr.value.lower() == value.lower()
        return true() if same == (expr.op == "eq") else false()

    def _compare(
        self,
        expr: Compare | Present,
        target: Any,
        attr: AttributeDef,
        *,
        folded: bool = False,
        json: bool = False,
    ) -> Condition:
        typed: ColumnElement[Any] = _typed(target, attr) if json else target
        if isinstance(expr, Present):
            return typed.is_not(None)
        value = _coerce(expr, attr)
        if isinstance(value, datetime):
            # JSON holds normalised RFC 3339 text (ordered lexicographically); columns hold UTC.
            try:
                value = format_datetime(value) if json else value.astimezone(UTC)
            except (OverflowError, ValueError):
                raise InvalidFilter(f"'{attr.name}': the date-time is out of range") from None
        if isinstance(value, str) and not storable_text(value):
            raise InvalidFilter(f"'{attr.name}': the value has characters no attribute can hold")
        if value is None:
            if expr.op == "eq":
                return typed.is_(None)
            if expr.op == "ne":
                return typed.is_not(None)
            raise InvalidFilter(f"'{expr.op} null' is not a valid comparison")
        return _comparison(expr.op, typed, value, attr, folded=folded)


class _ElementCompiler:
    """Compiles the filter inside ``attr[...]`` against one JSON array element."""

    def __init__(self, parent: _Compiler, attr: AttributeDef, element: Any) -> None:
        self.parent = parent
        self.attr = attr
        self.element = element

    def compile(self, expr: Expr) -> Condition:
        if isinstance(expr, And):
            return and_(self.compile(expr.left), self.compile(expr.right))
        if isinstance(expr, Or):
            return or_(self.compile(expr.left), self.compile(expr.right))
        if isinstance(expr, Not):
            return not_(self.compile(expr.expr))
        if isinstance(expr, ValuePath):
            raise InvalidFilter("value filters cannot be nested")
        sub = self.attr.sub(expr.path.attr)
        if sub is None or expr.path.sub is not None or expr.path.urn is not None:
            raise UnknownFilterAttribute(
                f"unknown attribute '{self.attr.name}.{expr.path.attr}' in filter"
            )
        return self.parent._compare(expr, self.element[(sub.name,)], sub, json=True)


def _typed(json_expr: Any, attr: AttributeDef) -> Any:
    if attr.type == "boolean":
        return json_expr.as_boolean()
    if attr.type == "integer":
        return json_expr.as_integer()
    if attr.type == "decimal":
        return json_expr.as_float()
    return json_expr.as_string()


def _coerce(expr: Compare, attr: AttributeDef) -> Scalar | datetime:
    value = expr.value
    if value is None:
        return None
    if attr.type == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool) or expr.op not in ("eq", "ne"):
            raise InvalidFilter(f"'{attr.name}' is a boolean: use eq or ne with true or false")
        return value
    if attr.type in ("integer", "decimal"):
        if isinstance(value, bool):
            raise InvalidFilter(f"'{attr.name}' is a number")
        try:
            return int(value) if attr.type == "integer" else float(value)
        except (TypeError, ValueError):
            raise InvalidFilter(f"'{attr.name}' is a number") from None
    if attr.type == "dateTime":
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise InvalidFilter(f"'{attr.name}' is a date-time: '{value}' is not RFC 3339")
        return parsed
    return str(value) if not isinstance(value, str) else value


def _comparison(op: str, target: Any, value: Any, attr: AttributeDef, *, folded: bool) -> Condition:
    text = isinstance(value, str)
    fold = text and not attr.case_exact
    lhs = target if (folded or not fold) else func.lower(target)
    rhs = value.lower() if fold else value
    present = target.is_not(None)
    if op == "eq":
        return and_(present, lhs == rhs)
    if op == "ne":
        return or_(target.is_(None), lhs != rhs)
    if op in ("co", "sw", "ew"):
        if not text:
            raise InvalidFilter(f"'{op}' compares strings; '{attr.name}' is a {attr.type}")
        method = {"co": lhs.contains, "sw": lhs.startswith, "ew": lhs.endswith}[op]
        return and_(present, method(rhs, autoescape=True))
    if op in ("gt", "ge", "lt", "le"):
        if attr.type in ("boolean", "binary", "complex"):
            raise InvalidFilter(f"'{op}' is not defined for '{attr.name}'")
        compare = {"gt": lhs > rhs, "ge": lhs >= rhs, "lt": lhs < rhs, "le": lhs <= rhs}[op]
        return and_(present, compare)
    raise InvalidFilter(f"unknown operator '{op}'")
