"""The extension repository: one row of ``user_extensions`` per (user, downstream URN).

Concur keeps spend, payroll and travel data in services apart from identity (DESIGN
"Data"); so does this store. A row's ``doc`` is the extension's own object, not nested under
its URN. Every function takes the caller's connection (the caller owns the transaction) and
the caller's ``company_id``; none commits. A user's rows go with the user: the foreign key
cascades on the hard delete of ``store/users.py: delete_user``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from concur_scim.scim.filter_ast import Expr
from concur_scim.scim.registry import ResourceSchema, SchemaDef
from concur_scim.store.filter_sql import ColumnMap, compile_filter
from concur_scim.store.records import utc
from concur_scim.store.tables import user_extensions, users


@dataclass(frozen=True)
class ExtensionRecord:
    """One stored extension document of one user, with its own timestamps and version."""

    user_id: str
    urn: str
    doc: dict[str, Any]
    created: datetime
    last_modified: datetime
    version: int


@dataclass(frozen=True)
class UserStamp:
    """A user listed by an extension view: its id and when its identity last changed."""

    id: str
    last_modified: datetime


@dataclass(frozen=True)
class UserPage:
    """One page of users for an extension view, with the total number of matches."""

    users: list[UserStamp]
    total: int


def _record(row: Any) -> ExtensionRecord:
    return ExtensionRecord(
        user_id=row.user_id,
        urn=row.urn,
        doc=dict(row.doc),
        created=utc(row.created),
        last_modified=utc(row.last_modified),
        version=row.version,
    )


def _upsert(dialect: Any, *, returning: bool = True) -> Any:
    """``INSERT … ON CONFLICT (user_id, urn) DO UPDATE [… RETURNING *]`` for one dialect."""
    columns = ("user_id", "urn", "company_id", "doc", "created", "last_modified", "version")
    insert = dialect.insert(user_extensions).values({c: bindparam(c) for c in columns})
    upsert = insert.on_conflict_do_update(
        index_elements=[user_extensions.c.user_id, user_extensions.c.urn],
        set_={
            "doc": insert.excluded.doc,
            "last_modified": insert.excluded.last_modified,
            "version": user_extensions.c.version + 1,
        },
    )
    return upsert.returning(*user_extensions.c) if returning else upsert


# Built once: the provisioning worker writes several rows per operation, and building these
# statements per call cost more than running them (bench/README.md).
_UPSERTS = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
_UPSERTS_MANY = {
    "postgresql": _upsert(postgresql, returning=False),
    "sqlite": _upsert(sqlite, returning=False),
}
_GET_ONE = select(user_extensions).where(
    user_extensions.c.user_id == bindparam("user_id"),
    user_extensions.c.urn == bindparam("urn"),
    user_extensions.c.company_id == bindparam("company_id"),
)
_GET_OF_USER = select(user_extensions).where(
    user_extensions.c.user_id == bindparam("user_id"),
    user_extensions.c.company_id == bindparam("company_id"),
)
_DELETE_ONE = delete(user_extensions).where(
    user_extensions.c.user_id == bindparam("user_id"),
    user_extensions.c.urn == bindparam("urn"),
    user_extensions.c.company_id == bindparam("company_id"),
)


def put_extension(
    conn: Connection, company_id: str, user_id: str, urn: str, doc: dict[str, Any], now: datetime
) -> ExtensionRecord:
    """Insert or replace the ``urn`` document of ``user_id`` (one upsert statement).

    A replaced row keeps ``created`` and gets the next version. The caller has checked that
    the user is a live user of ``company_id``; ``INSERT … ON CONFLICT`` settles two
    concurrent writers of the same row on both backends.
    """
    values = {
        "user_id": user_id,
        "urn": urn,
        "company_id": company_id,
        "doc": doc,
        "created": now,
        "last_modified": now,
        "version": 1,
    }
    statement = _UPSERTS["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    return _record(conn.execute(statement, values).one())


def put_extensions(
    conn: Connection,
    company_id: str,
    user_id: str,
    docs: dict[str, dict[str, Any]],
    now: datetime,
) -> None:
    """:func:`put_extension` for several URNs of one user at once (one ``executemany``,
    nothing read back): the provisioning worker's write of one operation's extensions."""
    if not docs:
        return
    statement = _UPSERTS_MANY["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    conn.execute(
        statement,
        [
            {
                "user_id": user_id,
                "urn": urn,
                "company_id": company_id,
                "doc": doc,
                "created": now,
                "last_modified": now,
                "version": 1,
            }
            for urn, doc in docs.items()
        ],
    )


def get_extension(
    conn: Connection, company_id: str, user_id: str, urn: str
) -> ExtensionRecord | None:
    """The ``urn`` row of ``user_id``, or None."""
    row = conn.execute(_GET_ONE, {"user_id": user_id, "urn": urn, "company_id": company_id}).first()
    return _record(row) if row else None


def get_user_extensions(
    conn: Connection, company_id: str, user_id: str
) -> dict[str, ExtensionRecord]:
    """Every extension row of ``user_id`` by URN, in one read."""
    rows = conn.execute(_GET_OF_USER, {"user_id": user_id, "company_id": company_id})
    return {row.urn: _record(row) for row in rows}


def get_extension_records(
    conn: Connection, company_id: str, user_ids: Collection[str], urns: Collection[str]
) -> dict[str, dict[str, ExtensionRecord]]:
    """The ``urns`` rows of ``user_ids`` in one query: user id → URN → record.

    Users with none of those rows are absent from the result.
    """
    if not user_ids or not urns:
        return {}
    rows = conn.execute(
        select(user_extensions).where(
            user_extensions.c.company_id == company_id,
            user_extensions.c.user_id.in_(list(user_ids)),
            user_extensions.c.urn.in_(list(urns)),
        )
    )
    found: dict[str, dict[str, ExtensionRecord]] = {}
    for row in rows:
        found.setdefault(row.user_id, {})[row.urn] = _record(row)
    return found


def get_extensions(
    conn: Connection, company_id: str, user_ids: Collection[str], urns: Collection[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The ``urns`` documents of ``user_ids`` in one query: user id → URN → document."""
    records = get_extension_records(conn, company_id, user_ids, urns)
    return {
        user: {urn: record.doc for urn, record in by_urn.items()}
        for user, by_urn in records.items()
    }


def delete_extension(conn: Connection, company_id: str, user_id: str, urn: str) -> bool:
    """Remove the ``urn`` document of ``user_id``; False if there was none."""
    result = conn.execute(_DELETE_ONE, {"user_id": user_id, "urn": urn, "company_id": company_id})
    return bool(result.rowcount)


def list_extension_users(
    conn: Connection,
    company_id: str,
    schema: SchemaDef,
    *,
    filter_expr: Expr | None = None,
    offset: int = 0,
    limit: int = 100,
) -> UserPage:
    """A page of the live users of ``company_id`` in creation order, with the total count.

    Every user is listed, whether or not it has a ``schema.urn`` row. ``filter_expr`` is compiled
    against the JSON of that row (a LEFT OUTER JOIN, so an absent row reads as absent
    attributes: ``ne`` matches it, ``eq`` does not); its attribute paths must name
    attributes of ``schema``, else InvalidFilter (400). Values are bound parameters.
    """
    conditions = [users.c.company_id == company_id, users.c.deleted_at.is_(None)]
    source: Any = users
    if filter_expr is not None:
        ext = user_extensions.alias("ext")
        source = users.outerjoin(
            ext,
            and_(
                ext.c.user_id == users.c.id,
                ext.c.urn == schema.urn,
                ext.c.company_id == company_id,
            ),
        )
        resource = ResourceSchema(
            name="User", endpoint="/Users", core=schema, extensions=(), models=()
        )
        cmap = ColumnMap(doc=ext.c.doc, resource_type="User", columns={})
        conditions.append(compile_filter(filter_expr, resource, cmap, conn.dialect.name))
    total = conn.execute(select(func.count()).select_from(source).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(users.c.id, users.c.last_modified)
        .select_from(source)
        .where(*conditions)
        .order_by(users.c.seq)
        .offset(offset)
        .limit(limit)
    )
    stamps = [UserStamp(id=r.id, last_modified=utc(r.last_modified)) for r in rows]
    return UserPage(users=stamps, total=total)
