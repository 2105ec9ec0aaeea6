"""Store-level failures the services translate into SCIM errors."""

from __future__ import annotations


class Conflict(Exception):
    """A unique constraint refused the write; ``field`` names the attribute when known."""

    def __init__(self, field: str | None) -> None:
        super().__init__(field or "unique constraint")
        self.field = field
