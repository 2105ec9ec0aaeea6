"""Request bodies built with keyword overrides, so each test states only what it cares about."""

from __future__ import annotations

import itertools
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

_counter = itertools.count(1)


def user_body(**overrides: Any) -> dict[str, Any]:
    """A minimal valid User with a unique userName; ``overrides`` replace top-level keys."""
    n = next(_counter)
    body: dict[str, Any] = {
        "schemas": [CORE_USER],
        "userName": f"user{n}@example.com",
        "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
        "emails": [{"value": f"user{n}@example.com", "type": "work", "primary": True}],
        "active": True,
    }
    body.update(overrides)
    return body


def group_body(**overrides: Any) -> dict[str, Any]:
    """A minimal valid Group with a unique displayName."""
    body: dict[str, Any] = {"schemas": [CORE_GROUP], "displayName": f"Group {next(_counter)}"}
    body.update(overrides)
    return body


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp message with ``operations``."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}
