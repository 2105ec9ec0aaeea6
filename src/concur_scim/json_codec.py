"""JSON encoding for answers and stored documents: orjson, with the standard library as the
fallback for what orjson refuses.

Both produce compact UTF-8 JSON (RFC 8259) with non-ASCII characters as they are. orjson
refuses integers beyond 64 bits, which a client may send in an attribute no schema types;
:func:`dumps` then falls back to :mod:`json`, so such a document is still stored and served.
A string holding a lone surrogate is refused by both (it has no UTF-8 form); request bodies
never carry one (api/limits.py refuses them).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, say
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dumps_text(value: Any) -> str:
    """``value`` as compact JSON text (the SQLite JSON column's serializer)."""
    return dumps(value).decode("utf-8")


def loads(text: str | bytes) -> Any:
    """The value of a JSON document this server stored (orjson: several times faster)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # an integer beyond 64 bits, stored by the fallback
        return json.loads(text)
