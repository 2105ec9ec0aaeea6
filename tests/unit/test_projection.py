"""attributes / excludedAttributes (RFC 7644 §3.4.2.5) on rendered resources."""

from __future__ import annotations

from typing import Any

from concur_scim.scim.projection import Projection
from concur_scim.scim.registry import ENTERPRISE_USER, group_schema, user_schema

USER: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
    "id": "1",
    "userName": "a",
    "name": {"givenName": "G", "familyName": "F"},
    "emails": [{"value": "x", "type": "work"}, {"value": "y", "type": "home"}],
    ENTERPRISE_USER: {"department": "D", "costCenter": "C"},
    "meta": {"resourceType": "User"},
}


def project(attributes: str | None = None, excluded: str | None = None) -> dict[str, Any]:
    return Projection.parse(user_schema(), attributes, excluded).apply(USER, user_schema())


def test_no_selection_returns_everything() -> None:
    """Without parameters the resource is returned as it is."""
    assert project() == USER


def test_attributes_keep_named_plus_always() -> None:
    """attributes keeps the named attributes plus id and schemas, names case-insensitive."""
    assert project("USERNAME") == {"schemas": USER["schemas"], "id": "1", "userName": "a"}


def test_sub_attributes_of_complex_and_multi_valued() -> None:
    """name.givenName and emails.value keep only those sub-attributes."""
    got = project("name.givenName,emails.value")
    assert got["name"] == {"givenName": "G"}
    assert got["emails"] == [{"value": "x"}, {"value": "y"}]


def test_extension_whole_and_one_attribute() -> None:
    """An extension URN selects all of it; URN:attr selects one attribute of it."""
    assert project(ENTERPRISE_USER)[ENTERPRISE_USER] == USER[ENTERPRISE_USER]
    assert project(f"{ENTERPRISE_USER}:department")[ENTERPRISE_USER] == {"department": "D"}


def test_excluded_attributes() -> None:
    """excludedAttributes removes attributes and sub-attributes but never id."""
    got = project(excluded="emails,name.familyName,id," + f"{ENTERPRISE_USER}:costCenter")
    assert "emails" not in got
    assert got["name"] == {"givenName": "G"}
    assert got["id"] == "1"
    assert got[ENTERPRISE_USER] == {"department": "D"}


def test_includes_tells_whether_members_are_needed() -> None:
    """includes() is false for members when excluded or when attributes omit it."""
    g = group_schema()
    assert Projection().includes(g, "members")
    assert not Projection.parse(g, None, "members").includes(g, "members")
    assert not Projection.parse(g, "displayName", None).includes(g, "members")
    assert Projection.parse(g, "members.value", None).includes(g, "members")
