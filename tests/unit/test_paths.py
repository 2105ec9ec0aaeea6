"""parse_patch_path: RFC 7644 §3.5.2 PATCH paths resolved against the registry."""

from __future__ import annotations

import random

import pytest

from concur_scim.scim.errors import InvalidPath
from concur_scim.scim.filter_ast import And, AttrPath, Compare, Present
from concur_scim.scim.paths import parse_patch_path
from concur_scim.scim.registry import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    group_schema,
    user_schema,
)

TYPE_WORK = Compare(AttrPath(None, "type"), "eq", "work")


@pytest.mark.parametrize(
    ("text", "schema", "attr", "sub"),
    [
        ("nickName", CORE_USER, "nickName", None),
        ("name.givenName", CORE_USER, "name", "givenName"),
        ("NAME.GIVENNAME", CORE_USER, "name", "givenName"),
        ("active", CORE_USER, "active", None),
        ("id", CORE_USER, "id", None),
        ("externalId", CORE_USER, "externalId", None),
        ("meta.lastModified", CORE_USER, "meta", "lastModified"),
        ("emails.value", CORE_USER, "emails", "value"),
        (f"{CORE_USER}:name.familyName", CORE_USER, "name", "familyName"),
        (f"{CORE_USER}:userName", CORE_USER, "userName", None),
        (f"{ENTERPRISE_USER}:employeeNumber", ENTERPRISE_USER, "employeeNumber", None),
        (f"{ENTERPRISE_USER}:manager", ENTERPRISE_USER, "manager", None),
        (f"{ENTERPRISE_USER}.manager", ENTERPRISE_USER, "manager", None),
        (f"{ENTERPRISE_USER}:manager.value", ENTERPRISE_USER, "manager", "value"),
        (f"{ENTERPRISE_USER.upper()}:EMPLOYEENUMBER", ENTERPRISE_USER, "employeeNumber", None),
        ("manager.displayName", ENTERPRISE_USER, "manager", "displayName"),
        ("  nickName  ", CORE_USER, "nickName", None),
    ],
)
def test_plain_path_resolves_to_definitions(
    text: str, schema: str, attr: str, sub: str | None
) -> None:
    """A path without a filter resolves schema, attribute and sub-attribute case-insensitively."""
    path = parse_patch_path(text, user_schema())
    assert path.schema.urn == schema
    assert path.attr.name == attr
    assert (path.sub.name if path.sub else None) == sub
    assert path.value_filter is None


def test_value_path_keeps_the_filter_relative_to_an_element() -> None:
    """``emails[type eq "work"]`` gives attr emails and the bracket filter, no sub."""
    path = parse_patch_path('emails[type eq "work"]', user_schema())
    assert (path.attr.name, path.value_filter, path.sub) == ("emails", TYPE_WORK, None)


def test_value_path_with_sub_attribute() -> None:
    """``emails[type eq "work"].value`` adds the resolved ``value`` sub-attribute."""
    path = parse_patch_path('emails[type eq "work"].value', user_schema())
    assert path.value_filter == TYPE_WORK
    assert path.sub is not None
    assert path.sub.name == "value"
    emails = user_schema().core.attribute("emails")
    assert emails is not None
    assert path.sub is emails.sub("value")


def test_value_path_on_group_members() -> None:
    """``members[value eq "2819c223"]`` resolves on the Group core schema."""
    path = parse_patch_path('members[value eq "2819c223"]', group_schema())
    assert path.schema.urn == CORE_GROUP
    assert path.attr.name == "members"
    assert path.value_filter == Compare(AttrPath(None, "value"), "eq", "2819c223")


def test_filter_on_single_valued_complex_attribute_is_allowed() -> None:
    """``manager[value eq "x"]`` is accepted and resolved in the Enterprise extension."""
    path = parse_patch_path('manager[value eq "x"].displayName', user_schema())
    assert path.schema.urn == ENTERPRISE_USER
    assert path.attr.name == "manager"
    assert path.value_filter == Compare(AttrPath(None, "value"), "eq", "x")
    assert path.sub is not None
    assert path.sub.name == "displayName"


def test_complex_filter_and_urn_prefix() -> None:
    """A URN-prefixed value path with an and-filter and ``$ref`` keeps the whole filter."""
    path = parse_patch_path(
        f'{CORE_USER}:groups[$ref pr and type eq "direct"].display', user_schema()
    )
    assert path.attr.name == "groups"
    assert path.value_filter == And(
        Present(AttrPath(None, "$ref")), Compare(AttrPath(None, "type"), "eq", "direct")
    )


def test_closing_bracket_inside_a_quoted_value() -> None:
    """A ``]`` inside the filter's string does not end the brackets."""
    path = parse_patch_path('emails[value eq "a]b"].value', user_schema())
    assert path.value_filter == Compare(AttrPath(None, "value"), "eq", "a]b")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("bogus", "Unknown attribute 'bogus'"),
        (f"{ENTERPRISE_USER}:userName", "Unknown attribute 'userName'"),
        (f"{CORE_USER}:manager", "Unknown attribute 'manager'"),
        ("name.bogus", "'name' has no sub-attribute 'bogus'"),
        ('nickName[value eq "x"]', "'nickName' is not a complex attribute"),
        ("nickName.value", "'nickName' is not a complex attribute"),
        ('emails[bogus eq "x"]', "'emails' has no sub-attribute 'bogus'"),
        ('emails[type eq "work"].bogus', "'emails' has no sub-attribute 'bogus'"),
        ("emails[type eq]", "Invalid filter"),
        ("emails[]", "Invalid filter"),
        ('emails[type eq "work"', "is not 'attr'"),
        ('emails[type[value eq "x"] pr]', "Nested [filters]"),
        ('emails[name.type eq "x"]', "'emails' has no sub-attribute 'name.type'"),
        ('emails[type.value eq "x"]', "'emails' has no sub-attribute 'type.value'"),
        ('emails[type eq "x"] or emails[value pr]', "must be one 'attr[filter]'"),
        ("name.givenName.x", "is not 'attr'"),
        ("name givenName", "is not 'attr'"),
        ("urn:example:unknown:2.0:User:x", "unknown schema URN"),
        (ENTERPRISE_USER, "names a schema"),
        ("a" * 5000, "longer than"),
    ],
)
def test_bad_path_raises_invalid_path(text: str, detail: str) -> None:
    """Each bad path raises InvalidPath (scimType invalidPath) with a detail naming the cause."""
    with pytest.raises(InvalidPath) as caught:
        parse_patch_path(text, user_schema())
    assert detail in caught.value.detail
    assert caught.value.scim_type == "invalidPath"


def test_fuzzed_paths_raise_only_invalid_path() -> None:
    """Mutated valid paths either resolve or raise InvalidPath, never another exception."""
    seeds = [
        'emails[type eq "work"].value',
        f"{ENTERPRISE_USER}:manager.value",
        'members[value eq "2819c223" or display co "x"]',
        "name.familyName",
    ]
    fragments = [*'[]()."\\: $', " eq ", " pr", "and", "urn:", "x"]
    rng = random.Random(3552)
    resolved = rejected = 0
    for _ in range(2000):
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            if rng.random() < 0.5:
                text = text[:at] + rng.choice(fragments) + text[at:]
            else:
                text = text[:at] + text[at + 1 :]
        try:
            parse_patch_path(text, user_schema())
        except InvalidPath:
            rejected += 1
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{type(exc).__name__} {exc!r} for path {text!r}")
        else:
            resolved += 1
    assert resolved > 50
    assert rejected > 50
