"""What real Concur would do with a write: the lint report (``Prefer: concur-lint``).

A stand-in that accepts a request does not tell a developer whether Concur would. The lint
report does, attribute by attribute, whatever dialect took the request:

- ``reject``: a Concur rule of ``error`` strength is broken (``scim/rule_book.py``), so
  Concur's Identity or User Provisioning API would refuse the request;
- ``warn``: a rule of ``warning`` strength is broken (Concur accepts it, with a message);
- ``ignore``: Concur drops the attribute without a word: an attribute no schema defines, an
  extension the API does not serve, a read-only attribute, a write-only one (``password``);
- ``coerce``: the value is stored other than as sent: a string boolean, another spelling of a
  canonical value, a date in another format, a bare id for a reference.

Each finding is ``{outcome, schemaPath, message, rule, source}``. :func:`lint_user` reads the
request as sent and the document as stored (or, before anything is stored, as validation
would store it). Pure: no I/O; the checks of other users (a manager or an approver that does
not exist) need the database and are reported by the write itself.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from concur_scim.scim.errors import InvalidPath, Mutability, ScimError
from concur_scim.scim.patch import (
    PatchOperation,
    expand_value,
    parse_patch_request,
    resolve_path,
)
from concur_scim.scim.paths import PatchPath
from concur_scim.scim.registry import (
    ENTERPRISE_USER,
    AttributeDef,
    ResourceSchema,
    SchemaDef,
    user_schema,
)
from concur_scim.scim.rule_book import RULE_BOOK
from concur_scim.scim.unknown import unknown_attributes, unknown_sub_attribute
from concur_scim.scim.validation import normalize_resource
from concur_scim.scim.violations import Findings

LINT_URN = "urn:concur-scim:api:messages:2.0:Lint"
PREFER_LINT = "concur-lint"

Outcome = Literal["reject", "warn", "ignore", "coerce"]

# Where the findings that are not validation rules come from.
SOURCES = {
    "unknownAttribute": "RFC 7644 §3.3 (a service provider may ignore what it does not know);"
    " reference §9 item 20",
    "unknownSchema": "reference §9 item 20 (unknown schema URNs are tolerated, their data dropped)",
    "readOnly": "RFC 7643 §2.2 mutability readOnly; reference §6 (read-only attributes)",
    "writeOnly": "RFC 7643 §2.2 mutability writeOnly (Concur stores no passwords)",
    "coercion": "RFC 7643 §2.3 types; reference §6 canonical spellings and formats",
    "mutability": "RFC 7643 §2.2 immutable; reference §6.2 companyId",
}
_SHOWN = 80  # characters of a value quoted in a message


@dataclass(frozen=True)
class LintFinding:
    """One attribute and what Concur would do with it."""

    outcome: Outcome
    schema_path: str
    message: str
    rule: str

    def to_json(self) -> dict[str, str]:
        """The finding as the lint object lists it."""
        spec = RULE_BOOK.get(self.rule)
        source = spec.source if spec is not None else SOURCES.get(self.rule, "")
        return {
            "outcome": self.outcome,
            "schemaPath": self.schema_path,
            "message": self.message,
            "rule": self.rule,
            "source": source,
        }


def lint_object(findings: list[LintFinding]) -> dict[str, Any]:
    """The ``urn:concur-scim:api:messages:2.0:Lint`` member of a write answer."""
    return {"findings": [f.to_json() for f in findings]}


def wants_lint(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header (RFC 7240) asks for the lint report."""
    return any(
        part.split(";", 1)[0].strip().lower() == PREFER_LINT for part in (prefer or "").split(",")
    )


def lint_user(
    sent: Any,
    resource: ResourceSchema,
    *,
    stored: dict[str, Any] | None,
    company_id: str,
    patch: bool = False,
    concur_rules: bool = True,
) -> list[LintFinding]:
    """What Concur would do with a user write.

    ``sent`` is the request body (a User for POST/PUT, a PatchOp for PATCH: ``patch``);
    ``stored`` the document the write stored (None when nothing was stored yet: the
    document is then the one validation would store for ``sent``). The Concur rules run on
    that document, with ``companyId`` defaulted to ``company_id`` as the Concur dialects do
    (not for a resource Concur has no rules for: ``concur_rules`` False, e.g. a Group).
    """
    if patch:
        return _lint_patch(sent, resource, stored=stored, company_id=company_id, rules=concur_rules)
    found: list[LintFinding] = []
    values = [sent] if isinstance(sent, dict) else []
    for value in values:
        found += _ignored(value, resource)
    # The Concur rules read the stored user, or else the body as sent (strict validation
    # reads bodies: every finding is collected even when the body is refused).
    judged = stored if stored is not None else sent if isinstance(sent, dict) else None
    if judged is not None and concur_rules:
        found += _concur_verdict(judged, resource, company_id)
    document = stored if stored is not None else _as_stored(sent, resource)
    if document is not None:
        for value in values:
            found += _coercions(value, document, resource)
    return found


def _lint_patch(
    sent: Any,
    resource: ResourceSchema,
    *,
    stored: dict[str, Any] | None,
    company_id: str,
    rules: bool,
) -> list[LintFinding]:
    """A PATCH's report: what its operations name that no schema defines; once applied
    (``stored``), the Concur rules on the attributes it touched (not on the rest of the
    user, which it did not send) and the values stored other than as sent. A refused PATCH
    has no patched user: its error lists its violations."""
    found = list(_patch_ignored(sent, resource))
    if stored is None:
        return found
    operations = _parsed(sent, resource)
    touched = {
        (path.schema.urn.lower(), path.attr.name.lower())
        for op in operations
        for path in _op_paths(op, resource)
    }
    if rules:
        for finding in _concur_verdict(stored, resource, company_id):
            schema, rest = resource.split_urn(finding.schema_path)
            name = rest.split(".", 1)[0].split("[", 1)[0].lower()
            if (schema.urn.lower(), name) in touched:
                found.append(finding)
    for op in operations:
        if op.op == "remove" or op.value is None:
            continue
        if op.path is None:
            if isinstance(op.value, dict):
                found += _coercions(op.value, stored, resource)
            continue
        found += _path_coercion(op.path, op.value, stored, resource)
    return found


def _parsed(sent: Any, resource: ResourceSchema) -> list[PatchOperation]:
    try:
        return parse_patch_request(sent, resource)
    except ScimError:
        return []


def _op_paths(op: PatchOperation, resource: ResourceSchema) -> list[PatchPath]:
    if op.path is not None:
        return [op.path]
    if not isinstance(op.value, dict):
        return []
    try:
        return [path for path, _ in expand_value(op.value, resource, "")]
    except ScimError:
        return []


def _path_coercion(
    path: PatchPath, value: Any, stored: dict[str, Any], resource: ResourceSchema
) -> Iterator[LintFinding]:
    """A value PATCHed at ``path`` (no value filter) that is stored otherwise."""
    if path.value_filter is not None or path.attr.mutability in ("readOnly", "writeOnly"):
        return
    target = stored if path.schema is resource.core else stored.get(path.schema.urn) or {}
    have = target.get(path.attr.name) if isinstance(target, dict) else None
    where = f"{path.schema.urn}:{path.attr.name}"
    if path.sub is None:
        yield from _diff(value, have, path.attr, where)
    elif not path.attr.multi_valued and isinstance(have, dict):
        yield from _diff(value, have.get(path.sub.name), path.sub, f"{where}.{path.sub.name}")


def _operations(body: Any) -> Iterator[tuple[str | None, Any]]:
    """(path or None, value) of each operation of a PatchOp body."""
    if not isinstance(body, dict):
        return
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    for op in operations if isinstance(operations, list) else ():
        if not isinstance(op, dict):
            continue
        value = next((v for k, v in op.items() if k.lower() == "value"), None)
        path = next((v for k, v in op.items() if k.lower() == "path"), None)
        yield (path.strip() if isinstance(path, str) and path.strip() else None), value


def _patch_ignored(body: Any, resource: ResourceSchema) -> Iterator[LintFinding]:
    """What a PATCH names that no schema defines, read as the PATCH engine reads it: a path
    whose last sub-attribute is unknown (UPS ignores it with a warning), a key of a path-less
    value that resolves to no attribute (dropped, RFC 7644 §3.3)."""
    for path, value in _operations(body):
        if path is not None:
            unknown = unknown_sub_attribute(path, resource)
            if unknown is not None:
                yield LintFinding(
                    "ignore", unknown, "no Concur schema defines it", "unknownAttribute"
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or key.lower() in ("schemas", "meta"):
                    continue
                schema, rest = resource.split_urn(key)
                if rest == "" and isinstance(item, dict):
                    names = [f"{schema.urn}:{k}" for k in item if isinstance(k, str)]
                elif key.lower().startswith("urn:") and _unserved(key, resource):
                    yield LintFinding(
                        "ignore",
                        key,
                        "an extension this API does not serve: dropped",
                        "unknownSchema",
                    )
                    continue
                else:
                    names = [key if rest != key else f"{resource.core.urn}:{key}"]
                for name in names:
                    if not _resolves(name, resource):
                        yield LintFinding(
                            "ignore", name, "no Concur schema defines it", "unknownAttribute"
                        )


def _resolves(path: str, resource: ResourceSchema) -> bool:
    try:
        resolve_path(path, resource)
    except InvalidPath:
        return False
    return True


def _as_stored(sent: Any, resource: ResourceSchema) -> dict[str, Any] | None:
    try:
        return normalize_resource(copy.deepcopy(sent), resource)
    except ScimError:
        return None


def _ignored(sent: dict[str, Any], resource: ResourceSchema) -> Iterator[LintFinding]:
    for paths in unknown_attributes(sent, resource.core, resource.extensions).values():
        for path in paths:
            yield LintFinding("ignore", path, "no Concur schema defines it", "unknownAttribute")
    for key, value in sent.items():
        if not isinstance(key, str):
            continue
        low = key.lower()
        if low == "password":
            yield LintFinding(
                "ignore", f"{resource.core.urn}:password", "write-only: never stored", "writeOnly"
            )
        elif low in ("id", "meta", "groups"):
            yield LintFinding(
                "ignore", f"{resource.core.urn}:{key}", "read-only: set by the server", "readOnly"
            )
        elif low.startswith("urn:") and low != "urn" and _unserved(key, resource):
            yield LintFinding(
                "ignore", key, "an extension this API does not serve: dropped", "unknownSchema"
            )
        else:
            yield from _read_only(key, value, resource)


def _unserved(key: str, resource: ResourceSchema) -> bool:
    schema, rest = resource.split_urn(key)
    return schema is resource.core and rest == key


def _read_only(key: str, value: Any, resource: ResourceSchema) -> Iterator[LintFinding]:
    """Read-only attributes and sub-attributes a body carries (``manager.displayName``)."""
    schema, rest = resource.split_urn(key)
    pairs = value.items() if rest == "" and isinstance(value, dict) else [(rest, value)]
    for name, item in pairs:
        if not isinstance(name, str):
            continue
        attr = schema.attribute(name.partition(".")[0])
        if attr is None:
            continue
        path = f"{schema.urn}:{attr.name}"
        if attr.mutability == "readOnly":
            yield LintFinding("ignore", path, "read-only: set by Concur", "readOnly")
            continue
        for element in item if isinstance(item, list) else [item]:
            if not isinstance(element, dict):
                continue
            for sub_name in element:
                sub = attr.sub(sub_name) if isinstance(sub_name, str) else None
                if sub is not None and sub.mutability == "readOnly":
                    yield LintFinding(
                        "ignore", f"{path}.{sub.name}", "read-only: set by Concur", "readOnly"
                    )


def _concur_verdict(
    document: dict[str, Any], resource: ResourceSchema, company_id: str
) -> Iterator[LintFinding]:
    """The Concur rules (strict validation) applied to ``document``: errors are what Concur
    would reject, warnings what it would warn about."""
    body = copy.deepcopy(document)
    enterprise = body.setdefault(ENTERPRISE_USER, {})
    if isinstance(enterprise, dict):
        enterprise.setdefault("companyId", company_id)
    # Identity's extensions are always validated; a downstream extension (User
    # Provisioning) only when the request carries it, as the provisioning worker does.
    identity = set(user_schema().schema_urns)
    judged = dataclasses.replace(
        resource,
        extensions=tuple(e for e in resource.extensions if e.urn in identity or e.urn in body),
    )
    findings = Findings()
    try:
        normalize_resource(body, judged, strict=True, findings=findings)
    except Mutability as error:
        yield LintFinding("reject", ENTERPRISE_USER, error.detail, "mutability")
    except ScimError:
        pass  # every error is in ``findings``
    for finding in findings.items:
        outcome: Outcome = "reject" if finding.strength == "error" else "warn"
        yield LintFinding(outcome, finding.schema_path, finding.text, finding.rule)


def _coercions(
    sent: dict[str, Any], stored: dict[str, Any], resource: ResourceSchema
) -> Iterator[LintFinding]:
    """Each value of ``sent`` that is stored other than as it was sent."""
    for key, value in sent.items():
        if not isinstance(key, str):
            continue
        schema, rest = resource.split_urn(key)
        if rest == "":
            if isinstance(value, dict):
                for name, item in value.items():
                    if isinstance(name, str):
                        yield from _compare(schema, name, item, stored, resource)
            continue
        yield from _compare(schema, rest, value, stored, resource)


def _compare(
    schema: SchemaDef, name: str, value: Any, stored: dict[str, Any], resource: ResourceSchema
) -> Iterator[LintFinding]:
    head, _, sub_name = name.partition(".")
    attr = schema.attribute(head)
    if attr is None or attr.mutability in ("readOnly", "writeOnly"):
        return
    target = stored if schema is resource.core else stored.get(schema.urn) or {}
    have = target.get(attr.name) if isinstance(target, dict) else None
    path = f"{schema.urn}:{attr.name}"
    if sub_name:
        sub = attr.sub(sub_name)
        if sub is None or attr.multi_valued:
            return
        have = have.get(sub.name) if isinstance(have, dict) else None
        yield from _diff(value, have, sub, f"{path}.{sub.name}")
        return
    yield from _diff(value, have, attr, path)


def _diff(sent: Any, stored: Any, attr: AttributeDef, path: str) -> Iterator[LintFinding]:
    if sent is None or sent in ("", []) or stored is None:
        return  # unassigned, or not stored (reported as ignored or refused, if at all)
    if attr.multi_valued:
        if not isinstance(sent, list):
            yield _coerced(path, sent, stored, "a single value for a multi-valued attribute")
            return
        kept = stored if isinstance(stored, list) else []
        # Unassigned items are dropped before storing (RFC 7643 §2.5): compare the rest.
        sent = [item for item in sent if item is not None and item not in ("", [], {})]
        for index, item in enumerate(sent):
            if index < len(kept):
                yield from _diff_one(item, kept[index], attr, f"{path}[{index}]")
        return
    yield from _diff_one(sent, stored, attr, path)


def _diff_one(sent: Any, stored: Any, attr: AttributeDef, path: str) -> Iterator[LintFinding]:
    if attr.type == "complex" and attr.sub_attributes:
        if not isinstance(sent, dict):
            why = "a list for a single value" if isinstance(sent, list) else "a bare value"
            yield _coerced(path, sent, stored, f"{why} of a complex attribute")
            return
        if not isinstance(stored, dict):
            return
        for key, item in sent.items():
            sub = attr.sub(key) if isinstance(key, str) else None
            if sub is not None and sub.mutability not in ("readOnly", "writeOnly"):
                yield from _diff(item, stored.get(sub.name), sub, f"{path}.{sub.name}")
        return
    if type(sent) is not type(stored) or sent != stored:
        yield _coerced(path, sent, stored)


def _coerced(path: str, sent: Any, stored: Any, why: str = "") -> LintFinding:
    shown = f"sent {_quote(sent)}, stored {_quote(stored)}"
    return LintFinding("coerce", path, f"{shown} ({why})" if why else shown, "coercion")


def _quote(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
