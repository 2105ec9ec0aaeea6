"""Property-based tests of the PATCH engine (RFC 7644 §3.5.2) on hostile PatchOp bodies.

The contract pinned here is the engine's (scim/patch.py): parsing a body and applying it to a
valid stored document either returns a new document or raises a :class:`ScimError`, never any
other exception, and the stored document is never mutated. Generation is derandomised, so CI
runs the same cases every time.

Budget: 200 PatchOp bodies against a User, 100 against a Group, 100 arbitrary JSON bodies:
400 cases in all.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from concur_scim.scim.errors import ScimError
from concur_scim.scim.patch import PATCH_OP_URN, apply_patch, parse_patch_request
from concur_scim.scim.registry import ENTERPRISE_USER, ResourceSchema, group_schema, user_schema

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
UID = "2819c223-7f76-453a-919d-413861904646"
USER_DOC: dict[str, Any] = {
    "userName": "bjensen@example.com",
    "externalId": "bjensen",
    "displayName": "Babs Jensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
    "addresses": [{"type": "work", "locality": "Bellevue", "country": "US"}],
    "active": True,
    ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "mgr-1"}},
}
GROUP_DOC: dict[str, Any] = {
    "displayName": "Tour Guides",
    "members": [{"value": UID, "type": "User"}],
}


def _paths(resource: ResourceSchema) -> list[str]:
    """Every attribute path the schema names, with the filtered forms PATCH takes."""
    out: list[str] = []
    for schema in (resource.core, *resource.extensions):
        out.append(schema.urn)
        for attr in schema.attributes:
            names = [attr.name, *(f"{attr.name}.{s.name}" for s in attr.sub_attributes)]
            if attr.multi_valued and attr.sub_attributes:
                first = attr.sub_attributes[0].name
                names.append(f'{attr.name}[{first} eq "bjensen@example.com"]')
                names.append(f'{attr.name}[type eq "work"].{first}')
                names.append(f"{attr.name}[{first} pr]")
            out.extend(names)
            out.extend(f"{schema.urn}:{n}" for n in names)
    return out


odd_text = st.text(
    st.one_of(
        st.characters(), st.characters(categories=["Cs", "Cc"]), st.sampled_from('[]."\x00 ')
    ),
    max_size=30,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.floats(),  # NaN and infinities included: JSON's parser lets them through
    odd_text,
    st.sampled_from(["", "bjensen@example.com", UID, "2011-05-13T04:42:34Z", "work", "true"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(odd_text, st.sampled_from(["value", "type", "primary"])), children, max_size=4
        ),
    ),
    max_leaves=6,
)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five, else ``bad``: most bodies get past the first check."""
    return st.sampled_from([good, good, good, good, bad]).flatmap(lambda s: s)


# Mostly real operations, so that most bodies reach the engine; garbage now and then.
VALID_OPS = ["add", "replace", "remove", "Add", "Replace", "REMOVE", " add "]
op_names = _mostly(
    st.sampled_from(VALID_OPS), st.one_of(st.sampled_from(["move", ""]), json_values)
)


def _operation(paths: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    path = _mostly(st.sampled_from(paths), st.one_of(odd_text, json_values))
    return st.fixed_dictionaries(
        {"op": op_names},
        optional={
            "path": path,
            "value": st.one_of(
                json_values,
                st.dictionaries(st.sampled_from(paths), json_values, max_size=4),
            ),
            "extra": json_values,
        },
    )


def _bodies(paths: list[str]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"Operations": st.lists(_operation(paths), min_size=1, max_size=3)},
        optional={
            "schemas": _mostly(st.just([PATCH_OP_URN]), json_values),
        },
    )


def _check(body: Any, resource: ResourceSchema, document: dict[str, Any]) -> None:
    """Parse and apply ``body``: a new document or a ScimError, ``document`` untouched."""
    before = copy.deepcopy(document)
    refused: ScimError | None = None
    try:
        operations = parse_patch_request(body, resource)
        result = apply_patch(document, operations, resource, resource_id=UID)
    except ScimError as exc:
        refused = exc
    assert document == before, "the stored document was mutated"
    if refused is not None:
        assert 400 <= refused.status < 500, refused
        assert refused.detail
        event(f"ScimError {refused.scim_type}")
        return
    assert isinstance(result, dict)
    assert result is not document
    event("patched")


@FUZZ
@given(_bodies(_paths(user_schema())))
def test_user_patch_returns_document_or_scim_error(body: Any) -> None:
    """A PatchOp-shaped body applied to a stored User gives a new document or a ScimError,
    never another exception, and never mutates the stored document."""
    _check(body, user_schema(), USER_DOC)


@settings(FUZZ, max_examples=100)
@given(_bodies(_paths(group_schema())))
def test_group_patch_returns_document_or_scim_error(body: Any) -> None:
    """A PatchOp-shaped body applied to a stored Group gives a new document or a ScimError."""
    _check(body, group_schema(), GROUP_DOC)


@settings(FUZZ, max_examples=100)
@given(json_values)
def test_any_json_body_is_a_patch_or_scim_error(body: Any) -> None:
    """Any JSON value as a PATCH body is parsed or refused with a ScimError."""
    _check(body, user_schema(), USER_DOC)
