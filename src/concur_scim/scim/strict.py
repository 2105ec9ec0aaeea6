"""The Concur checks of the strict dialects, run on a document already coerced to its types.

:func:`enforce_strict` is called by ``normalize_resource(..., strict=True)`` once the generic
pass has built the stored document (names canonical, types coerced, unassigned values gone).
It reads the Concur characteristics the models declare (``AttributeDef``: reference/concur-v4.md
§6) and, per schema of the resource, in this order:

1. mutability against the stored document (``previous``): an immutable attribute keeps its
   value (``companyId``: a different one is 400 ``mutability``; left out, it is kept) and a
   ``keepOnUpdate`` attribute is settable at creation only (``testEmployee``: a later change
   is not applied, §9.17);
2. required attributes (required on create, and so on every replacement);
3. each value: item counts, string lengths, closed value lists (matched case-insensitively,
   stored in their canonical spelling), date and date-time formats (stored as ``YYYY-MM-DD``
   and RFC 3339 UTC), code lists, required sub-attributes and ``anyOf`` groups;
4. the attribute's rules (``scim/rules.py``).

Every violation is reported into the caller's :class:`~concur_scim.scim.violations.Findings`
under its rule id; the rule book (``scim/rule_book.py``) makes it an error or a warning, and
the caller refuses the write once with all the errors. Only an immutable attribute's change
raises at once (Mutability). The document is changed in place (canonical spellings,
completed values).

``generic=True`` (``/scim/v2``) runs only the value checks the rule book marks ``generic``
(formats, date ranges, language tags, code lists), so that whatever a generic client stores
can still be served by the Concur dialects.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from concur_scim.scim.codes import CODE_LISTS, is_language_tag
from concur_scim.scim.datetimes import format_datetime, parse_date, parse_datetime
from concur_scim.scim.registry import AttributeDef, ResourceSchema, SchemaDef
from concur_scim.scim.rule_book import RULE_BOOK
from concur_scim.scim.rules import RULES
from concur_scim.scim.schemas.annotations import Rule
from concur_scim.scim.violations import Findings, Where, immutable

# Concur's range for its date-times (startDate, terminationDate, validFrom/To; §6.2, §6.3).
EARLIEST = date(1900, 1, 1)
LATEST = date(2079, 6, 6)
_SHOWN_VALUES = 12  # a longer canonical list (role codes) is cut in the detail
CORE_SCHEMAS = "urn:ietf:params:scim:schemas:core:"


def enforce_strict(
    doc: dict[str, Any],
    resource: ResourceSchema,
    previous: dict[str, Any] | None,
    findings: Findings,
    *,
    generic: bool = False,
) -> None:
    """Check ``doc`` against the Concur constraints of every schema of ``resource``, in
    place, reporting each violation into ``findings``.

    ``previous`` is the stored document being replaced or patched, None on create. Raises
    Mutability when an immutable attribute would change (not in ``generic`` mode).
    """
    checker = _Checker(findings, generic)
    for schema in (resource.core, *resource.extensions):
        core = schema is resource.core
        part = doc if core else doc.get(schema.urn, {})
        before = previous if core or previous is None else previous.get(schema.urn, {})
        # Paths are shown bare in a core schema only; a downstream extension checked on its
        # own (the resource's core) still names its URN.
        shown_bare = schema.urn.startswith(CORE_SCHEMAS)
        checker.schema(part, schema, before, core=shown_bare)
        if not core and part:
            doc[schema.urn] = part


class _Checker:
    """One validation's walk: reports into ``findings``; ``generic`` skips every rule the
    rule book does not mark as generic."""

    def __init__(self, findings: Findings, generic: bool) -> None:
        self.findings = findings
        self.generic = generic

    def report(self, rule: str, where: Where, problem: str) -> None:
        if not self.generic or RULE_BOOK[rule].generic:
            self.findings.report(rule, where, problem)

    def size(self, where: Where, problem: str) -> None:
        if not self.generic:
            self.findings.size(where, problem)

    def schema(
        self, part: dict[str, Any], schema: SchemaDef, before: dict[str, Any] | None, *, core: bool
    ) -> None:
        for attr in schema.writable:
            value = part.get(attr.name)
            if not self.generic and before is not None and attr.mutability == "immutable":
                value = _immutable(
                    value, before.get(attr.name), attr, Where(schema.urn, attr.name, core)
                )
            if value is None:
                part.pop(attr.name, None)
                if attr.strict_required:
                    self.report("required", Where(schema.urn, attr.name, core), "is required")
                continue
            # Built only for a value that is there: most attributes of a schema are absent.
            where = Where(schema.urn, attr.name, core)
            value = self.value(value, attr, where)
            part[attr.name] = self.rules(value, attr, where)

    def rules(self, value: Any, attr: AttributeDef, where: Where) -> Any:
        if self.generic:
            return value  # no cross-value rule is generic
        for rule in attr.rules:
            if rule in RULES:
                value = RULES[rule](value, attr, where, self.findings)
        return value

    def value(self, value: Any, attr: AttributeDef, where: Where) -> Any:
        """``value`` (of ``attr``, at ``where``) checked; returns the value to store."""
        if not attr.multi_valued:
            return self.single(value, attr, where)
        items = value if isinstance(value, list) else [value]
        if attr.max_length is not None and len(items) > attr.max_length:
            self.size(where, f"has {len(items)} values; at most {attr.max_length} are allowed")
        return [self.single(item, attr, where.item(i)) for i, item in enumerate(items)]

    def single(self, value: Any, attr: AttributeDef, where: Where) -> Any:
        if attr.type == "complex" and isinstance(value, dict):
            return self.complex(value, attr, where)
        if isinstance(value, str):
            return self.string(value, attr, where)
        return value

    def complex(self, value: dict[str, Any], attr: AttributeDef, where: Where) -> dict[str, Any]:
        for sub in attr.writable_subs:
            sub_value = value.get(sub.name)
            if sub_value is None:
                if sub.strict_required:
                    self.report("required", where.child(sub.name), "is required")
                continue
            at = where.child(sub.name)
            value[sub.name] = self.rules(self.value(sub_value, sub, at), sub, at)
        if attr.any_of and all(value.get(name) is None for name in attr.any_of):
            self.report("anyOf", where, f"needs one of: {', '.join(attr.any_of)}")
        return value

    def string(self, value: str, attr: AttributeDef, where: Where) -> str:
        if attr.exact_length is not None:
            if len(value) != attr.exact_length:
                self.size(where, f"must be exactly {attr.exact_length} characters long")
        elif attr.max_length is not None and len(value) > attr.max_length:
            self.size(where, f"is longer than {attr.max_length} characters")
        elif attr.min_length is not None and len(value) < attr.min_length:
            self.size(where, f"is shorter than {attr.min_length} characters")
        if attr.closed and attr.canonical_values:
            value = self.canonical(value, attr, where)
        if attr.format is not None:
            value = self.formatted(value, attr.format, where)
        if attr.code_list is not None:
            lookup, description = CODE_LISTS[attr.code_list]
            code = lookup(value)
            if code is None:
                self.report("codeList", where, f"must be {description}, not '{value}'")
            else:
                value = code
        return value

    def canonical(self, value: str, attr: AttributeDef, where: Where) -> str:
        for canonical in attr.canonical_values:
            if canonical == value or (not attr.case_exact and canonical.lower() == value.lower()):
                return canonical
        shown = list(attr.canonical_values[:_SHOWN_VALUES])
        more = ", …" if len(attr.canonical_values) > _SHOWN_VALUES else ""
        self.report(
            "canonicalValues", where, f"must be one of {', '.join(shown)}{more}; not '{value}'"
        )
        return value

    def formatted(self, value: str, form: str, where: Where) -> str:
        if form == "date":
            day = parse_date(value)
            if day is None:
                self.report("format", where, f"must be a date, YYYY-MM-DD; not '{value}'")
                return value
            return day.isoformat()
        if form == "dateTime":
            moment = parse_datetime(value)
            if moment is None:
                self.report(
                    "format", where, f"must be a date-time, YYYY-MM-DDThh:mm:ssZ; not '{value}'"
                )
                return value
            if not EARLIEST <= moment.date() <= LATEST:
                self.report("dateRange", where, f"must be between {EARLIEST} and {LATEST}")
            return format_datetime(moment)
        if form == "languageTag" and not is_language_tag(value):
            self.report(
                "languageTag", where, f"must be a BCP 47 language tag such as en-US; not '{value}'"
            )
        return value


def _immutable(value: Any, old: Any, attr: AttributeDef, where: Where) -> Any:
    if Rule.keep_on_update.value in attr.rules or value is None:
        return old  # settable at creation only (§9.17); an immutable value is never removed
    if old is not None and not _same(value, old, attr):
        raise immutable(where)
    return value


def _same(value: Any, old: Any, attr: AttributeDef) -> bool:
    if isinstance(value, str) and isinstance(old, str) and not attr.case_exact:
        return value.lower() == old.lower()
    return bool(value == old)
