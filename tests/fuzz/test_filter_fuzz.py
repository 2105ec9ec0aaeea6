"""Property-based tests of the filter parser and compiler (RFC 7644 §3.4.2.2) on hostile input.

The contract pinned here is ``parse_filter``'s: any text either parses to a filter AST or
raises :class:`InvalidFilter`, never anything else; and a parsed filter either compiles to a
WHERE clause that the real database (a migrated SQLite file) runs, or is refused with
:class:`InvalidFilter`. Generation is derandomised, so CI runs the same cases every time.

Budget: 300 arbitrary texts, 300 grammar-shaped filters parsed, 200 compiled and run on the
User table and 100 on the Group table: 900 cases in all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter import MAX_NESTING, parse_filter
from concur_scim.scim.filter_ast import And, Compare, Expr, Not, Or, Present, ValuePath
from concur_scim.scim.registry import ResourceSchema, group_schema, user_schema
from concur_scim.store.db import create_db_engine
from concur_scim.store.filter_sql import ColumnMap, compile_filter
from concur_scim.store.groups import GROUP_COLUMNS
from concur_scim.store.migrate import upgrade
from concur_scim.store.tables import groups, users
from concur_scim.store.users import USER_COLUMNS

FUZZ = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
EXPR_TYPES = (And, Or, Not, Compare, Present, ValuePath)
OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Sw", "pr", "PR")


def _attribute_paths(resource: ResourceSchema) -> list[str]:
    """Every path the schema names, bare, dotted and URN-qualified."""
    out: list[str] = []
    for schema in (resource.core, *resource.extensions):
        for attr in schema.attributes:
            names = [attr.name, *(f"{attr.name}.{s.name}" for s in attr.sub_attributes)]
            out.extend(names)
            out.extend(f"{schema.urn}:{n}" for n in names)
    return out


# Odd characters: NUL, lone surrogates, quotes, backslashes, brackets, non-BMP, controls.
odd_chars = st.one_of(
    st.characters(),
    st.characters(categories=["Cs", "Cc", "Zs", "So"]),
    st.sampled_from('()[]"\\ \x00\t\n\u2028\ufeff\U0001f600.:$-'),
)
odd_text = st.text(odd_chars, max_size=40)

attr_paths = st.one_of(
    st.sampled_from(_attribute_paths(user_schema()) + _attribute_paths(group_schema())),
    st.from_regex(r"[A-Za-z$][A-Za-z0-9:._$-]{0,20}", fullmatch=True),
    odd_text,
)
values = st.one_of(
    st.text(odd_chars, max_size=20).map(json.dumps),  # valid JSON strings, surrogates escaped
    st.text(odd_chars, max_size=20).map(lambda s: f'"{s}"'),  # raw, maybe broken, quoting
    st.integers().map(str),
    st.integers(min_value=10**18, max_value=10**400).map(str),  # beyond any SQL integer
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(
        [
            "true",
            "False",
            "null",
            "1e999",
            "-1e999",
            "1E+400",
            "-0",
            "0.0e-0",
            "01",
            "1.",
            "2011-05-13T04:42:34Z",
            "9999-12-31T23:59:60+14:00",
            "0000-01-01T00:00:00Z",
            '"\\ud800"',
            '"\\u0000"',
            '"a\\"b"',
            "jyoung",
            "2819c223-7f76-453a-919d-413861904646",
        ]
    ),
    odd_text,
)


def _comparison(path: str, op: str, value: str) -> str:
    return f"{path} {op}" if op.lower() == "pr" else f"{path} {op} {value}"


leaves = st.builds(_comparison, attr_paths, st.sampled_from(OPERATORS), values)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", children, children),
        st.builds(lambda a, b: f"{a} OR {b}", children, children),
        children.map(lambda a: f"not ({a})"),
        children.map(lambda a: f"({a})"),
        st.builds(lambda p, a: f"{p}[{a}]", attr_paths, children),
        st.builds(lambda p, a, s: f"{p}[{a}].{s}", attr_paths, children, attr_paths),
    )


grammar_filters = st.one_of(
    st.recursive(leaves, _extend, max_leaves=8),
    # Deep parentheses around MAX_NESTING, balanced or not.
    st.builds(
        lambda depth, close, leaf: "(" * depth + leaf + ")" * close,
        st.integers(MAX_NESTING - 2, MAX_NESTING + 3),
        st.integers(MAX_NESTING - 2, MAX_NESTING + 3),
        leaves,
    ),
    # Mutations of a grammar-shaped filter: a cut, a spliced-in odd string.
    st.builds(
        lambda f, cut: f[:cut], st.recursive(leaves, _extend, max_leaves=4), st.integers(0, 60)
    ),
    st.builds(lambda f, junk: f + junk, st.recursive(leaves, _extend, max_leaves=4), odd_text),
)


# Well-formed filters over the schema's own paths with well-formed values of every JSON type,
# so that most reach the compiler and the database.
schema_paths = st.sampled_from(_attribute_paths(user_schema()) + _attribute_paths(group_schema()))
json_values = st.one_of(
    st.text(odd_chars, max_size=20).map(json.dumps),
    st.integers().map(str),
    st.integers(min_value=10**18, max_value=10**400).map(str),
    st.integers(max_value=-(10**18)).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(
        [
            "true",
            "false",
            "null",
            "-0",
            "1E+300",
            "2011-05-13T04:42:34Z",
            "2011-05-13",
            '"2011-05-13T04:42:34.1234567+14:00"',
            '"9999-12-31T23:59:59-23:59"',
            '"\\u0000"',
        ]
    ),
)
well_formed_leaves = st.builds(_comparison, schema_paths, st.sampled_from(OPERATORS), json_values)


def _extend_well_formed(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", children, children),
        st.builds(lambda a, b: f"({a}) or ({b})", children, children),
        children.map(lambda a: f"not ({a})"),
        st.builds(
            lambda p, s, op, v: f"{p}[{_comparison(s, op, v)}]",
            st.sampled_from(
                [
                    "emails",
                    "phoneNumbers",
                    "addresses",
                    "members",
                    "groups",
                    "roles",
                    "urn:ietf:params:scim:schemas:extension:sap:2.0:User:emails",
                ]
            ),
            st.sampled_from(["value", "type", "primary", "display", "bogus"]),
            st.sampled_from(OPERATORS),
            json_values,
        ),
    )


compilable_filters = st.recursive(well_formed_leaves, _extend_well_formed, max_leaves=6)


def _parse(text: str) -> Expr | None:
    """The AST, or None for an :class:`InvalidFilter`; any other exception fails the test."""
    try:
        expr = parse_filter(text)
    except InvalidFilter as exc:
        refused = exc
    else:
        assert isinstance(expr, EXPR_TYPES), expr
        event("parse: AST")
        return expr
    assert refused.detail, "an InvalidFilter carries a message for the client"
    event("parse: InvalidFilter")
    return None


@FUZZ
@given(st.text(odd_chars, max_size=200))
def test_arbitrary_text_parses_or_is_invalid_filter(text: str) -> None:
    """Any text at all parses to an AST or raises InvalidFilter."""
    _parse(text)


@FUZZ
@given(grammar_filters)
def test_grammar_shaped_filter_parses_or_is_invalid_filter(text: str) -> None:
    """Filter-shaped text (schema paths, every operator, odd values, deep parens) parses to an
    AST or raises InvalidFilter."""
    _parse(text)


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite database with no rows, for running compiled filters."""
    path: Path = tmp_path_factory.mktemp("fuzz-filter") / "filter.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


def _compile_and_run(
    engine: Engine, text: str, resource: ResourceSchema, cmap: ColumnMap, table_id: Any
) -> None:
    expr = _parse(text)
    if expr is None:
        return
    for dialect in ("sqlite", "postgresql"):
        try:
            condition = compile_filter(expr, resource, cmap, dialect)
        except InvalidFilter:
            event("compile: InvalidFilter")
            return
        event(f"compile: {dialect}")
        if dialect == "sqlite":
            with engine.connect() as conn:
                conn.execute(select(table_id).where(condition)).all()


@settings(FUZZ, max_examples=200)
@given(st.one_of(compilable_filters, grammar_filters))
def test_user_filter_compiles_and_runs_or_is_invalid_filter(
    sqlite_engine: Engine, text: str
) -> None:
    """A parsed User filter compiles for both databases and runs on SQLite, or is refused
    with InvalidFilter."""
    _compile_and_run(sqlite_engine, text, user_schema(), USER_COLUMNS, users.c.id)


@settings(FUZZ, max_examples=100)
@given(st.one_of(compilable_filters, grammar_filters))
def test_group_filter_compiles_and_runs_or_is_invalid_filter(
    sqlite_engine: Engine, text: str
) -> None:
    """A parsed Group filter compiles for both databases and runs on SQLite, or is refused
    with InvalidFilter."""
    _compile_and_run(sqlite_engine, text, group_schema(), GROUP_COLUMNS, groups.c.id)
