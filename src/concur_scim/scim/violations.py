"""Where a strict check failed, and the SCIM error that says so with a Concur message.

A :class:`Where` is an attribute path inside one schema, with indexes for multi-valued
attributes (``emails[1].type``, as Concur's own messages write it:
``…:Approver:report[0].approver``, reference/concur-v4.md §6.7). The error's ``detail`` names
the path (URN-qualified outside the core schema) and carries one Concur message
(``{code, message, schemaPath, type}``, §4.5) whose ``schemaPath`` is always qualified.
"""

from __future__ import annotations

from dataclasses import dataclass

from concur_scim.scim.errors import InvalidValue, Mutability

INVALID_VALUE = "INVALID_VALUE"  # the only validation code Concur is seen to use (§11)


@dataclass(frozen=True)
class Where:
    """An attribute path in schema ``urn``; ``core`` paths are shown without the URN."""

    urn: str
    path: str
    core: bool = True

    def child(self, name: str) -> Where:
        """The sub-attribute ``name`` of this path."""
        return Where(self.urn, f"{self.path}.{name}" if self.path else name, self.core)

    def item(self, index: int) -> Where:
        """The ``index``-th value of this multi-valued attribute."""
        return Where(self.urn, f"{self.path}[{index}]", self.core)

    @property
    def schema_path(self) -> str:
        """The fully qualified path, ``urn:…:User:name.givenName``."""
        return f"{self.urn}:{self.path}"

    @property
    def shown(self) -> str:
        """The path as a detail shows it: bare in the core schema, qualified elsewhere."""
        return self.path if self.core else self.schema_path


def _message(where: Where, text: str) -> dict[str, str]:
    return {
        "code": INVALID_VALUE,
        "message": text,
        "schemaPath": where.schema_path,
        "type": "error",
    }


def invalid(where: Where, problem: str, *, message: str | None = None) -> InvalidValue:
    """InvalidValue (400 invalidValue): ``'<path>' <problem>``, with one Concur message.

    ``message`` replaces the detail as the Concur message text where Concur has its own
    wording (``Invalid '<path>' Size``, §6.5).
    """
    detail = f"'{where.shown}' {problem}"
    return InvalidValue(detail, messages=[_message(where, message or detail)])


def size(where: Where, problem: str) -> InvalidValue:
    """A length or count violation, with Concur's message ``Invalid '<path>' Size`` (§6.5)."""
    return invalid(where, problem, message=f"Invalid '{where.schema_path}' Size")


def immutable(where: Where) -> Mutability:
    """Mutability (400 mutability): an immutable attribute would change (RFC 7643 §2.2)."""
    detail = f"'{where.shown}' is immutable and cannot be changed"
    return Mutability(detail, messages=[_message(where, detail)])
