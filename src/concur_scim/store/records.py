"""Plain records the repositories return; services and the API read these, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands back naive values, stored as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class ResourceRecord:
    """One stored user or group: its document plus the server-owned metadata.

    ``doc`` never holds ``id``, ``meta``, ``schemas`` or (for users) ``groups``; for groups it
    holds no ``members`` either: those live in ``group_members`` and are attached to
    ``members`` only when a read asks for them.
    """

    id: str
    company_id: str
    seq: int
    doc: dict[str, Any]
    created: datetime
    last_modified: datetime
    version: int
    members: list[dict[str, Any]] | None = None
    groups: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        """The weak entity tag of this version (RFC 7644 §3.14)."""
        return f'W/"{self.version}"'


@dataclass(frozen=True)
class Page:
    """One page of a list: records plus what the ListResponse needs."""

    records: list[ResourceRecord]
    total: int | None
    next_seq: int | None
