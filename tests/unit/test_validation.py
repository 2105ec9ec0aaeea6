"""normalize_resource: client JSON in, canonical stored document out (or a SCIM error)."""

from __future__ import annotations

from typing import Any

import pytest

from concur_scim.scim.errors import InvalidSyntax, InvalidValue
from concur_scim.scim.registry import ENTERPRISE_USER, group_schema, user_schema
from concur_scim.scim.validation import format_datetime, normalize_resource, parse_datetime


def norm(body: dict[str, Any]) -> dict[str, Any]:
    return normalize_resource(body, user_schema())


def test_names_are_canonicalised_case_insensitively() -> None:
    """Attribute and sub-attribute names in any case are stored under canonical names."""
    doc = norm({"USERNAME": "a", "Name": {"GIVENNAME": "B"}, "Emails": [{"VALUE": "x@y"}]})
    assert doc == {"userName": "a", "name": {"givenName": "B"}, "emails": [{"value": "x@y"}]}


def test_string_booleans_become_booleans() -> None:
    """ "False"/"true" in any case become JSON booleans, at top level and in sub-attributes."""
    doc = norm({"userName": "a", "active": "False", "emails": [{"value": "x", "primary": "TRUE"}]})
    assert doc["active"] is False
    assert doc["emails"][0]["primary"] is True


def test_read_only_and_unknown_are_dropped() -> None:
    """id, meta, schemas, groups, password, unknown attributes and unknown URNs are dropped."""
    doc = norm(
        {
            "userName": "a",
            "id": "x",
            "meta": {},
            "schemas": [],
            "groups": [],
            "password": "p",
            "shoeSize": 44,
            "urn:example:x:1.0": {"a": 1},
        }
    )
    assert doc == {"userName": "a"}


def test_unassigned_values_are_not_stored() -> None:
    """null, "", [] and {} mean unassigned (RFC 7643 §2.5) and leave no key behind."""
    doc = norm(
        {
            "userName": "a",
            "title": None,
            "nickName": "",
            "emails": [],
            "name": {"givenName": None},
            ENTERPRISE_USER: {},
        }
    )
    assert doc == {"userName": "a"}


def test_manager_shapes() -> None:
    """The manager may be a bare id, an object, or a one-element list."""
    for shape in ("m1", {"value": "m1"}, [{"value": "m1", "$ref": "../Users/m1"}]):
        doc = norm({"userName": "a", ENTERPRISE_USER: {"manager": shape}})
        assert doc[ENTERPRISE_USER]["manager"]["value"] == "m1"


def test_dotted_and_urn_keys() -> None:
    """Dotted keys and URN-qualified attribute keys land in the right place."""
    doc = norm({"userName": "a", "name.familyName": "F", f"{ENTERPRISE_USER}:department": "Sales"})
    assert doc["name"] == {"familyName": "F"}
    assert doc[ENTERPRISE_USER] == {"department": "Sales"}


def test_single_value_for_multi_valued_is_wrapped() -> None:
    """A lone object for a multi-valued attribute is read as a one-element list."""
    assert norm({"userName": "a", "emails": {"value": "x"}})["emails"] == [{"value": "x"}]


@pytest.mark.parametrize(
    "body",
    [
        {"name": {"givenName": "no userName"}},
        {"userName": True},
        {"userName": "a", "active": "yes"},
        {"userName": "a", "name": ["x"]},
        {
            "userName": "a",
            "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
        },
        {"userName": "a" * 513},
        {"userName": "a", "title": "t" * 8193},
        {"userName": "a\x00"},
        {"userName": "a", "emails": [{"value": str(i)} for i in range(1001)]},
    ],
)
def test_bad_values_raise_invalid_value(body: dict[str, Any]) -> None:
    """Wrong types, missing required, over-long or NUL values raise InvalidValue."""
    with pytest.raises(InvalidValue):
        norm(body)


def test_non_object_body_is_invalid_syntax() -> None:
    """A body that is not a JSON object is InvalidSyntax."""
    with pytest.raises(InvalidSyntax):
        normalize_resource(["a"], user_schema())


def test_numbers_become_strings_for_string_attributes() -> None:
    """A number sent for a string attribute is stored as its text (employee ids)."""
    doc = norm({"userName": "a", ENTERPRISE_USER: {"employeeNumber": 701984}})
    assert doc[ENTERPRISE_USER]["employeeNumber"] == "701984"


def test_group_requires_display_name() -> None:
    """A Group without displayName is refused."""
    with pytest.raises(InvalidValue):
        normalize_resource({"members": []}, group_schema())


def test_datetimes_are_normalised_to_utc_millis() -> None:
    """Date-times parse leniently and print as RFC 3339 UTC with milliseconds."""
    parsed = parse_datetime("2011-05-13T06:42:34+02:00")
    assert parsed is not None
    assert format_datetime(parsed) == "2011-05-13T04:42:34.000Z"
    assert parse_datetime("not a date") is None
