"""element_matches / value_equals: in-memory value filters (RFC 7644 §3.4.2.2, §3.5.2)."""

from __future__ import annotations

from typing import Any

import pytest

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.evaluate import element_matches, value_equals
from concur_scim.scim.filter import parse_filter
from concur_scim.scim.registry import AttributeDef, ResourceSchema, group_schema, user_schema


def _attr(name: str, resource: ResourceSchema | None = None) -> AttributeDef:
    resource = resource or user_schema()
    for schema in (resource.core, *resource.extensions):
        found = schema.attribute(name)
        if found is not None:
            return found
    raise AssertionError(name)


EMAILS = _attr("emails")
META = _attr("meta")
GROUPS = _attr("groups")
CERTS = _attr("x509Certificates")
MEMBERS = _attr("members", group_schema())
_METRIC_SUBS = (AttributeDef("size", "integer"), AttributeDef("ratio", "decimal"))
METRICS = AttributeDef(
    "metrics",
    "complex",
    multi_valued=True,
    sub_attributes=_METRIC_SUBS,
    by_key={s.name.lower(): s for s in _METRIC_SUBS},
)


def matches(text: str, element: Any, attr: AttributeDef = EMAILS) -> bool:
    """Parse ``text`` as a bracket filter and evaluate it against ``element``."""
    return element_matches(parse_filter(text), element, attr)


WORK = {"type": "work", "value": "Bjensen@Example.com", "primary": True}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('type eq "work"', True),
        ('type eq "WORK"', True),
        ('TYPE eq "work"', True),
        ('type eq "home"', False),
        ('type ne "home"', True),
        ('type ne "work"', False),
        ('value co "example"', True),
        ('value sw "bjensen@"', True),
        ('value ew ".COM"', True),
        ('value ew ".org"', False),
        ('value gt "a"', True),
        ('value lt "B"', False),
        ('value ge "bjensen@example.com"', True),
        ('value le "bjensen@example.com"', True),
        ("primary eq true", True),
        ("primary ne true", False),
        ('primary eq "True"', True),
        ("value pr", True),
        ("display pr", False),
        ("display eq null", True),
        ("display ne null", False),
        ("value eq null", False),
        ('display ne "x"', True),
        ('display eq "x"', False),
        ('type eq "work" and value co "@example.com"', True),
        ('type eq "home" or value co "@example.com"', True),
        ('type eq "home" or not (primary eq false) and display pr', False),
        ('not (type eq "work")', False),
    ],
)
def test_filter_against_work_email(text: str, expected: bool) -> None:
    """Each filter gives the RFC 7644 §3.4.2.2 result for a typical work email element."""
    assert matches(text, WORK) is expected


def test_element_keys_match_case_insensitively() -> None:
    """A stored key ``Type`` is found by the filter path ``type``."""
    assert matches('type eq "work"', {"Type": "work"})


@pytest.mark.parametrize("stored", [True, "True", "true", " TRUE "])
def test_string_boolean_equals_json_true(stored: Any) -> None:
    """A boolean stored as a string (as clients send it) compares equal to ``true``."""
    assert matches("primary eq true", {"primary": stored})


@pytest.mark.parametrize("stored", [False, "false", "yes", 1])
def test_non_true_values_do_not_equal_true(stored: Any) -> None:
    """False, ``"false"`` and non-boolean junk do not equal ``true``."""
    assert not matches("primary eq true", {"primary": stored})


@pytest.mark.parametrize("stored", [None, "", [], {}])
def test_empty_values_are_not_present(stored: Any) -> None:
    """``pr`` is false for null and empty values (RFC 7644 §3.4.2.2)."""
    assert not matches("value pr", {"value": stored})


def test_case_exact_sub_attribute_compares_exactly() -> None:
    """``groups.value`` is caseExact, so ``ABC`` does not equal ``abc``."""
    assert not matches('value eq "abc"', {"value": "ABC"}, GROUPS)
    assert matches('value eq "ABC"', {"value": "ABC"}, GROUPS)


def test_number_filter_value_matches_string_sub_attribute() -> None:
    """An unquoted number compared with a string sub-attribute matches its digits."""
    assert matches("value eq 2819", {"value": "2819"}, MEMBERS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('lastModified eq "2011-05-13T04:42:34Z"', True),
        ('lastModified gt "2011-05-13T04:00:00Z"', True),
        ('lastModified lt "2011-05-13T04:42:34.5Z"', True),
        ('lastModified ge "2011-05-13T06:42:34+02:00"', True),
        ('lastModified gt "2011-05-13T05:00:00+00:00"', False),
        ('lastModified co "2011-05-13"', True),
    ],
)
def test_date_times_compare_chronologically(text: str, expected: bool) -> None:
    """dateTime ordering is by instant, so offsets and fractions are honoured."""
    # Lexicographically "2011-05-13T06:42:34+02:00" > "2011-05-13T05:00:00+00:00"; in time it
    # is 04:42:34Z, earlier.
    assert matches(text, {"lastModified": "2011-05-13T06:42:34+02:00"}, META) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("size gt 9", True),
        ("size eq 10", True),
        ("size lt 9.5", False),
        ("ratio ge 0.25", True),
        ('ratio le "0.5"', True),
    ],
)
def test_numbers_compare_numerically(text: str, expected: bool) -> None:
    """Integer and decimal sub-attributes order by value, not text (``10`` > ``9``)."""
    assert matches(text, {"size": 10, "ratio": "0.5"}, METRICS) is expected


def test_unreadable_stored_number_matches_only_ne() -> None:
    """A stored value that is not a number fails eq and gt but satisfies ne."""
    element = {"size": "ten"}
    assert not matches("size eq 10", element, METRICS)
    assert not matches("size gt 1", element, METRICS)
    assert matches("size ne 10", element, METRICS)


def test_non_dict_element_has_no_sub_attributes() -> None:
    """A malformed element (a bare string) matches ``not (value pr)`` and nothing positive."""
    assert not matches("value pr", "x@example.com")
    assert matches("not (value pr)", "x@example.com")


@pytest.mark.parametrize(
    ("text", "attr", "detail"),
    [
        ("bogus pr", EMAILS, "no sub-attribute 'bogus'"),
        ('type eq "home" and bogus pr', EMAILS, "no sub-attribute 'bogus'"),
        ("primary gt true", EMAILS, "'gt' is not defined for the boolean"),
        ('primary co "t"', EMAILS, "is boolean"),
        ("primary eq 1", EMAILS, "is boolean"),
        ('value gt "x"', CERTS, "'gt' is not defined for the binary"),
        ('size co "1"', METRICS, "is a number"),
        ('size eq "ten"', METRICS, "is a number"),
        ('lastModified gt "yesterday"', META, "is not a dateTime"),
        ("lastModified gt 5", META, "is not a dateTime"),
        ("value gt null", EMAILS, "cannot compare 'value' with null"),
        ("value co null", EMAILS, "with null"),
    ],
)
def test_invalid_comparison_raises_invalid_filter(
    text: str, attr: AttributeDef, detail: str
) -> None:
    """Each unsupported comparison raises InvalidFilter, whatever the element holds."""
    with pytest.raises(InvalidFilter) as caught:
        matches(text, {}, attr)
    assert detail in caught.value.detail


def test_nested_value_path_in_element_filter_is_invalid() -> None:
    """A ValuePath inside an element filter (built by hand) raises InvalidFilter."""
    with pytest.raises(InvalidFilter, match="Nested"):
        element_matches(parse_filter('emails[type eq "work"]'), WORK, EMAILS)


def test_dotted_or_urn_path_in_element_filter_is_invalid() -> None:
    """``type.x`` or a URN path cannot name a sub-attribute of one element."""
    with pytest.raises(InvalidFilter, match=r"no sub-attribute 'type\.x'"):
        matches('type.x eq "work"', WORK)
    with pytest.raises(InvalidFilter, match="no sub-attribute 'type'"):
        matches('urn:a:b:type eq "work"', WORK)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"value": "A@x.com", "type": "work"}, {"Value": "a@X.com", "type": "WORK"}, True),
        ({"value": "a@x.com", "primary": "true"}, {"value": "a@x.com", "primary": True}, True),
        ({"value": "a@x.com", "display": ""}, {"value": "a@x.com"}, True),
        ({"value": "a@x.com", "display": None}, {"value": "a@x.com", "display": "A"}, False),
        ({"value": "a@x.com"}, {"value": "b@x.com"}, False),
        ({"value": "a@x.com", "extra": 1}, {"value": "a@x.com", "extra": 2}, False),
    ],
)
def test_value_equals_on_complex_elements(a: Any, b: Any, expected: bool) -> None:
    """Two email elements are equal when every sub-attribute is, by its own rules."""
    assert value_equals(a, b, EMAILS) is expected


def test_value_equals_respects_case_exact() -> None:
    """Member ids are caseExact: differing case means different members."""
    assert not value_equals({"value": "ABC"}, {"value": "abc"}, MEMBERS)
    assert value_equals({"value": "ABC"}, {"value": "ABC"}, MEMBERS)


def test_value_equals_on_simple_attributes() -> None:
    """Simple values compare by type: dateTimes by instant, strings case-insensitively."""
    last_modified = META.sub("lastModified")
    assert last_modified is not None
    assert value_equals("2011-05-13T04:42:34Z", "2011-05-13T06:42:34+02:00", last_modified)
    assert value_equals("Employee", "employee", _attr("userType"))
    assert not value_equals("Employee", None, _attr("userType"))
