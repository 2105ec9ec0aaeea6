"""List queries shared by the user and group repositories: filter, sort, page, count.

Index paging (RFC 7644 §3.4.2.4) is OFFSET/LIMIT over a stable order (the sort key, then
``seq``). Cursor paging (RFC 9865) is a keyset on ``seq``: a page costs the same at any depth
and at any table size, because it is an index range scan from the cursor; its total count is
omitted unless asked for, since counting is the one part that grows with the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, select

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter_ast import Expr
from concur_scim.scim.registry import ResourceSchema
from concur_scim.store.filter_sql import ColumnMap, Condition, compile_filter
from concur_scim.store.records import Page, ResourceRecord, utc


@dataclass(frozen=True)
class ListQuery:
    """What a list or search asks for, already validated by the service layer."""

    filter: Expr | None = None
    sort_by: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 100
    after_seq: int | None = None
    cursor: bool = False
    want_total: bool = True


def row_to_record(row: Any) -> ResourceRecord:
    """A table row as a :class:`ResourceRecord` (SQLite datetimes come back naive)."""
    return ResourceRecord(
        id=row.id,
        company_id=row.company_id,
        seq=row.seq,
        doc=dict(row.doc),
        created=utc(row.created),
        last_modified=utc(row.last_modified),
        version=row.version,
    )


def run_list(
    conn: Connection,
    table: Table,
    scope: list[Condition],
    query: ListQuery,
    *,
    resource: ResourceSchema,
    cmap: ColumnMap,
    unfiltered_total: Callable[[], int] | None = None,
) -> Page:
    """Run ``query`` over ``table`` within ``scope`` (company, not deleted).

    ``unfiltered_total``: the number of rows in ``scope``, kept by the caller's store
    (store/user_counts.py), used instead of a count when the query has no filter."""
    dialect = conn.dialect.name
    conditions = list(scope)
    if query.filter is not None:
        conditions.append(compile_filter(query.filter, resource, cmap, dialect))
    counted = unfiltered_total if query.filter is None else None
    if query.limit == 0:
        total = _count(conn, table, conditions, query, counted)
        return Page(records=[], total=total, next_seq=None)
    order: list[Any] = []
    if query.sort_by:
        key = sort_expression(query.sort_by, resource, cmap)
        order.append(key.desc() if query.descending else key.asc())
    order.append(table.c.seq.desc() if query.descending and not query.cursor else table.c.seq)
    stmt = select(table).where(*conditions)
    if query.after_seq is not None:
        stmt = stmt.where(table.c.seq > query.after_seq)
    stmt = stmt.order_by(*order).offset(query.offset).limit(query.limit + 1)
    rows = conn.execute(stmt).all()
    more = len(rows) > query.limit
    records = [row_to_record(r) for r in rows[: query.limit]]
    next_seq = records[-1].seq if (more and query.cursor and records) else None
    if not query.want_total:
        total = None
    elif not more and query.after_seq is None and (rows or not query.offset):
        # The page holds the end of the list, so the total is known without counting: the
        # lookup an identity provider makes before every write (``userName eq``) costs one
        # index seek, not two. Same transaction, so the same snapshot as a count would see.
        total = query.offset + len(rows)
    else:
        total = _count(conn, table, conditions, query, counted)
    return Page(records=records, total=total, next_seq=next_seq)


def _count(
    conn: Connection,
    table: Table,
    conditions: list[Any],
    query: ListQuery,
    counted: Callable[[], int] | None,
) -> int | None:
    """The number of rows matching ``conditions`` (the whole list, whatever the page):
    ``counted()`` when the store keeps it, else a count."""
    if not query.want_total:
        return None
    if counted is not None:
        return counted()
    total: int = conn.execute(
        select(func.count()).select_from(table).where(*conditions)
    ).scalar_one()
    return total


def sort_expression(path: str, resource: ResourceSchema, cmap: ColumnMap) -> Any:
    """The ORDER BY key for ``sortBy`` (RFC 7644 §3.4.2.3); raises InvalidFilter if unknown.

    Multi-valued attributes sort by their first value; case-insensitive attributes sort on
    ``lower()``. Unassigned values sort as NULLs do on the backend.
    """
    schema, rest = resource.split_urn(path.strip())
    head, _, sub_name = rest.partition(".")
    attr = schema.attribute(head)
    if attr is None:
        raise InvalidFilter(f"cannot sort by unknown attribute '{path}'")
    sub = attr.sub(sub_name) if sub_name else None
    if sub_name and sub is None:
        raise InvalidFilter(f"cannot sort by unknown attribute '{path}'")
    if attr.type == "complex" and sub is None:
        sub = attr.sub("value")
        if sub is None:
            raise InvalidFilter(f"cannot sort by complex attribute '{path}'")
    key = attr.name.lower() + (f".{sub.name.lower()}" if sub else "")
    if schema is not resource.core:
        key = f"{schema.urn.lower()}:{key}"
    if key in cmap.columns:
        col, folded = cmap.columns[key]
        target = sub or attr
        return col if folded or target.case_exact or target.type != "string" else func.lower(col)
    if key.startswith("meta.") or attr.name == "id":
        raise InvalidFilter(f"cannot sort by '{path}'")
    keys: tuple[Any, ...] = (attr.name,) if schema is resource.core else (schema.urn, attr.name)
    if attr.multi_valued:
        keys = (*keys, 0)
    if sub is not None:
        keys = (*keys, sub.name)
    target = sub or attr
    value = cmap.doc[keys].as_string()
    return value if target.case_exact else func.lower(value)
