"""Query parameters of list and search requests (RFC 7644 §3.4.2, §3.4.3; RFC 9865 §2).

Parsed by hand rather than by FastAPI so that a bad value is a SCIM error (400
``invalidValue``/``invalidFilter``/``invalidCursor``), never a 422, and so that parameter
names match case-insensitively (``startindex`` works too).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from concur_scim.api.dialects import Dialect
from concur_scim.config import Settings
from concur_scim.scim.errors import InvalidCursor, InvalidSyntax, InvalidValue, TooMany
from concur_scim.scim.filter import parse_filter
from concur_scim.scim.filter_policy import FilterPolicy
from concur_scim.scim.projection import Projection
from concur_scim.scim.registry import ResourceSchema
from concur_scim.store.paging import ListQuery

CURSOR_PREFIX = "c1:"
# BIGINT's range: OFFSET and keyset values beyond it make SQLite and PostgreSQL fail.
MAX_SQL_INT = 2**62


@dataclass(frozen=True)
class ListRequest:
    """A parsed list/search request: the store query plus response-shaping parts."""

    query: ListQuery
    projection: Projection
    start_index: int | None


def encode_cursor(seq: int) -> str:
    """An opaque cursor for "the page after ``seq``" (RFC 9865 §2: opaque to clients)."""
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The keyset position of ``cursor``; None for the empty cursor (first page)."""
    if cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(CURSOR_PREFIX):
            raise ValueError(raw)
        seq = int(raw.removeprefix(CURSOR_PREFIX))
        if not 0 <= seq <= MAX_SQL_INT:
            raise ValueError(raw)
        return seq
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this server issued") from None


def _int(name: str, raw: Any) -> int:
    """``raw`` as an integer, clamped to what SQL can hold (a larger value means "past the end")."""
    if isinstance(raw, bool):
        raise InvalidValue(f"'{name}' must be an integer")
    try:
        return max(-MAX_SQL_INT, min(int(raw), MAX_SQL_INT))
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise InvalidValue(f"'{name}' must be an integer") from None


def parse_list_request(
    params: Mapping[str, Any],
    resource: ResourceSchema,
    dialect: Dialect,
    settings: Settings,
    *,
    policy: FilterPolicy | None = None,
) -> ListRequest:
    """Parse query parameters (or a SearchRequest body) into a :class:`ListRequest`.

    ``startIndex`` < 1 means 1 and ``count`` < 0 means 0 (RFC 7644 §3.4.2.4); ``count`` above
    the dialect's maximum page size is capped. ``cursor`` selects RFC 9865 paging and cannot be
    combined with ``startIndex`` or ``sortBy``; a cursor-only dialect pages by cursor without
    one and refuses ``startIndex``. ``policy`` checks the filter (the dialect's rules).
    Index paging past ``max_result_window`` results is TooMany (400 ``tooMany``).
    """
    p = {k.lower(): v for k, v in params.items()}
    expr = None
    if p.get("filter") not in (None, ""):
        if not isinstance(p["filter"], str):
            raise InvalidValue("'filter' must be a string")
        expr = parse_filter(p["filter"])
        if policy is not None:
            policy(expr)
    default_size = dialect.default_page_size or settings.default_page_size
    max_size = dialect.max_page_size or settings.max_page_size
    count = default_size if p.get("count") is None else _int("count", p["count"])
    count = max(0, min(count, max_size))
    sort_by = p.get("sortby") or None
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValue("'sortBy' must be a string")
    if sort_by is not None and not dialect.sort:
        raise InvalidValue("this API does not support sorting")
    order = str(p.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'")
    projection = Projection.parse(resource, p.get("attributes"), p.get("excludedattributes"))
    if not dialect.index_paging and p.get("startindex") is not None:
        raise InvalidValue("this API pages by cursor: 'startIndex' is not supported")
    if dialect.cursor_paging and ("cursor" in p or not dialect.index_paging):
        if p.get("startindex") is not None:
            raise InvalidValue("use either 'cursor' or 'startIndex', not both")
        if sort_by is not None:
            raise InvalidValue("'sortBy' cannot be combined with cursor paging")
        cursor = p.get("cursor") or ""
        if not isinstance(cursor, str):
            raise InvalidCursor("'cursor' must be a string")
        query = ListQuery(
            filter=expr,
            limit=count,
            after_seq=decode_cursor(cursor),
            cursor=True,
            want_total=count == 0 or dialect.cursor_total,
        )
        return ListRequest(query=query, projection=projection, start_index=None)
    start = 1 if p.get("startindex") is None else max(1, _int("startIndex", p["startindex"]))
    _check_window(start, count, settings.max_result_window, dialect)
    query = ListQuery(
        filter=expr,
        sort_by=sort_by,
        descending=order == "descending",
        offset=start - 1,
        limit=count,
    )
    return ListRequest(query=query, projection=projection, start_index=start)


def _check_window(start: int, count: int, window: int, dialect: Dialect) -> None:
    """Raise TooMany when index paging reaches past ``window`` results (0: no window).

    RFC 7644 §3.4.2.4 ``tooMany``: the server would have to compute more results (the
    offset the database skips over) than it is willing to; a narrower filter, or RFC 9865
    cursor paging where the dialect offers it, stays within the window.
    """
    if window and count > 0 and start - 1 + count > window:
        hint = "narrow the filter"
        if dialect.cursor_paging:
            hint += " or page by cursor"
        raise TooMany(f"index paging is limited to the first {window} results: {hint}")


def search_params(body: Any, dialect: Dialect) -> dict[str, Any]:
    """The parameters of a SearchRequest body (RFC 7644 §3.4.3), ``schemas`` checked.

    Dialects that name SearchRequest URNs require ``schemas`` to list one of them (Concur's
    v4.1 search: "required and may not be empty", accepting its own URN and the RFC's).
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("a SearchRequest must be a JSON object")
    if dialect.search_schemas:
        schemas = body.get("schemas")
        wanted = {u.lower() for u in dialect.search_schemas}
        if not isinstance(schemas, list) or not any(
            isinstance(u, str) and u.lower() in wanted for u in schemas
        ):
            raise InvalidSyntax(f"'schemas' must contain {dialect.search_schemas[0]}")
    return {k: v for k, v in body.items() if k != "schemas"}


SHORT_PAGE = 200  # users rendered by a read that may run on the event loop
SHORT_OFFSET = 1000  # rows an index page may skip and still be short
# The lookups identity providers make: an equality on an indexed, unique-ish column.
_INDEXED_EQUALITY = re.compile(
    r'[ \t]*(?:userName|externalId|id)[ \t]+eq[ \t]+"(?:[^"\\]|\\.)*"[ \t]*', re.IGNORECASE
)


def short_read(params: Mapping[str, str], settings: Settings, dialect: Dialect) -> bool:
    """Whether a users read costs the same at any directory size, judged from its query
    alone (api/deps.py runs such reads on the event loop): no sort, at most
    :data:`SHORT_PAGE` users from at most :data:`SHORT_OFFSET` deep (or a cursor), and no
    filter or an equality on ``userName``, ``externalId`` or ``id`` (index seeks). A read by
    id has no query and is short. Anything unparsable is not short: it runs in a thread and
    gets its error there."""
    q = {k.lower(): v for k, v in params.items()}
    if "sortby" in q:
        return False
    count = q.get("count")
    size = dialect.default_page_size or settings.default_page_size
    if count is not None:
        if not count.isdigit():
            return False
        size = int(count)
    start = q.get("startindex")
    if start is not None and not (start.isdigit() and int(start) <= SHORT_OFFSET):
        return False
    found = q.get("filter")
    return size <= SHORT_PAGE and (found is None or _INDEXED_EQUALITY.fullmatch(found) is not None)
