"""The plain ``name eq "value"`` filter is read without the grammar (scim/filter.py
``_simple_equality``, the lookup identity providers make before every write); whatever the
text, the answer must be the grammar's: the same expression, or the same refusal."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter import _parse, _simple_equality, parse_filter
from concur_scim.scim.filter_ast import AttrPath, Compare

NAMES = st.sampled_from(["userName", "USERNAME", "externalId", "displayName", "id", "x-y_1"])
SPACES = st.sampled_from([" ", "  ", "\t", " \t "])
OPS = st.sampled_from(["eq", "EQ", "Eq", "eQ"])


def _outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except InvalidFilter as refused:
        return ("refused", type(refused))


@settings(max_examples=400, derandomize=True)
@given(NAMES, SPACES, OPS, SPACES, st.text(max_size=40) | st.sampled_from(["\ud800", "\x00"]))
def test_fast_path_gives_what_the_grammar_gives(
    name: str, before: str, op: str, after: str, value: str
) -> None:
    text = f"{name}{before}{op}{after}{json.dumps(value)}"
    assert _outcome(parse_filter, text) == _outcome(_parse, text)


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet='ab "\\eqEQ[]().:\t\n\r\u00a0\u2028', max_size=30))
def test_any_text_the_fast_path_reads_reads_the_same(text: str) -> None:
    """On arbitrary text built from the characters that matter: when the fast path answers,
    the grammar answers the same."""
    fast = _simple_equality(text)
    if fast is not None:
        assert _outcome(_parse, text) == fast


def test_the_lookup_is_read_by_the_fast_path() -> None:
    """The form Entra and Okta send is the one the fast path takes (the test above would
    hold vacuously if it took none)."""
    expected = Compare(AttrPath(None, "userName"), "eq", 'ada "the" countess\u00e9')
    text = 'userName eq "ada \\"the\\" countess\\u00e9"'
    assert _simple_equality(text) == expected
    assert _parse(text) == expected
    assert _simple_equality('userName eq "a" and active eq true') is None
    assert _simple_equality('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"') is None
