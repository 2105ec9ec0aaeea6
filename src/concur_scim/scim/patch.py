"""The PATCH engine: parse a PatchOp request, then apply it to a stored document atomically.

RFC 7644 §3.5.2 with the tolerance real clients need (idp-clients.md §0, §1.3d-f, §1.4,
§1.6, §2.2, §2.3): ``op`` in any case (Entra's ``"Replace"``), path-less ``add``/``replace``
whose object value has dotted keys and extension-URN keys (Entra's ``aadOptscim062020``,
Okta), filtered paths that create the missing element, the manager as a bare id, and
``Remove`` with a value list. The per-path semantics live in ``patch_ops.py``; value
shaping in ``patch_values.py``. Pure: no I/O.

The document is the stored form (see ``scim/validation.py``): core attributes at top level
under canonical names, each extension as an object under its URN, no ``id``/``meta``/
``schemas``/``groups``, no empty values. :func:`apply_patch` writes values as given (apart
from list wrapping and the manager shape); the caller runs the validator on the result.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from concur_scim.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
)
from concur_scim.scim.patch_ops import HANDLERS, Slot
from concur_scim.scim.patch_values import is_empty
from concur_scim.scim.paths import PatchPath, parse_patch_path
from concur_scim.scim.registry import ResourceSchema

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# scim2-server's default maxOperations; far above any IdP's request (Entra batches members).
MAX_OPERATIONS = 1000
# Path-less keys that carry no attribute change: clients echo them from a GET (Okta).
_IGNORED_KEYS = frozenset({"schemas", "meta"})

OpName = Literal["add", "replace", "remove"]


@dataclass(frozen=True)
class PatchOperation:
    """One parsed operation: ``op`` lower-cased, ``path`` None for a path-less add/replace.

    ``value`` is the client's JSON value as sent (None when a remove carries none); an
    add/replace whose value is null or ``""`` clears its target when applied.
    """

    op: OpName
    path: PatchPath | None
    value: Any


def parse_patch_request(body: Any, resource: ResourceSchema) -> list[PatchOperation]:
    """The operations of a PatchOp request body (RFC 7644 §3.5.2), paths resolved.

    Tolerated: ``schemas`` missing, the ``Operations``/``op``/``path``/``value`` keys in any
    case, ``op`` in any case. A path that is just a schema URN (``"path": "urn:…:User"``) is
    turned into the equivalent path-less operation whose value is keyed by that URN.

    Raises InvalidSyntax (body or operation not an object, no or empty ``Operations``, a
    ``schemas`` without the PatchOp URN, unknown ``op``), InvalidValue (more than
    :data:`MAX_OPERATIONS`, add/replace without ``value``, path-less value not an object),
    InvalidPath (bad or unknown ``path``, see :func:`resolve_path`) and NoTarget (remove
    without path, §3.5.2.2).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("the PATCH body must be a JSON object (RFC 7644 §3.5.2)")
    schemas = _member(body, "schemas")
    if schemas is not None:
        urns = schemas if isinstance(schemas, list) else [schemas]
        if not any(isinstance(u, str) and u.lower() == PATCH_OP_URN.lower() for u in urns):
            raise InvalidSyntax(f"'schemas' must contain '{PATCH_OP_URN}'")
    raw_ops = _member(body, "operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise InvalidSyntax("'Operations' must be a non-empty array (RFC 7644 §3.5.2)")
    if len(raw_ops) > MAX_OPERATIONS:
        raise InvalidValue(
            f"a PATCH request may carry at most {MAX_OPERATIONS} operations, got {len(raw_ops)}"
        )
    return [_parse_operation(raw, index, resource) for index, raw in enumerate(raw_ops)]


def apply_patch(
    document: dict[str, Any],
    operations: Sequence[PatchOperation],
    resource: ResourceSchema,
    *,
    resource_id: str,
) -> dict[str, Any]:
    """A new document with ``operations`` applied in order; ``document`` is never mutated.

    Atomic (RFC 7644 §3.5.2: "if any operation fails, the resource is not modified"): the
    operations run on a deep copy, and any error propagates with nothing returned.

    Path-less add/replace (§3.5.2.1/3) applies each key of the object value as if it were
    a path: attribute names, dotted sub-attribute paths, full extension attribute URNs and
    extension URNs whose value is an object of that extension's attributes (null or ``""``
    clears the extension). ``schemas`` and ``meta`` keys are ignored; ``id`` is ignored when
    it equals ``resource_id`` (Okta) and raises Mutability otherwise; unknown keys and other
    readOnly attributes (which live outside the document, e.g. ``groups``) are ignored.

    Mutability (RFC 7643 §2.2): writing a readOnly attribute raises Mutability unless the
    document is left unchanged; an immutable one may be set while absent only; writeOnly
    ``password`` is accepted and ignored (this server stores no passwords).

    Raises NoTarget, InvalidValue, InvalidPath, InvalidFilter or Mutability.
    """
    doc = copy.deepcopy(document)
    for operation in operations:
        if operation.path is not None:
            _apply_at(
                doc,
                operation.op,
                operation.path,
                operation.value,
                resource=resource,
                resource_id=resource_id,
            )
            continue
        if operation.op == "remove":
            raise NoTarget("'remove' needs a 'path' (RFC 7644 §3.5.2.2)")
        if not isinstance(operation.value, dict):
            raise InvalidValue(f"a path-less '{operation.op}' needs an object 'value'")
        for path, value in expand_value(operation.value, resource, resource_id):
            _apply_at(doc, operation.op, path, value, resource=resource, resource_id=resource_id)
    return doc


def _parse_operation(raw: Any, index: int, resource: ResourceSchema) -> PatchOperation:
    where = f"Operations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be an object")
    op_name = _member(raw, "op")
    op = op_name.strip().lower() if isinstance(op_name, str) else None
    if op not in HANDLERS:
        raise InvalidSyntax(f"{where}: 'op' must be add, replace or remove, got {op_name!r}")
    has_value = any(isinstance(k, str) and k.lower() == "value" for k in raw)
    value = _member(raw, "value")
    text = _member(raw, "path")
    if text is not None and not isinstance(text, str):
        raise InvalidPath(f"{where}: 'path' must be a string")
    text = text.strip() if text else None
    if op == "remove":
        if text is None:
            raise NoTarget(f"{where}: 'remove' needs a 'path' (RFC 7644 §3.5.2.2)")
    elif not has_value:
        raise InvalidValue(f"{where}: '{op}' needs a 'value' (RFC 7644 §3.5.2.1/3)")
    if text is not None:
        schema, rest = resource.split_urn(text)
        if rest == "" and text:
            # `"path": "urn:…:enterprise:2.0:User"` names a whole schema object; its
            # path-less equivalent says the same thing ("remove" = clear the extension).
            if op == "remove":
                if schema is resource.core:
                    raise InvalidPath(f"{where}: the core schema cannot be removed")
                return PatchOperation("replace", None, {schema.urn: None})
            if not isinstance(value, dict) and not is_empty(value):
                raise InvalidValue(f"{where}: '{schema.urn}' takes an object of its attributes")
            return PatchOperation(cast(OpName, op), None, {schema.urn: value})
        return PatchOperation(cast(OpName, op), resolve_path(text, resource), value)
    if not isinstance(value, dict):
        raise InvalidValue(f"{where}: a path-less '{op}' needs an object 'value'")
    return PatchOperation(cast(OpName, op), None, value)


def expand_value(
    value: dict[str, Any], resource: ResourceSchema, resource_id: str
) -> Iterator[tuple[PatchPath, Any]]:
    """The (path, value) pairs a path-less object value stands for, in its key order:
    exactly what :func:`apply_patch` applies for it (scope checks read the same pairs).

    Raises InvalidValue for an extension URN whose value is not an object."""
    for key, item in value.items():
        if not isinstance(key, str) or key.lower() in _IGNORED_KEYS:
            continue
        schema, rest = resource.split_urn(key)
        if rest == "":
            if isinstance(item, dict):
                for sub_key, sub_item in item.items():
                    path = _lenient_path(f"{schema.urn}:{sub_key}", resource)
                    if path is not None:
                        yield path, sub_item
            elif is_empty(item) and schema is not resource.core:
                for attr in schema.attributes:  # clears every attribute, hence the object
                    yield PatchPath(schema, attr, None, None), None
            elif schema is not resource.core:
                raise InvalidValue(f"'{schema.urn}' must be an object of its attributes")
            continue
        path = _lenient_path(key, resource)
        if path is None:
            continue
        read_only = path.attr.mutability == "readOnly" or (
            path.sub is not None and path.sub.mutability == "readOnly"
        )
        if _is_id(path, resource) or not read_only:
            yield path, item


def resolve_path(text: str, resource: ResourceSchema) -> PatchPath:
    """``text`` parsed by :func:`parse_patch_path`, also finding un-prefixed extension names.

    RFC 7644 §3.10 reads an unqualified name as a core attribute, but Entra sends the
    manager as ``"path": "manager"`` and removes it with ``manager[value eq "…"]``
    (idp-clients.md §1.3f). When the core schema has no such attribute, the first
    extension that has it is used. Raises the original InvalidPath when none has.
    """
    try:
        return parse_patch_path(text, resource)
    except InvalidPath:
        schema, _ = resource.split_urn(text)
        if schema is not resource.core or ":" in text.split("[", 1)[0]:
            raise  # qualified by a URN: no second guess
        for extension in resource.extensions:
            try:
                return parse_patch_path(f"{extension.urn}:{text}", resource)
            except InvalidPath:
                continue
        raise


def _lenient_path(text: str, resource: ResourceSchema) -> PatchPath | None:
    """``text`` resolved as a path, or None for an attribute this server does not know.

    Clients put vendor attributes next to SCIM ones in a path-less value; RFC 7644 §3.3
    lets a service provider ignore what it does not know.
    """
    try:
        return resolve_path(text, resource)
    except InvalidPath:
        return None


def _apply_at(
    doc: dict[str, Any],
    op: str,
    path: PatchPath,
    value: Any,
    *,
    resource: ResourceSchema,
    resource_id: str,
) -> None:
    attr = path.attr
    if attr.mutability == "writeOnly":
        return  # `password`: accepted and discarded, never stored
    if _is_id(path, resource):
        unchanged = op != "remove" and path.sub is None and value == resource_id
        if not unchanged:
            raise Mutability("attribute 'id' is readOnly")
        return
    core = path.schema.urn.lower() == resource.core.urn.lower()
    slot = Slot(doc, None if core else path.schema.urn, attr)
    handler = HANDLERS[op]
    if attr.mutability not in ("readOnly", "immutable"):
        handler(slot, path, value)
        return
    before = copy.deepcopy(slot.get())
    handler(slot, path, value)
    if slot.get() != before and (attr.mutability == "readOnly" or before is not None):
        raise Mutability(f"attribute '{attr.name}' is {attr.mutability}")


def _is_id(path: PatchPath, resource: ResourceSchema) -> bool:
    return path.attr.name == "id" and path.schema.urn.lower() == resource.core.urn.lower()


def _member(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]`` with the key matched case-insensitively (``Operations``, ``Op``)."""
    if name in obj:
        return obj[name]
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == name), None)
