"""The pure parts of what Concur's Postman collection needs (reference/concur-v4.md §2, §3.6,
§6.1, §6.14) and of User Retrieval's filter rules: the PATCH engine, unknown sub-attribute
paths, URN aliases, path normalisation and the User Retrieval filter policy."""

from __future__ import annotations

from typing import Any

import pytest

from concur_scim.api.middleware import normalize_path
from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter import parse_filter
from concur_scim.scim.filter_policy import user_retrieval_policy
from concur_scim.scim.patch import apply_patch, parse_patch_request
from concur_scim.scim.registry import CORE_USER, ENTERPRISE_USER, user_schema
from concur_scim.scim.unknown import unknown_sub_attribute
from concur_scim.services.provisioning import provisioning_schema

USER = user_schema()
TRAVEL = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
SHORT_TRAVEL = "urn:ietf:params:scim:schemas:extension:travel:2.0"
SPEND = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"


def run(doc: dict[str, Any], *ops: dict[str, Any]) -> dict[str, Any]:
    operations = parse_patch_request({"Operations": list(ops)}, USER)
    return apply_patch(doc, operations, USER, resource_id="u1")


def test_bare_value_replaces_the_value_of_the_filtered_element() -> None:
    """``replace emails[type eq "work"]`` with a string keeps the element's other parts."""
    doc = {
        "emails": [
            {"value": "old@example.com", "type": "work", "primary": True},
            {"value": "me@home.example", "type": "home"},
        ]
    }
    out = run(doc, {"op": "replace", "path": 'emails[type eq "work"]', "value": "n@example.com"})
    assert out["emails"] == [
        {"value": "n@example.com", "type": "work", "primary": True},
        {"value": "me@home.example", "type": "home"},
    ]


def test_an_object_value_still_replaces_the_whole_element() -> None:
    """RFC 7644 §3.5.2.3: an object through a filter is the new element."""
    doc = {"phoneNumbers": [{"value": "1", "type": "work", "display": "one"}]}
    value = {"value": "2", "type": "work"}
    out = run(doc, {"op": "replace", "path": 'phoneNumbers[type eq "work"]', "value": value})
    assert out["phoneNumbers"] == [{"value": "2", "type": "work"}]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("name.nickName", f"{CORE_USER}:name.nickName"),
        (f"{ENTERPRISE_USER}:manager.foo", f"{ENTERPRISE_USER}:manager.foo"),
        ('emails[type eq "work"].label', f"{CORE_USER}:emails.label"),
        (f"{SHORT_TRAVEL}:ruleClass.code", f"{TRAVEL}:ruleClass.code"),
        ("name.givenName", None),
        ("nickName", None),
        ("noSuch.thing", None),
        ("userName.first", None),
        (f"{ENTERPRISE_USER}.foo", None),
        ('emails[label eq "x"].value', None),
    ],
)
def test_unknown_sub_attribute(path: str, expected: str | None) -> None:
    """Only a path valid but for an unknown last ``.sub`` of a complex attribute is one."""
    assert unknown_sub_attribute(path, provisioning_schema()) == expected


def test_short_travel_urn_is_an_alias_of_travel() -> None:
    """The provisioning schema reads ``…:travel:2.0`` as ``…:travel:2.0:User``."""
    resource = provisioning_schema()
    schema, rest = resource.split_urn(f"{SHORT_TRAVEL}:ruleClass")
    assert (schema.urn, rest) == (TRAVEL, "ruleClass")
    assert resource.split_urn(SHORT_TRAVEL)[0].urn == TRAVEL
    assert resource.split_urn(f"{TRAVEL}:orgUnit") == (schema, "orgUnit")
    assert USER.split_urn(f"{SHORT_TRAVEL}:ruleClass")[0] is USER.core  # identity: no alias


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/provisioning/v4//Users", "/provisioning/v4/Users"),
        ("/profile/v4//bulk/", "/profile/v4/Bulk"),
        ("/scim/v2///users//abc//", "/scim/v2/Users/abc"),
        ("/api/user/v1.0//FormFields", "/api/user/v1.0/formfields"),
        ("/", "/"),
    ],
)
def test_paths_read_runs_of_slashes_as_one(raw: str, expected: str) -> None:
    assert normalize_path(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "a@b.c"',
        'emails[type eq "work" and verified eq true and value ew "@company.com"]',
        'addresses[type eq "work" and locality eq "Seattle"] or addresses[locality pr]',
        f'not ({ENTERPRISE_USER}:terminationDate pr) and meta.lastModified le "2025-01-31"',
        f'{SPEND}:customData[id eq "custom1" and value eq "VIP"]',
        'emails[type eq "work"] and NOT (emails[type eq "home"])',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:department eq "Sales"',
    ],
)
def test_user_retrieval_filters_concur_documents(text: str) -> None:
    user_retrieval_policy(parse_filter(text))


@pytest.mark.parametrize(
    "text",
    [
        'emails[type eq "work" and value ne "x"]',
        'emails[type eq "work" and not (value sw "test.com")]',
        'externalId eq "x"',
        'title eq "x"',
        f'{SPEND}:ledgerCode eq "x"',
        f'{TRAVEL}:orgUnit eq "x"',
    ],
)
def test_user_retrieval_refuses_what_concur_does_not_list(text: str) -> None:
    with pytest.raises(InvalidFilter):
        user_retrieval_policy(parse_filter(text))
