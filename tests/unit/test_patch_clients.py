"""PATCH requests exactly as Entra ID, Okta and the Microsoft validators send them.

Bodies are copied from /work/shared/reference/idp-clients.md (section noted per test); ids
elided there with "…" are filled in with made-up values of the same shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from concur_scim.scim.errors import InvalidValue, Mutability
from concur_scim.scim.patch import apply_patch, parse_patch_request
from concur_scim.scim.registry import ENTERPRISE_USER, ResourceSchema, group_schema, user_schema

USER = user_schema()
GROUP = group_schema()
UID = "6764549bef60420686bc"
GID = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b"
MANAGER = "2c2f6fb8-254f-492e-b7fe-c09c5a61c8a2"
MANAGER_PATH = f"{ENTERPRISE_USER}:manager"


def entra_user(**overrides: Any) -> dict[str, Any]:
    """The stored form of Entra's documented POST /Users (idp-clients.md §1.3b)."""
    doc: dict[str, Any] = {
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb@testuser.com"}],
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def run(
    doc: dict[str, Any], body: dict[str, Any], resource: ResourceSchema = USER, rid: str = UID
) -> dict[str, Any]:
    """Parse and apply one PATCH body."""
    return apply_patch(doc, parse_patch_request(body, resource), resource, resource_id=rid)


# --- Entra, default dialect (§1.3d-f) --------------------------------------------------------


def test_entra_replace_work_email_and_family_name() -> None:
    """§1.3d: a filtered email replace and a sub-attribute replace in one request."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ],
    }
    out = run(entra_user(), body)
    assert out["emails"] == [
        {"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}
    ]
    assert out["name"]["familyName"] == "updatedFamilyName"


def test_entra_work_email_is_created_when_missing() -> None:
    """§1.3d: Entra's filtered replace on a user without a work email creates it."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            }
        ],
    }
    out = run(entra_user(emails=None), body)
    assert out["emails"] == [{"type": "work", "value": "updatedEmail@microsoft.com"}]


def test_entra_replace_user_name() -> None:
    """§1.3d: a plain userName replace."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "userName",
                "value": "5b50642d-79fc-4410-9e90-4c077cc72713@testuser.com",
            }
        ],
    }
    assert run(entra_user(), body)["userName"] == (
        "5b50642d-79fc-4410-9e90-4c077cc72713@testuser.com"
    )


def test_entra_add_nick_name() -> None:
    """§1.3d: Add of an attribute that had no value."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "nickName", "value": "Babs"}],
    }
    assert run(entra_user(), body)["nickName"] == "Babs"


def test_entra_replace_employee_number() -> None:
    """§1.3d: an extension attribute addressed by its full URN path."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "value": "Eqpj",
            }
        ],
    }
    assert run(entra_user(), body)[ENTERPRISE_USER] == {"employeeNumber": "Eqpj"}


@pytest.mark.parametrize("value", [False, "False"])
def test_entra_disable_user(value: Any) -> None:
    """§1.3e: disable as documented (false) and as sent ("False"), stored as given."""
    body = {
        "Operations": [{"op": "Replace", "path": "active", "value": value}],
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    }
    assert run(entra_user(), body)["active"] == value


def test_entra_null_update_clears_optional_attributes() -> None:
    """§1.8 SCIM_Null_Update: optional attributes PATCHed to "" and then null end up absent."""
    doc = entra_user(nickName="Babs", title="Boss", **{ENTERPRISE_USER: {"department": "R"}})
    for empty in ("", None):
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "nickName", "value": empty},
                {"op": "Replace", "path": "title", "value": empty},
                {"op": "Replace", "path": f"{ENTERPRISE_USER}:department", "value": empty},
            ],
        }
        out = run(doc, body)
        assert "nickName" not in out
        assert "title" not in out
        assert ENTERPRISE_USER not in out


# --- Entra, aadOptscim062020 (§1.6) and the validator (§1.8) ---------------------------------


def test_flag_dialect_pathless_replace_with_dotted_and_urn_keys() -> None:
    """§1.6: filtered email replace plus one path-less replace with dotted and URN keys."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "kkom@contoso.com"},
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": (
                        "Aklq"
                    ),
                },
            },
        ],
    }
    out = run(entra_user(), body)
    assert out["displayName"] == "Bjfe"
    assert out["name"] == {
        "formatted": "givenName familyName",
        "familyName": "Unua",
        "givenName": "Kkom",
    }
    assert out[ENTERPRISE_USER] == {"employeeNumber": "Aklq"}
    assert out["emails"][0]["value"] == "kkom@contoso.com"


def test_flag_dialect_pathless_add() -> None:
    """§1.6: the same path-less shape also arrives with op add (scimitar #123)."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "value": {"name.givenName": "Kkom", "nickName": "K"}}],
    }
    out = run(entra_user(), body)
    assert (out["name"]["givenName"], out["nickName"]) == ("Kkom", "K")


def test_flag_dialect_disable_and_add() -> None:
    """§1.6: lower-case ops with a JSON boolean."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "active", "value": False},
            {"op": "add", "path": "nickName", "value": "Babs"},
        ],
    }
    out = run(entra_user(), body)
    assert (out["active"], out["nickName"]) == (False, "Babs")


def test_validator_pathless_replace_of_core_attributes() -> None:
    """§1.8: the hosted validator's path-less replace of userName, name parts and active."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "value": {
                    "userName": "new@contoso.com",
                    "name.familyName": "F",
                    "name.givenName": "G",
                    "active": False,
                },
            }
        ],
    }
    out = run(entra_user(), body)
    assert (out["userName"], out["active"]) == ("new@contoso.com", False)
    assert (out["name"]["givenName"], out["name"]["familyName"]) == ("G", "F")


def test_pathless_extension_object_is_merged() -> None:
    """§1.3b shape in a PATCH: an extension URN key whose value is an object is merged."""
    doc = entra_user(**{ENTERPRISE_USER: {"employeeNumber": "1", "department": "A"}})
    body = {"Operations": [{"op": "replace", "value": {ENTERPRISE_USER: {"Department": "B"}}}]}
    assert run(doc, body)[ENTERPRISE_USER] == {"employeeNumber": "1", "department": "B"}


def test_pathless_extension_null_clears_extension() -> None:
    """An extension URN key set to null clears the whole extension object."""
    doc = entra_user(**{ENTERPRISE_USER: {"employeeNumber": "1"}})
    body = {"Operations": [{"op": "replace", "value": {ENTERPRISE_USER: None}}]}
    assert ENTERPRISE_USER not in run(doc, body)


# --- manager (§1.3f) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "stored"),
    [
        (MANAGER_PATH, MANAGER, {"value": MANAGER}),
        (MANAGER_PATH, {"value": MANAGER}, {"value": MANAGER}),
        (
            "manager",
            [{"$ref": f"http://example.com/Users/{MANAGER}", "value": MANAGER}],
            {"$ref": f"http://example.com/Users/{MANAGER}", "value": MANAGER},
        ),
        (f"{ENTERPRISE_USER}.manager", MANAGER, {"value": MANAGER}),
        (MANAGER_PATH, {"Value": MANAGER, "displayName": "Boss"}, {"value": MANAGER}),
    ],
)
def test_manager_set_in_every_shape(path: str, value: Any, stored: dict[str, Any]) -> None:
    """§1.3f: bare id, object, one-element list, legacy dot path; readOnly displayName dropped."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": path, "value": value}],
    }
    assert run(entra_user(), body)[ENTERPRISE_USER] == {"manager": stored}


def test_manager_change_drops_stale_ref() -> None:
    """Replacing the manager id replaces the whole object, so the old $ref does not linger."""
    doc = entra_user(**{ENTERPRISE_USER: {"manager": {"value": "old", "$ref": "../Users/old"}}})
    body = {"Operations": [{"op": "Replace", "path": MANAGER_PATH, "value": MANAGER}]}
    assert run(doc, body)[ENTERPRISE_USER] == {"manager": {"value": MANAGER}}


def test_manager_same_id_keeps_ref() -> None:
    """Re-sending the same manager id merges, keeping its $ref."""
    manager = {"value": MANAGER, "$ref": f"../Users/{MANAGER}"}
    doc = entra_user(**{ENTERPRISE_USER: {"manager": dict(manager)}})
    body = {"Operations": [{"op": "Replace", "path": MANAGER_PATH, "value": MANAGER}]}
    assert run(doc, body)[ENTERPRISE_USER] == {"manager": manager}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Remove", "path": MANAGER_PATH},
        {"op": "Remove", "path": MANAGER_PATH, "value": [{"value": MANAGER}]},
        {"op": "Remove", "path": "manager", "value": MANAGER},
        {"op": "remove", "path": f'manager[value eq "{MANAGER}"]'},
        {"op": "remove", "path": f'{MANAGER_PATH}[value eq "{MANAGER}"]'},
        {"op": "Replace", "path": MANAGER_PATH, "value": ""},
        {"op": "Replace", "path": MANAGER_PATH, "value": None},
    ],
)
def test_manager_removal_forms(operation: dict[str, Any]) -> None:
    """§1.3f: every observed removal form leaves no manager (and no empty extension)."""
    doc = entra_user(**{ENTERPRISE_USER: {"manager": {"value": MANAGER}}})
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [operation],
    }
    assert ENTERPRISE_USER not in run(doc, body)


def test_manager_removal_filter_for_another_id_is_a_no_op() -> None:
    """A manager[value eq "x"] remove that names someone else leaves the manager alone."""
    doc = entra_user(**{ENTERPRISE_USER: {"manager": {"value": MANAGER}}})
    body = {"Operations": [{"op": "remove", "path": 'manager[value eq "someone-else"]'}]}
    assert run(doc, body) == doc


def test_manager_list_of_two_is_rejected() -> None:
    """The manager is single-valued: a list of two objects is not a manager."""
    body = {"Operations": [{"op": "Add", "path": MANAGER_PATH, "value": [{"value": "a"}, {}]}]}
    with pytest.raises(InvalidValue, match="one object"):
        run(entra_user(), body)


# --- groups: Entra (§1.4, §1.6) and Okta (§2.3) ----------------------------------------------


def test_entra_group_rename() -> None:
    """§1.4: Replace displayName on a group."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "1880bbd1updatedDisplayName"}
        ],
    }
    out = run({"displayName": "displayName"}, body, GROUP, "fa2ce26709934589afc5")
    assert out == {"displayName": "1880bbd1updatedDisplayName"}


def test_entra_group_member_add_then_remove_by_value() -> None:
    """§1.4: Add members with "$ref": null, then Remove with a value list removes only it."""
    add = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}],
            }
        ],
    }
    remove = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Remove",
                "path": "members",
                "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}],
            }
        ],
    }
    doc = {"displayName": "g", "members": [{"value": "keep"}]}
    added = run(doc, add, GROUP, "a99962b9f99d4c4fac67")
    assert added["members"] == [{"value": "keep"}, {"value": "f648f8d5ea4e4cd38e9c"}]
    assert run(added, remove, GROUP, "a99962b9f99d4c4fac67") == doc


def test_flag_dialect_group_member_remove_by_filter() -> None:
    """§1.6: with the flag, a member is removed through a members[value eq] path."""
    member = "7f4bc1a3-32b5-4c3e-9d1a-0ad9f4c2f0b1"
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": f'members[value eq "{member}"]'}],
    }
    doc = {"displayName": "g", "members": [{"value": member}]}
    assert run(doc, body, GROUP, GID) == {"displayName": "g"}


def test_okta_group_replace_with_same_id() -> None:
    """§2.3: Okta's path-less replace carrying the group's own id succeeds."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": GID, "displayName": "Test SCIMv2"}}],
    }
    assert run({"displayName": "Old"}, body, GROUP, GID) == {"displayName": "Test SCIMv2"}


def test_okta_group_replace_with_other_id_is_mutability() -> None:
    """§2.3: an id that is not the group's own is a readOnly violation."""
    body = {"Operations": [{"op": "replace", "value": {"id": "other", "displayName": "x"}}]}
    with pytest.raises(Mutability):
        run({"displayName": "Old"}, body, GROUP, GID)


def test_okta_group_membership_update() -> None:
    """§2.3: remove one member by filter and add another; the sent display is dropped."""
    old, new = "89bb1940-b905-4575-9e7f-6f887cfb368e", "23a35c27-23d3-4c03-b4c5-6443c09e7173"
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "remove", "path": f'members[value eq "{old}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": new, "display": "test.user@okta.local"}],
            },
        ],
    }
    out = run({"displayName": "Test SCIMv2", "members": [{"value": old}]}, body, GROUP, GID)
    assert out["members"] == [{"value": new}]  # display is readOnly: the server computes it


def test_okta_group_full_member_push() -> None:
    """§2.3: replace members with the full list."""
    body = {
        "Operations": [
            {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}
        ]
    }
    out = run({"displayName": "g", "members": [{"value": "z"}]}, body, GROUP, GID)
    assert out["members"] == [{"value": "a"}, {"value": "b"}]


# --- Okta users (§2.2) -----------------------------------------------------------------------


@pytest.mark.parametrize("active", [False, True])
def test_okta_deactivate_and_reactivate(active: bool) -> None:
    """§2.2: Okta's path-less replace of active."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": active}}],
    }
    assert run(entra_user(active=not active), body)["active"] is active
