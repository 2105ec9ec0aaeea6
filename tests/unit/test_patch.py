"""The PATCH engine's semantics (RFC 7644 §3.5.2.1-3): each op against each path form."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from concur_scim.scim.errors import InvalidPath, InvalidValue, Mutability, NoTarget
from concur_scim.scim.patch import (
    PATCH_OP_URN,
    PatchOperation,
    apply_patch,
    parse_patch_request,
)
from concur_scim.scim.registry import ENTERPRISE_USER, ResourceSchema, group_schema, user_schema

USER = user_schema()
GROUP = group_schema()
UID = "2819c223-7f76-453a-919d-413861904646"
WORK = {"value": "bjensen@example.com", "type": "work", "primary": True}
HOME = {"value": "babs@jensen.org", "type": "home"}


def make_user(**overrides: Any) -> dict[str, Any]:
    """A stored user document; keyword overrides replace top-level keys (None drops one)."""
    doc: dict[str, Any] = {
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [dict(WORK), dict(HOME)],
        "active": True,
        ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "mgr-1"}},
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def patch(
    doc: dict[str, Any], *ops: dict[str, Any], resource: ResourceSchema = USER, rid: str = UID
) -> dict[str, Any]:
    """Parse ``ops`` as one PatchOp request and apply it to ``doc``."""
    parsed = parse_patch_request({"schemas": [PATCH_OP_URN], "Operations": list(ops)}, resource)
    return apply_patch(doc, parsed, resource, resource_id=rid)


# --- add -------------------------------------------------------------------------------------


def test_add_pathless_sets_each_key() -> None:
    """A path-less add applies each key of its object value as a path."""
    out = patch(make_user(), {"op": "add", "value": {"nickName": "Babs", "title": "Tour Guide"}})
    assert (out["nickName"], out["title"]) == ("Babs", "Tour Guide")


def test_add_simple_attribute_sets_it() -> None:
    """add on a simple single-valued attribute sets it (RFC 7644 §3.5.2.1)."""
    assert (
        patch(make_user(), {"op": "add", "path": "nickName", "value": "Babs"})["nickName"] == "Babs"
    )


def test_add_simple_attribute_replaces_existing_value() -> None:
    """add on a simple attribute that has a value replaces it (RFC 7644 §3.5.2.1)."""
    out = patch(make_user(), {"op": "add", "path": "userName", "value": "babs"})
    assert out["userName"] == "babs"


def test_add_sub_attribute_sets_it() -> None:
    """add on attr.sub sets the sub-attribute and keeps its siblings."""
    out = patch(make_user(), {"op": "add", "path": "name.middleName", "value": "Jane"})
    assert out["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"}


def test_add_sub_attribute_creates_parent() -> None:
    """add on attr.sub creates the complex parent when it is absent."""
    out = patch(make_user(name=None), {"op": "add", "path": "name.givenName", "value": "B"})
    assert out["name"] == {"givenName": "B"}


def test_add_extension_attribute_creates_extension_object() -> None:
    """add on urn:attr writes under the extension URN key, creating the object."""
    out = patch(
        make_user(**{ENTERPRISE_USER: None}),
        {"op": "add", "path": f"{ENTERPRISE_USER}:department", "value": "Tour Operations"},
    )
    assert out[ENTERPRISE_USER] == {"department": "Tour Operations"}


def test_add_complex_merges_sub_attributes() -> None:
    """add with a complex value merges it; unspecified sub-attributes stay (RFC 7644 §3.5.2.1)."""
    out = patch(make_user(), {"op": "add", "path": "name", "value": {"middleName": "J"}})
    assert out["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}


def test_add_to_list_appends_and_skips_equal_items() -> None:
    """add on a multi-valued attribute appends new items and skips ones already present."""
    other = {"value": "b@x.org", "type": "other"}
    out = patch(make_user(), {"op": "add", "path": "emails", "value": [dict(HOME), other]})
    assert out["emails"] == [WORK, HOME, other]


def test_add_single_item_to_list_is_wrapped() -> None:
    """A single object added to a multi-valued attribute is treated as a one-item list."""
    out = patch(make_user(emails=None), {"op": "add", "path": "emails", "value": dict(HOME)})
    assert out["emails"] == [HOME]


def test_add_filtered_merges_into_matching_element() -> None:
    """add on attr[filter] merges the object into each matching element."""
    out = patch(
        make_user(), {"op": "add", "path": 'emails[type eq "home"]', "value": {"display": "Babs"}}
    )
    assert out["emails"][1] == {**HOME, "display": "Babs"}


def test_add_filtered_sub_creates_missing_element() -> None:
    """add on attr[eq filter].sub with no match creates the element (Entra)."""
    out = patch(
        make_user(),
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0100"},
    )
    assert out["phoneNumbers"] == [{"type": "mobile", "value": "+1 555 0100"}]


def test_add_with_empty_list_is_a_no_op() -> None:
    """add of [] adds nothing, so it never deletes data (RFC 7644 §3.5.2.1)."""
    doc = make_user()
    assert patch(doc, {"op": "add", "path": "emails", "value": []}) == doc


# --- replace ---------------------------------------------------------------------------------


def test_replace_pathless_sets_each_key() -> None:
    """A path-less replace applies each key of its object value as a path (RFC 7644 §3.5.2.3)."""
    out = patch(make_user(), {"op": "replace", "value": {"userName": "babs", "active": False}})
    assert (out["userName"], out["active"]) == ("babs", False)


def test_replace_simple_attribute() -> None:
    """replace on a simple attribute sets the new value."""
    assert (
        patch(make_user(), {"op": "replace", "path": "active", "value": False})["active"] is False
    )


def test_replace_sub_attribute() -> None:
    """replace on attr.sub changes only that sub-attribute."""
    out = patch(make_user(), {"op": "replace", "path": "name.familyName", "value": "Doe"})
    assert out["name"] == {"givenName": "Barbara", "familyName": "Doe"}


def test_replace_extension_attribute() -> None:
    """replace on urn:attr changes the extension attribute, keeping the others."""
    out = patch(
        make_user(), {"op": "replace", "path": f"{ENTERPRISE_USER}:employeeNumber", "value": "9"}
    )
    assert out[ENTERPRISE_USER] == {"employeeNumber": "9", "manager": {"value": "mgr-1"}}


def test_replace_complex_merges_sub_attributes() -> None:
    """replace on a complex attribute leaves unspecified sub-attributes (RFC 7644 §3.5.2.3)."""
    out = patch(make_user(), {"op": "replace", "path": "name", "value": {"givenName": "Babs"}})
    assert out["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_replace_complex_with_empty_sub_value_removes_that_sub() -> None:
    """A sub-attribute given as "" in a replaced complex value is removed."""
    out = patch(make_user(), {"op": "replace", "path": "name", "value": {"givenName": ""}})
    assert out["name"] == {"familyName": "Jensen"}


def test_replace_list_replaces_all_values() -> None:
    """replace on a multi-valued attribute without filter replaces the whole list."""
    new = {"value": "new@example.com", "type": "work"}
    out = patch(make_user(), {"op": "replace", "path": "emails", "value": [new]})
    assert out["emails"] == [new]


def test_replace_filtered_replaces_whole_matching_element() -> None:
    """replace on attr[filter] swaps each matching element for the value."""
    new = {"value": "b@home.org", "type": "home", "display": "B"}
    out = patch(make_user(), {"op": "replace", "path": 'emails[type eq "home"]', "value": new})
    assert out["emails"] == [WORK, new]


def test_replace_filtered_sub_changes_matching_elements_only() -> None:
    """replace on attr[filter].sub changes the sub-attribute of matching elements only."""
    out = patch(
        make_user(), {"op": "replace", "path": 'emails[type eq "work"].value', "value": "n@x.com"}
    )
    assert out["emails"] == [{**WORK, "value": "n@x.com"}, HOME]


def test_replace_filtered_with_and_filter_creates_element() -> None:
    """An `and` of `eq` filters that matches nothing creates an element with those values."""
    out = patch(
        make_user(),
        {
            "op": "replace",
            "path": 'addresses[type eq "work" and country eq "US"].streetAddress',
            "value": "1 Main St",
        },
    )
    assert out["addresses"] == [{"type": "work", "country": "US", "streetAddress": "1 Main St"}]


def test_replace_filtered_without_sub_creates_element_from_filter_and_value() -> None:
    """A whole-element replace whose eq filter matches nothing creates filter + value."""
    out = patch(
        make_user(emails=None),
        {"op": "replace", "path": 'emails[type eq "work"]', "value": {"value": "w@x.com"}},
    )
    assert out["emails"] == [{"type": "work", "value": "w@x.com"}]


@pytest.mark.parametrize(
    "path",
    ['emails[type ne "work"].value', 'emails[value co "nobody"].value', "emails[display pr].value"],
)
def test_unmatched_non_eq_filter_is_no_target(path: str) -> None:
    """A filter that matches nothing and describes no element is noTarget (§3.5.2.3)."""
    doc = make_user(emails=[dict(WORK)])
    with pytest.raises(NoTarget):
        patch(doc, {"op": "replace", "path": path, "value": "x"})


def test_sub_path_without_filter_on_list_sets_every_element() -> None:
    """replace on list.sub without filter writes that sub-attribute on every element."""
    out = patch(make_user(), {"op": "replace", "path": "emails.display", "value": "B"})
    assert [e["display"] for e in out["emails"]] == ["B", "B"]


# --- remove ----------------------------------------------------------------------------------


def test_remove_simple_attribute() -> None:
    """remove on an attribute deletes the key (RFC 7644 §3.5.2.2)."""
    assert "active" not in patch(make_user(), {"op": "remove", "path": "active"})


def test_remove_sub_attribute_keeps_siblings() -> None:
    """remove on attr.sub deletes only that sub-attribute."""
    out = patch(make_user(), {"op": "remove", "path": "name.givenName"})
    assert out["name"] == {"familyName": "Jensen"}


def test_remove_last_sub_attribute_drops_parent() -> None:
    """A complex attribute left empty by a remove is dropped, never stored as {}."""
    out = patch(make_user(name={"givenName": "B"}), {"op": "remove", "path": "name.givenName"})
    assert "name" not in out


def test_remove_extension_attribute() -> None:
    """remove on urn:attr deletes the extension attribute."""
    out = patch(make_user(), {"op": "remove", "path": f"{ENTERPRISE_USER}:employeeNumber"})
    assert out[ENTERPRISE_USER] == {"manager": {"value": "mgr-1"}}


def test_remove_last_extension_attribute_drops_extension_object() -> None:
    """An extension object left empty is dropped from the document."""
    out = patch(
        make_user(**{ENTERPRISE_USER: {"employeeNumber": "1"}}),
        {"op": "remove", "path": f"{ENTERPRISE_USER}:employeeNumber"},
    )
    assert ENTERPRISE_USER not in out


def test_remove_filtered_deletes_matching_elements() -> None:
    """remove on attr[filter] deletes the matching elements only."""
    out = patch(make_user(), {"op": "remove", "path": 'emails[type eq "home"]'})
    assert out["emails"] == [WORK]


def test_remove_filtered_sub_deletes_sub_of_matching_elements() -> None:
    """remove on attr[filter].sub deletes that sub-attribute from matching elements."""
    out = patch(make_user(), {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert out["emails"] == [{"value": WORK["value"], "type": "work"}, HOME]


def test_remove_last_element_drops_the_list() -> None:
    """A list left empty by a remove is dropped, never stored as []."""
    out = patch(make_user(emails=[dict(HOME)]), {"op": "remove", "path": 'emails[type eq "home"]'})
    assert "emails" not in out


def test_remove_whole_list() -> None:
    """remove on a multi-valued attribute without value or filter deletes all values."""
    assert "emails" not in patch(make_user(), {"op": "remove", "path": "emails"})


def test_remove_with_value_list_removes_only_those_elements() -> None:
    """remove with a value list deletes the elements whose value is listed (Entra)."""
    out = patch(
        make_user(),
        {"op": "Remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]},
    )
    assert out["emails"] == [WORK]  # emails.value is caseExact false


def test_remove_with_value_respects_case_exact() -> None:
    """For a caseExact value sub-attribute (members.value) a case variant removes nothing."""
    doc = {"displayName": "g", "members": [{"value": "Abc"}]}
    out = patch(
        doc, {"op": "remove", "path": "members", "value": [{"value": "abc"}]}, resource=GROUP
    )
    assert out == doc


@pytest.mark.parametrize(
    "path",
    [
        "nickName",
        "name.middleName",
        'emails[type eq "other"]',
        "phoneNumbers",
        f"{ENTERPRISE_USER}:department",
    ],
)
def test_remove_of_absent_target_is_a_no_op(path: str) -> None:
    """remove of something absent succeeds unchanged, so IdP retries stay idempotent."""
    doc = make_user()
    assert patch(doc, {"op": "remove", "path": path}) == doc


# --- clearing, canonical keys ----------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_replace_with_empty_value_clears_target(empty: Any) -> None:
    """replace with null, "", [] or {} removes the target (Entra's null-update test)."""
    out = patch(make_user(nickName="Babs"), {"op": "replace", "path": "nickName", "value": empty})
    assert "nickName" not in out


@pytest.mark.parametrize("empty", [None, ""])
def test_add_with_null_or_empty_string_clears_target(empty: Any) -> None:
    """add with null or "" removes the target, like replace."""
    out = patch(make_user(), {"op": "Add", "path": "name.givenName", "value": empty})
    assert out["name"] == {"familyName": "Jensen"}


def test_replace_filtered_sub_with_empty_value_removes_sub() -> None:
    """Clearing a filtered sub-attribute deletes it, drops an element left vacant, adds nothing."""
    out = patch(make_user(), {"op": "replace", "path": 'emails[type eq "home"].value', "value": ""})
    assert out["emails"] == [WORK]
    keep = dict(HOME, display="Babs")
    out = patch(
        make_user(emails=[WORK, keep]), {"op": "remove", "path": 'emails[type eq "home"].type'}
    )
    assert out["emails"] == [WORK, {"value": "babs@jensen.org", "display": "Babs"}]
    out = patch(make_user(), {"op": "replace", "path": 'ims[type eq "x"].value', "value": None})
    assert "ims" not in out


def test_pathless_key_with_null_clears_attribute() -> None:
    """A path-less value key set to null clears that attribute."""
    out = patch(make_user(title="Boss"), {"op": "replace", "value": {"title": None}})
    assert "title" not in out


def test_client_keys_are_written_under_canonical_names() -> None:
    """Sub-attribute keys in any case are stored under the schema's names; unknown ones dropped."""
    out = patch(
        make_user(name=None),
        {"op": "add", "path": "name", "value": {"GivenName": "B", "FAMILYNAME": "J", "x": 1}},
    )
    assert out["name"] == {"givenName": "B", "familyName": "J"}


def test_values_are_written_as_given() -> None:
    """Type coercion is left to the validator: "False" is stored as sent."""
    assert patch(make_user(), {"op": "replace", "path": "active", "value": "False"})["active"] == (
        "False"
    )


def test_non_object_item_for_complex_list_is_invalid_value() -> None:
    """An item of a complex multi-valued attribute must be an object."""
    with pytest.raises(InvalidValue):
        patch(make_user(), {"op": "add", "path": "emails", "value": "a@b.c"})


def test_list_for_single_complex_attribute_is_invalid_value() -> None:
    """A single-valued complex attribute takes one object, not a longer list."""
    with pytest.raises(InvalidValue):
        patch(make_user(), {"op": "add", "path": "name", "value": [{"givenName": "a"}, {}]})


# --- primary ---------------------------------------------------------------------------------


def test_added_primary_demotes_the_old_primary() -> None:
    """Adding a primary element sets primary false on the others (RFC 7643 §2.4)."""
    new = {"value": "n@x.com", "type": "other", "primary": True}
    out = patch(make_user(), {"op": "add", "path": "emails", "value": [new]})
    assert [e.get("primary") for e in out["emails"]] == [False, None, True]


def test_string_true_primary_demotes_the_old_primary() -> None:
    """A primary sent as the string "True" counts as primary."""
    out = patch(
        make_user(),
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"},
    )
    assert [e.get("primary") for e in out["emails"]] == [False, "True"]


def test_two_primaries_in_one_replace_keep_the_first() -> None:
    """When one request marks two elements primary, the first keeps it."""
    a = {"value": "a@x.com", "primary": True}
    b = {"value": "b@x.com", "primary": True}
    out = patch(make_user(), {"op": "replace", "path": "emails", "value": [a, b]})
    assert [e["primary"] for e in out["emails"]] == [True, False]


def test_non_primary_add_leaves_primary_alone() -> None:
    """Adding a non-primary element does not touch the existing primary."""
    out = patch(make_user(emails=[dict(WORK)]), {"op": "add", "path": "emails", "value": [HOME]})
    assert out["emails"] == [WORK, HOME]


# --- mutability ------------------------------------------------------------------------------


def test_same_id_in_pathless_replace_is_ignored() -> None:
    """An "id" equal to the resource id is accepted and ignored (Okta)."""
    out = patch(make_user(), {"op": "replace", "value": {"id": UID, "nickName": "B"}})
    assert out["nickName"] == "B"
    assert "id" not in out


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "value": {"id": "other"}},
        {"op": "replace", "path": "id", "value": "other"},
        {"op": "remove", "path": "id"},
    ],
)
def test_changing_id_is_mutability(op: dict[str, Any]) -> None:
    """id is readOnly (RFC 7643 §3.1): a different value or a removal is refused."""
    with pytest.raises(Mutability, match="id"):
        patch(make_user(), op)


@pytest.mark.parametrize(
    "op",
    [
        {"op": "add", "path": "meta.version", "value": 'W/"1"'},
        {"op": "add", "path": "groups", "value": [{"value": "g1"}]},
        {"op": "replace", "path": f"{ENTERPRISE_USER}:manager.displayName", "value": "Boss"},
    ],
)
def test_writing_read_only_attribute_is_mutability(op: dict[str, Any]) -> None:
    """An explicit path to a readOnly attribute or sub-attribute is refused."""
    with pytest.raises(Mutability, match="readOnly"):
        patch(make_user(), op)


def test_pathless_meta_and_schemas_are_ignored() -> None:
    """meta, schemas and other readOnly keys in a path-less value are ignored."""
    doc = make_user()
    value = {"schemas": ["x"], "meta": {"version": "1"}, "groups": [{"value": "g"}]}
    assert patch(doc, {"op": "replace", "value": value}) == doc


def test_password_is_ignored() -> None:
    """password (writeOnly) is accepted and never stored."""
    doc = make_user()
    assert patch(doc, {"op": "replace", "path": "password", "value": "s3cret"}) == doc
    assert patch(doc, {"op": "replace", "value": {"password": "s3cret"}}) == doc


def test_changing_immutable_member_value_is_mutability() -> None:
    """members.value is immutable: an existing member cannot be re-pointed."""
    doc = {"displayName": "g", "members": [{"value": "u1"}]}
    with pytest.raises(Mutability, match="immutable"):
        patch(
            doc,
            {"op": "replace", "path": 'members[value eq "u1"].value', "value": "u2"},
            resource=GROUP,
        )
    with pytest.raises(Mutability, match="immutable"):
        patch(
            doc,
            {"op": "replace", "path": 'members[value eq "u1"]', "value": {"value": "u2"}},
            resource=GROUP,
        )


def test_unknown_pathless_keys_are_ignored() -> None:
    """Vendor attributes in a path-less value are ignored silently (RFC 7644 §3.3)."""
    doc = make_user()
    value = {"urn:example:custom:2.0:User:color": "red", "shoeSize": 9, "name.nickname": "x"}
    assert patch(doc, {"op": "add", "value": value}) == doc


# --- atomicity -------------------------------------------------------------------------------


def test_failing_second_operation_changes_nothing() -> None:
    """If any operation fails, none is applied and the input is untouched (RFC 7644 §3.5.2)."""
    doc = make_user()
    before = copy.deepcopy(doc)
    with pytest.raises(NoTarget):
        patch(
            doc,
            {"op": "replace", "path": "nickName", "value": "B"},
            {"op": "replace", "path": 'emails[value co "nobody"].display', "value": "x"},
        )
    assert doc == before


def test_success_does_not_mutate_input() -> None:
    """apply_patch returns a new document and leaves its input as it was."""
    doc = make_user()
    before = copy.deepcopy(doc)
    out = patch(
        doc,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "n@x.com"},
        {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"},
    )
    assert doc == before
    assert out is not doc


def test_returned_document_does_not_alias_operation_values() -> None:
    """Values written into the result are copies of the operation's values."""
    value = [{"value": "x@y.z"}]
    ops = parse_patch_request(
        {"Operations": [{"op": "replace", "path": "emails", "value": value}]}, USER
    )
    out = apply_patch({}, ops, USER, resource_id=UID)
    value[0]["value"] = "changed"
    assert out["emails"] == [{"value": "x@y.z"}]


def test_pathless_remove_operation_is_no_target() -> None:
    """A hand-built path-less remove is refused at apply time too."""
    with pytest.raises(NoTarget):
        apply_patch({}, [PatchOperation("remove", None, None)], USER, resource_id=UID)


def test_filter_on_simple_attribute_is_invalid_path() -> None:
    """A value filter needs a complex attribute."""
    with pytest.raises(InvalidPath):
        patch(make_user(), {"op": "replace", "path": 'userName[value eq "x"]', "value": "y"})


def test_mistyped_filter_is_invalid_path_even_without_values() -> None:
    """A filter comparing a boolean with "yes" is invalidPath, not an element to create."""
    with pytest.raises(InvalidPath, match="filter"):
        patch(
            make_user(emails=None),
            {"op": "add", "path": 'emails[primary eq "yes"].value', "value": "a@b.c"},
        )


def test_unprefixed_extension_attribute_path_resolves() -> None:
    """A bare extension attribute name (absent from the core schema) finds its extension."""
    out = patch(make_user(), {"op": "replace", "path": "employeeNumber", "value": "42"})
    assert out[ENTERPRISE_USER]["employeeNumber"] == "42"


def test_remove_sub_on_list_without_filter_removes_it_everywhere() -> None:
    """remove on list.sub without filter deletes that sub-attribute from every element."""
    out = patch(make_user(), {"op": "remove", "path": "emails.type"})
    assert out["emails"] == [
        {"value": WORK["value"], "primary": True},
        {"value": HOME["value"]},
    ]


def test_remove_members_by_bare_ids() -> None:
    """A remove value may list bare ids instead of {"value": id} objects."""
    doc = {"displayName": "g", "members": [{"value": "a"}, {"value": "b"}]}
    out = patch(doc, {"op": "remove", "path": "members", "value": ["a"]}, resource=GROUP)
    assert out["members"] == [{"value": "b"}]


def test_new_member_may_set_immutable_value() -> None:
    """Immutable sub-attributes may be set on a new element (RFC 7643 §2.2)."""
    out = patch(
        {"displayName": "g"},
        {"op": "add", "path": 'members[value eq "u1"].type', "value": "User"},
        resource=GROUP,
    )
    assert out["members"] == [{"value": "u1", "type": "User"}]


def test_member_display_path_is_mutability() -> None:
    """members.display is readOnly (computed by the server), so a path to it is refused."""
    doc = {"displayName": "g", "members": [{"value": "u1"}]}
    with pytest.raises(Mutability, match="readOnly"):
        patch(
            doc,
            {"op": "replace", "path": 'members[value eq "u1"].display', "value": "x"},
            resource=GROUP,
        )
