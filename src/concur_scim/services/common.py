"""Helpers every resource service shares: versions, conflicts, the clock seam."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from concur_scim.scim.errors import PreconditionFailed, Uniqueness
from concur_scim.store.errors import Conflict
from concur_scim.store.records import ResourceRecord

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC: the production :data:`Clock`."""
    return datetime.now(UTC)


def check_if_match(record: ResourceRecord, if_match: str | None) -> None:
    """Raise PreconditionFailed unless ``If-Match`` names the current version (RFC 7644 §3.14).

    Comparison is weak (RFC 9110 §8.8.3.2): ``W/"3"`` and ``"3"`` both match version 3;
    ``*`` matches any existing resource.
    """
    if if_match is None:
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in wanted or f'"{record.version}"' in wanted:
        return
    raise PreconditionFailed(f"resource version is {record.etag}, not {if_match}")


# Concur's wording (reference §4.5, §9 item 13), used by every dialect: it names the lookup.
_USER_LOOKUPS = {
    "userName": "userName",
    "externalId": "companyId,externalId",
    "employeeNumber": "companyId,employeeNumber",
}


def uniqueness_error(conflict: Conflict, resource: str) -> Uniqueness:
    """The 409 for a refused write, naming the attribute when the store knows it."""
    if resource == "user" and conflict.field in _USER_LOOKUPS:
        lookup = _USER_LOOKUPS[conflict.field]
        return Uniqueness(
            f"Principal with lookup type '{lookup}' with provided value already exists"
        )
    if conflict.field:
        return Uniqueness(f"a {resource} with this {conflict.field} already exists")
    return Uniqueness(f"the {resource} conflicts with an existing {resource}")
