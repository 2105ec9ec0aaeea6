"""What of a request body the audit trail may keep: secrets masked, size capped.

:func:`body_summary` turns a write request's raw body into the ``detail`` of its
``request_log`` row (docs/security.md, "What is logged"):

- JSON: the parsed document with, at any depth, every value whose key names a secret
  (:func:`names_secret`: ``password``, ``PASSWORD``, ``urn:…:User:password``) and every
  ``value`` of a PATCH operation whose ``path`` names one (``{"op": "replace", "path":
  "password", "value": …}``) replaced by ``"[redacted]"``;
- XML (User v1.0): the text with the content of secret-named elements (``<Password>``)
  replaced by ``[redacted]``;
- the token endpoint's form: only ``grant_type`` and ``client_id``; other forms: every field,
  secret names redacted;
- any other body is tried as JSON (routes parse it whatever its declared type); one that
  does not parse, or is too large to keep whole, is stored as its size only, never its text.

The summary is cut to :data:`DETAIL_LIMIT` characters (``truncated: true``) after masking, so
a cut never reveals a secret. Every function here is pure and linear in the body's size.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson

from concur_scim import json_codec

REDACTED = "[redacted]"
DETAIL_LIMIT = 8192
SECRET_KEYS = frozenset(
    {
        "password",
        "secret",
        "client_secret",
        "token",
        "refresh_token",
        "access_token",
        "authorization",
    }
)
TOKEN_FORM_FIELDS = ("grant_type", "client_id")

# The words of a lower-cased name: what is left between '.', ':', '[', quotes, spaces and
# the like. ASCII only, as attribute names are (RFC 7643 §2.1).
_WORDS = re.compile(r"[a-z0-9_$-]+")
_NAMES = "|".join(sorted(SECRET_KEYS, key=len, reverse=True))
# An opening tag of a secret-named element (any namespace prefix) and its closing tag; both
# stop at the next '<', so searching them never backtracks across the document.
_OPEN = re.compile(rf"<(?:[\w.-]+:)?(?:{_NAMES})(?=[\s/>])[^<>]*>", re.IGNORECASE)
_CLOSE = re.compile(rf"</(?:[\w.-]+:)?(?:{_NAMES})\s*>", re.IGNORECASE)


def _clean(text: str) -> str:
    """``text`` as both databases can store it (no NUL, no lone surrogate)."""
    if text.isascii() and "\x00" not in text:  # most text: nothing to replace
        return text
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


@functools.lru_cache(maxsize=4096)  # member names repeat from one document to the next
def names_secret(name: str) -> bool:
    """Whether a member name or a PATCH ``path`` names a secret.

    ``name`` is lower-cased and cut into words at every character an attribute name cannot
    hold (``.``, ``:``, ``[``, quotes, whitespace); it names a secret when any word is in
    :data:`SECRET_KEYS`. So ``password``, `` Password ``, ``PASSWORD``, a schema-qualified
    ``urn:ietf:params:scim:schemas:core:2.0:User:password`` (or Entra's ``…:User.password``),
    and sub paths such as ``password.value`` or ``x.password`` all do; ``passwordHint`` does
    not. Looking at every word, the schema URN's included, makes stripping a URN prefix
    unnecessary and errs on the side of masking: no URN this server serves holds such a word.
    Linear in ``len(name)``.
    """
    return any(word in SECRET_KEYS for word in _WORDS.findall(name.lower()))


def _member_named(key: str, name: str) -> bool:
    return key.strip().lower() == name


def _patches_secret(node: dict[Any, Any]) -> bool:
    """Whether ``node`` is a PATCH operation whose ``path`` (member name in any case) names
    a secret. A path that is not a string is refused by the PATCH engine (400) and names
    nothing here."""
    return any(
        isinstance(key, str)
        and _member_named(key, "path")
        and isinstance(item, str)
        and names_secret(item)
        for key, item in node.items()
    )


def redact_json(value: Any) -> Any:
    """A copy of ``value`` with secrets replaced by ``"[redacted]"`` (iterative: any depth,
    linear in the document's size):

    - the value of every member whose name names a secret (:func:`names_secret`);
    - in an object with a ``path`` member (any case) naming a secret, i.e. a PATCH operation
      such as ``{"op": "replace", "path": "password", "value": …}``, every member named
      ``value`` (any case), whatever it holds. This is how PatchOp bodies, alone or inside
      a Bulk operation's ``data``, set a password without a secret-named key.

    Strings are made storable (:func:`_clean`), non-finite numbers become strings (JSONB
    refuses them)."""
    root: list[Any] = [None]
    todo: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while todo:
        node, parent, slot = todo.pop()
        if isinstance(node, dict):
            copy: dict[str, Any] = {}
            hide_value = _patches_secret(node)
            for key, item in node.items():
                name = _clean(str(key))
                copy[name] = REDACTED
                if names_secret(name) or (hide_value and _member_named(name, "value")):
                    continue
                todo.append((item, copy, name))
            parent[slot] = copy
        elif isinstance(node, list):
            items: list[Any] = [None] * len(node)
            todo.extend((item, items, index) for index, item in enumerate(node))
            parent[slot] = items
        elif isinstance(node, str):
            parent[slot] = _clean(node)
        elif isinstance(node, float) and not math.isfinite(node):
            parent[slot] = str(node)
        else:
            parent[slot] = node
    return root[0]


def mask_xml(text: str) -> str:
    """``text`` with the content of every secret-named element replaced by ``[redacted]``.

    An element left open (a cut or malformed body) is masked to the end of the text; CDATA
    and nested markup inside the element are masked with it.
    """
    out: list[str] = []
    pos = 0
    while (opening := _OPEN.search(text, pos)) is not None:
        out.append(text[pos : opening.end()])
        pos = opening.end()
        if opening.group().endswith("/>"):
            continue  # an empty element: nothing to hide
        out.append(REDACTED)
        closing = _CLOSE.search(text, pos)
        if closing is None:
            return "".join(out)
        out.append(closing.group())
        pos = closing.end()
    out.append(text[pos:])
    return "".join(out)


def _form(raw: bytes, *, token_endpoint: bool) -> dict[str, str]:
    fields = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    if token_endpoint:
        return {_clean(k): _clean(v) for k, v in fields if k in TOKEN_FORM_FIELDS}
    return {_clean(k): REDACTED if names_secret(k) else _clean(v) for k, v in fields}


def _capped(summary: dict[str, Any], key: str, text: str) -> dict[str, Any]:
    if len(text) > DETAIL_LIMIT:
        return {**summary, key: text[:DETAIL_LIMIT], "truncated": True}
    return {**summary, key: text}


def _loads(raw: bytes) -> Any:
    """The JSON document ``raw``: orjson first (several times faster), the standard library
    for what orjson refuses but the routes' reader may have seen (``NaN``, deep nesting)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def body_summary(
    raw: bytes,
    content_type: str,
    *,
    size: int,
    token_endpoint: bool = False,
    complete: bool = True,
) -> dict[str, Any] | None:
    """The redacted ``detail`` for a request body of ``size`` bytes whose first bytes are
    ``raw`` (None when there is no body).

    When ``raw`` is only a prefix, a JSON body is not parsed (its size is all that is kept);
    XML and forms are summarised from the prefix. A body that never arrived whole
    (``complete=False``: the client went away mid-upload) keeps only its size and type,
    marked ``truncated``, whatever its type: half a document says nothing reliable.
    """
    if not size:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    summary: dict[str, Any] = {"bytes": size, "contentType": _clean(kind)[:100]}
    if not complete:
        return {**summary, "truncated": True}
    if token_endpoint or kind == "application/x-www-form-urlencoded":
        return {**summary, "form": _form(raw, token_endpoint=token_endpoint)}
    if "xml" in kind:
        return _capped(summary, "xml", _clean(mask_xml(raw.decode("utf-8", "replace"))))
    if len(raw) < size:
        return {**summary, "truncated": True}
    # Routes parse JSON whatever the declared type, so any other body is tried as JSON.
    try:
        document = redact_json(_loads(raw))
    except (ValueError, RecursionError):
        return {**summary, "unparsed": True}
    text = json_codec.dumps(document).decode("utf-8")
    if len(text) > DETAIL_LIMIT:
        return {**summary, "json": text[:DETAIL_LIMIT], "truncated": True}
    return {**summary, "json": document}
