"""Where a check failed, the findings a validation collects, and the SCIM error they make.

A validation reports every violation it finds into a :class:`Findings` (it does not stop at
the first): each finding carries its rule (``scim/rule_book.py``), its path and a Concur
message. The rule book decides whether it is an error or a warning; :meth:`Findings.raise_errors`
refuses the write with every error at once (reference/concur-v4.md §4.5: Concur's error
extension lists several messages), and the warnings travel with a write that succeeds.

A :class:`Where` is an attribute path inside one schema, with indexes for multi-valued
attributes (``emails[1].type``, as Concur's own messages write it:
``…:Approver:report[0].approver``, reference/concur-v4.md §6.7). The error's ``detail`` names
the path (URN-qualified outside the core schema) and carries one Concur message
(``{code, message, schemaPath, type}``, §4.5) whose ``schemaPath`` is always qualified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from concur_scim.scim import rule_book
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


@dataclass(frozen=True)
class Finding:
    """One violation: the rule broken, where, the detail text and the Concur message text,
    and the strength the rule book gives it there."""

    rule: str
    schema_path: str
    detail: str
    text: str
    strength: rule_book.Strength

    def message(self) -> dict[str, str]:
        """The Concur message (``{code, message, schemaPath, type}``, §4.5)."""
        return {
            "code": INVALID_VALUE,
            "message": self.text,
            "schemaPath": self.schema_path,
            "type": self.strength,
        }


@dataclass
class Findings:
    """The violations one validation found, in the order it found them."""

    items: list[Finding] = field(default_factory=list)

    def report(self, rule: str, where: Where, problem: str, *, message: str | None = None) -> None:
        """Record that ``rule`` is broken at ``where``: ``'<path>' <problem>``; ``message``
        replaces the Concur message text where Concur has its own wording."""
        detail = f"'{where.shown}' {problem}"
        self.add(rule, where.schema_path, detail, message or detail)

    def size(self, where: Where, problem: str) -> None:
        """A length or count violation, with Concur's message ``Invalid '<path>' Size``."""
        self.report("size", where, problem, message=f"Invalid '{where.schema_path}' Size")

    def add(self, rule: str, schema_path: str, detail: str, text: str | None = None) -> None:
        """Record a finding whose detail is already written (``detail`` as the message text
        unless ``text`` is given); a rule the book marks ``ignored`` records nothing."""
        level = rule_book.strength(rule, schema_path)
        if rule == "required" and any(
            f.rule == "type" and f.schema_path.lower() == schema_path.lower() for f in self.items
        ):
            return  # sent with a wrong type: already reported, not missing
        if level != "ignored":
            self.items.append(Finding(rule, schema_path, detail, text or detail, level))

    @property
    def errors(self) -> list[Finding]:
        """The findings that refuse the write."""
        return [f for f in self.items if f.strength == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings that only warn."""
        return [f for f in self.items if f.strength == "warning"]

    def warning_messages(self) -> list[dict[str, Any]]:
        """The warnings as Concur messages."""
        return [f.message() for f in self.warnings]

    def raise_errors(self) -> None:
        """Raise InvalidValue (400 invalidValue) carrying every error (and the warnings) as
        Concur messages, its detail listing each error's detail; nothing when none."""
        errors = self.errors
        if errors:
            raise InvalidValue(
                "; ".join(f.detail for f in errors),
                messages=[f.message() for f in [*errors, *self.warnings]],
            )
