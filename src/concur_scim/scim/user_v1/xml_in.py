"""Hardened parsing of User v1.0 request documents (reference/concur-user-v1.md §3.1, §3.5).

Untrusted XML goes through ``defusedxml`` only: a DTD, an entity declaration or an external
reference is refused before anything is expanded (XXE and "billion laughs"). The caller
limits the body size; this module limits the record count. Pure: bytes in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from concur_scim.scim.user_v1.fields import NAMESPACE, NAMESPACE_HTTPS, XSI, canonical

INVALID_XML = "The Request XML is invalid"
TOO_MANY = "Maximum User Records per Batch Exceeded"
NO_RECORDS = "Missing Required Parameters"
_NAMESPACES = frozenset({NAMESPACE, NAMESPACE_HTTPS, ""})
_NIL = f"{{{XSI}}}nil"


class RequestRejected(Exception):
    """The whole request is refused (HTTP 400, §2.4) with one of Concur's messages (§4.7)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UserRecord:
    """One ``UserProfile``: canonical element → trimmed text, in document order.

    An element with ``i:nil="true"`` is left out ("not sent", §3.1.1); an empty element is
    ``""`` (clear, §4.6). ``unknown`` names the elements no alias knows (ignored, §4.6).
    """

    values: dict[str, str]
    unknown: tuple[str, ...] = field(default=())


def _local(tag: str) -> tuple[str, str]:
    """``(namespace, local name)`` of an ElementTree tag."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _root(raw: bytes, name: str, require_namespace: bool) -> Element:
    """The parsed root, which must be ``name`` (case-insensitive) in the v1.0 namespace.

    An unqualified root is accepted unless ``require_namespace`` (§7.3; a 2017 contributor
    found the live API needed it, [P-hist] ``d67202e9d``).
    """
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError):
        # LookupError: an encoding the declaration names that Python does not know.
        raise RequestRejected(INVALID_XML) from None
    ns, local = _local(root.tag)
    # Any other namespace is not v1.0.
    if local.lower() != name.lower() or ns not in _NAMESPACES or (require_namespace and not ns):
        raise RequestRejected(INVALID_XML)
    return root


def _children(root: Element, name: str, max_records: int) -> list[Element]:
    items = [c for c in root if isinstance(c.tag, str) and _local(c.tag)[1].lower() == name]
    if not items:
        raise RequestRejected(NO_RECORDS)
    if len(items) > max_records:
        raise RequestRejected(TOO_MANY)
    return items


def _text(element: Element) -> str | None:
    if element.get(_NIL, "").strip().lower() == "true":
        return None
    return (element.text or "").strip()  # §3.1: values may carry spaces (<Active> Y </Active>)


def parse_batch(
    raw: bytes, *, max_records: int, require_namespace: bool = False
) -> list[UserRecord]:
    """The ``UserProfile`` records of a ``<batch>`` in document order (§3.1).

    Raises :class:`RequestRejected` for malformed XML, a DTD or entity, a wrong root or
    namespace, no record, or more than ``max_records`` records (§4.5).
    """
    records = []
    for profile in _children(_root(raw, "batch", require_namespace), "userprofile", max_records):
        values: dict[str, str] = {}
        unknown: list[str] = []
        for child in profile:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            local = _local(child.tag)[1]
            name = canonical(local)
            if name is None:
                unknown.append(local)
                continue
            text = _text(child)
            if text is not None:
                values[name] = text
        records.append(UserRecord(values=values, unknown=tuple(unknown)))
    return records


def parse_password_batch(
    raw: bytes, *, max_records: int, require_namespace: bool = False
) -> list[tuple[str, str]]:
    """``(LoginID, Password)`` per ``<User>`` of a ``<UserBatch>`` (§3.5); empty when absent."""
    pairs = []
    for user in _children(_root(raw, "UserBatch", require_namespace), "user", max_records):
        found = {"loginid": "", "password": ""}
        for child in user:
            if isinstance(child.tag, str):
                key = _local(child.tag)[1].lower()
                if key in found:
                    found[key] = _text(child) or ""
        pairs.append((found["loginid"], found["password"]))
    return pairs
