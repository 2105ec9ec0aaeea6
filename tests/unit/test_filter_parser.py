"""parse_filter: the RFC 7644 §3.4.2.2 examples, real-client filters, errors and a fuzz run."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter import MAX_FILTER_LENGTH, MAX_NESTING, parse_filter
from concur_scim.scim.filter_ast import (
    And,
    AttrPath,
    Compare,
    Expr,
    Not,
    Or,
    Present,
    ValuePath,
)

DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "rfc7644_filters.json").read_text(encoding="utf-8")
)
CASES = [
    pytest.param(case["filter"], case["ast"], id=f"{section}:{case['filter'][:60]}")
    for section in ("rfc7644", "clients", "grammar")
    for case in DATA[section]
]


def decode(node: dict[str, Any]) -> Expr:
    """Build the filter_ast tree that the data file's JSON encoding describes."""
    urn = node.get("urn")
    if "cmp" in node:
        attr, sub, op, value = node["cmp"]
        return Compare(AttrPath(urn, attr, sub), op, value)
    if "pr" in node:
        attr, sub = node["pr"]
        return Present(AttrPath(urn, attr, sub))
    if "and" in node:
        return And(decode(node["and"][0]), decode(node["and"][1]))
    if "or" in node:
        return Or(decode(node["or"][0]), decode(node["or"][1]))
    if "not" in node:
        return Not(decode(node["not"]))
    attr, inner = node["vp"]
    return ValuePath(AttrPath(urn, attr), decode(inner))


def test_data_file_holds_every_rfc_example() -> None:
    """The data file keeps all 17 filters of RFC 7644 Figure 2 (plus the two case examples)."""
    figure_2 = [c for c in DATA["rfc7644"] if c["source"] == "RFC 7644 §3.4.2.2 Figure 2"]
    assert len(figure_2) == 17
    assert len(DATA["rfc7644"]) == 19


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_filter_parses_to_expected_ast(text: str, expected: dict[str, Any]) -> None:
    """Each filter of the data file parses to exactly the AST written beside it."""
    assert parse_filter(text) == decode(expected)


def test_values_keep_their_json_type() -> None:
    """Integers stay int, decimals float, booleans bool, quoted digits str."""
    values = {
        text: parse_filter(f"x eq {text}").value  # type: ignore[union-attr]
        for text in ("12", "1.0", "true", '"12"', "007")
    }
    assert values == {"12": 12, "1.0": 1.0, "true": True, '"12"': "12", "007": "007"}
    assert type(values["12"]) is int
    assert type(values["1.0"]) is float


def test_operator_is_stored_lower_case() -> None:
    """A mixed-case operator (``sW``) is stored as ``sw``."""
    assert parse_filter('userName sW "J"') == Compare(AttrPath(None, "userName"), "sw", "J")


def test_filter_of_maximum_length_is_accepted() -> None:
    """A filter of exactly MAX_FILTER_LENGTH characters still parses."""
    text = 'title eq "' + "x" * (MAX_FILTER_LENGTH - 11) + '"'
    assert len(text) == MAX_FILTER_LENGTH
    assert isinstance(parse_filter(text), Compare)


def test_long_and_chain_does_not_recurse_too_deeply() -> None:
    """A 4 KiB chain of ``and`` clauses parses into a left-deep tree."""
    text = " and ".join(["a pr"] * 400)
    assert len(text) <= MAX_FILTER_LENGTH
    tree = parse_filter(text)
    depth = 0
    while isinstance(tree, And):
        tree, depth = tree.left, depth + 1
    assert depth == 399


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("title eq " + '"' + "x" * MAX_FILTER_LENGTH + '"', "longer than"),
        ('title pr "x"', "'pr' at position 7 takes no value"),
        ("title pr x", "takes no value"),
        ("title eq", "'eq' at position 7 needs a value"),
        ("title eq )", "needs a value"),
        ("title eq and b pr", "needs a value"),
        ('(title eq "x"', "ends early"),
        ('title eq "x" and', "ends early"),
        ('title eq "x"))', "Unexpected ')' at position 13"),
        ('userName eq "a\\"b" junk', "Unexpected 'junk' at position 20"),
        ('title eq "x" "y"', "Unexpected '\"y\"' at position 14"),
        ('title eq "abc', "Unterminated string starting at position 10"),
        ('title eq "\\q"', "Invalid string"),
        ('title eq "\\ud800"', "Invalid string"),
        ("title eq 1e999", "out of range"),
        ('ti#tle eq "x"', "Unexpected character '#' at position 3"),
        ("a.b.c eq 1", "Unexpected '.c'"),
        ('title regex "x"', "Unexpected"),
        ('title eq "x" xor b pr', "Unexpected 'xor'"),
        ("not a pr", "Unexpected"),
        ('emails[type eq "work"][value eq "x"]', "Nested [filters]"),
        ('emails[type[value eq "x"] pr]', "Nested [filters]"),
        ('emails[type[value eq "x"].display eq "y"]', "Nested [filters]"),
        ('emails[type eq "work"] eq "x"', "Compare a sub-attribute after ']'"),
        ('emails.value[type eq "work"]', "not to the sub-attribute 'emails.value'"),
        ('emails[urn:a:b:type eq "work"]', "got 'urn:a:b:type'"),
        ("(" * (MAX_NESTING + 1) + "a pr" + ")" * (MAX_NESTING + 1), "nests deeper"),
        ("[]", "Unexpected '['"),
        ('"x" eq "y"', "Unexpected '\"x\"' at position 1"),
    ],
)
def test_bad_filter_raises_invalid_filter(text: str, detail: str) -> None:
    """Each malformed filter raises InvalidFilter whose detail names the problem."""
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert detail in caught.value.detail
    assert caught.value.scim_type == "invalidFilter"


def test_error_detail_never_shows_library_internals() -> None:
    """Library messages (``Parsing error at: Token(...)``) and placeholders stay hidden."""
    for text in ('a eq "x" b', 'a eq "x" "y"', "a ~ b", "(a pr", 'a eq "x")'):
        with pytest.raises(InvalidFilter) as caught:
            parse_filter(text)
        assert "Token" not in caught.value.detail
        assert "Parsing error" not in caught.value.detail
        assert "\x00" not in caught.value.detail


# --- fuzzing ---------------------------------------------------------------------------

_SEEDS = [
    str(case["filter"]) for section in ("rfc7644", "clients", "grammar") for case in DATA[section]
]
_FRAGMENTS = [
    *'()[]"\\ .:$-_\t\n\x00é0123456789aZ',
    " eq ",
    " pr",
    " and ",
    " or ",
    "not ",
    "true",
    "null",
    "-1.5",
    "1e5",
    '"\\u00',
    "].x",
    "urn:a:b:",
    "[",
    "]",
    '"',
    "\\",
    "Eq",
    "emails[",
    " co ",
    "\ud800",
]
_EXPR_TYPES = (Compare, Present, And, Or, Not, ValuePath)


def _mutate(rng: random.Random, text: str) -> str:
    """Apply 1-3 random edits: delete, insert, duplicate, truncate or swap words."""
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(5)
        at = rng.randrange(len(text) + 1)
        if choice == 0 and text:
            text = text[:at] + text[at + 1 :]
        elif choice == 1:
            text = text[:at] + rng.choice(_FRAGMENTS) + text[at:]
        elif choice == 2:
            end = rng.randrange(at, len(text) + 1)
            text = text[:end] + text[at:end] + text[end:]
        elif choice == 3:
            text = text[:at]
        else:
            words = text.split(" ")
            i, j = rng.randrange(len(words)), rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
            text = " ".join(words)
    return text


def test_fuzzed_filters_raise_only_invalid_filter() -> None:
    """Thousands of mutated and random strings either parse or raise InvalidFilter, never else."""
    rng = random.Random(7644)
    inputs = [_mutate(rng, rng.choice(_SEEDS)) for _ in range(3000)]
    inputs += ["".join(rng.choices(_FRAGMENTS, k=rng.randint(1, 30))) for _ in range(1000)]
    parsed = rejected = 0
    for text in inputs:
        try:
            result = parse_filter(text)
        except InvalidFilter as exc:
            if not exc.detail:
                pytest.fail(f"empty detail for {text!r}")
            rejected += 1
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{type(exc).__name__} {exc!r} for filter {text!r}")
        else:
            assert isinstance(result, _EXPR_TYPES), text
            parsed += 1
    # Both outcomes occur, so the run explored the grammar rather than only garbage.
    assert parsed > 300
    assert rejected > 300


def test_filter_on_a_nested_sub_attribute_inside_brackets() -> None:
    """``report[approver.value eq "x"]``: Concur's PATCH paths filter on a sub-attribute of a
    complex sub-attribute (reference/concur-v4.md §3.6)."""
    parsed = parse_filter('report[approver.value eq "x"]')
    assert parsed == ValuePath(
        AttrPath(None, "report"), Compare(AttrPath(None, "approver", "value"), "eq", "x")
    )
