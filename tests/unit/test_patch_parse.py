"""Parsing PatchOp request bodies (RFC 7644 §3.5.2) with real clients' tolerances."""

from __future__ import annotations

from typing import Any

import pytest

from concur_scim.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, NoTarget
from concur_scim.scim.patch import MAX_OPERATIONS, PATCH_OP_URN, parse_patch_request
from concur_scim.scim.registry import ENTERPRISE_USER, user_schema

USER = user_schema()


def body(*operations: Any) -> dict[str, Any]:
    """A PatchOp body as every client sends it."""
    return {"schemas": [PATCH_OP_URN], "Operations": list(operations)}


def test_capitalised_op_is_lower_cased() -> None:
    """Entra's "Replace" parses as replace (idp-clients.md §0)."""
    (op,) = parse_patch_request(body({"op": "Replace", "path": "active", "value": "False"}), USER)
    assert op.op == "replace"
    assert op.path is not None
    assert op.path.attr.name == "active"
    assert op.value == "False"


def test_operations_key_in_any_case() -> None:
    """A lower-case "operations" key is accepted like "Operations"."""
    ops = parse_patch_request(
        {"operations": [{"op": "add", "path": "nickName", "value": "B"}]}, USER
    )
    assert [o.op for o in ops] == ["add"]


def test_operation_member_names_in_any_case() -> None:
    """The "Op", "Path" and "Value" keys are read case-insensitively."""
    (op,) = parse_patch_request(body({"Op": "add", "Path": "nickName", "Value": "B"}), USER)
    assert (op.op, op.value) == ("add", "B")


def test_missing_schemas_is_tolerated() -> None:
    """A body without "schemas" still parses."""
    ops = parse_patch_request({"Operations": [{"op": "remove", "path": "nickName"}]}, USER)
    assert ops[0].op == "remove"


def test_schemas_without_patchop_urn_is_invalid_syntax() -> None:
    """A "schemas" that names another message type is refused."""
    with pytest.raises(InvalidSyntax, match="PatchOp"):
        parse_patch_request(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "Operations": [{"op": "remove", "path": "nickName"}],
            },
            USER,
        )


@pytest.mark.parametrize("bad", [None, [], "x", 3])
def test_body_not_an_object_is_invalid_syntax(bad: Any) -> None:
    """A body that is not a JSON object is invalidSyntax."""
    with pytest.raises(InvalidSyntax):
        parse_patch_request(bad, USER)


@pytest.mark.parametrize("operations", [None, [], {"op": "add"}, "add"])
def test_operations_must_be_a_non_empty_list(operations: Any) -> None:
    """Missing, empty or non-array "Operations" is invalidSyntax."""
    with pytest.raises(InvalidSyntax, match="Operations"):
        parse_patch_request({"schemas": [PATCH_OP_URN], "Operations": operations}, USER)


def test_operation_not_an_object_is_invalid_syntax() -> None:
    """Each operation must be an object; the detail names its index."""
    with pytest.raises(InvalidSyntax, match=r"Operations\[1\]"):
        parse_patch_request(body({"op": "remove", "path": "nickName"}, ["remove"]), USER)


@pytest.mark.parametrize("op", ["delete", "move", "", None, 1])
def test_unknown_op_is_invalid_syntax(op: Any) -> None:
    """Only add, replace and remove exist (RFC 7644 §3.5.2)."""
    with pytest.raises(InvalidSyntax, match="'op'"):
        parse_patch_request(body({"op": op, "path": "nickName", "value": "x"}), USER)


@pytest.mark.parametrize("op", ["add", "Replace"])
def test_add_or_replace_without_value_is_invalid_value(op: str) -> None:
    """add and replace need a "value" member (RFC 7644 §3.5.2.1, §3.5.2.3)."""
    with pytest.raises(InvalidValue, match="needs a 'value'"):
        parse_patch_request(body({"op": op, "path": "nickName"}), USER)


def test_replace_with_null_value_parses() -> None:
    """An explicit null value is a clear request, not a missing value."""
    (op,) = parse_patch_request(body({"op": "replace", "path": "nickName", "value": None}), USER)
    assert op.value is None


def test_remove_without_path_is_no_target() -> None:
    """remove without a path is noTarget (RFC 7644 §3.5.2.2)."""
    with pytest.raises(NoTarget):
        parse_patch_request(body({"op": "remove"}), USER)


@pytest.mark.parametrize("path", ["nosuchAttribute", "name.nosuch", "emails[", 7])
def test_bad_path_is_invalid_path(path: Any) -> None:
    """An unknown, malformed or non-string path is invalidPath."""
    with pytest.raises(InvalidPath):
        parse_patch_request(body({"op": "add", "path": path, "value": "x"}), USER)


@pytest.mark.parametrize("value", ["x", None, ["a"], 1])
def test_pathless_value_must_be_an_object(value: Any) -> None:
    """A path-less add/replace needs an object value (RFC 7644 §3.5.2.1)."""
    with pytest.raises(InvalidValue, match="object"):
        parse_patch_request(body({"op": "replace", "value": value}), USER)


def test_too_many_operations_is_invalid_value() -> None:
    """More than MAX_OPERATIONS operations are refused before any is parsed."""
    ops = [{"op": "add", "path": "nickName", "value": "x"}] * (MAX_OPERATIONS + 1)
    with pytest.raises(InvalidValue, match=str(MAX_OPERATIONS)):
        parse_patch_request(body(*ops), USER)


def test_extension_urn_path_becomes_pathless() -> None:
    """A path naming the enterprise schema becomes a path-less op keyed by the URN."""
    (op,) = parse_patch_request(
        body({"op": "replace", "path": ENTERPRISE_USER, "value": {"department": "R&D"}}), USER
    )
    assert op.path is None
    assert op.value == {ENTERPRISE_USER: {"department": "R&D"}}


def test_remove_of_extension_urn_path_clears_it() -> None:
    """Removing the enterprise schema path is a path-less clear of that extension."""
    (op,) = parse_patch_request(body({"op": "remove", "path": ENTERPRISE_USER}), USER)
    assert (op.op, op.path, op.value) == ("replace", None, {ENTERPRISE_USER: None})


def test_remove_of_core_urn_path_is_invalid_path() -> None:
    """The core schema as a whole cannot be removed."""
    with pytest.raises(InvalidPath):
        parse_patch_request(body({"op": "remove", "path": USER.core.urn}), USER)


def test_extension_urn_path_with_scalar_value_is_invalid_value() -> None:
    """A schema path takes an object of that schema's attributes."""
    with pytest.raises(InvalidValue):
        parse_patch_request(body({"op": "add", "path": ENTERPRISE_USER, "value": "x"}), USER)


def test_filtered_path_is_resolved() -> None:
    """Entra's filtered path resolves to the attribute, its filter and the sub-attribute."""
    (op,) = parse_patch_request(
        body({"op": "Replace", "path": 'emails[type eq "work"].value', "value": "a@b.c"}), USER
    )
    assert op.path is not None
    assert op.path.attr.name == "emails"
    assert op.path.value_filter is not None
    assert op.path.sub is not None
    assert op.path.sub.name == "value"
