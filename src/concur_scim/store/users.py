"""The user repository: rows of ``users`` in, :class:`ResourceRecord` out.

Every function takes the caller's connection (the caller owns the transaction) and the
caller's ``company_id``; none commits. Uniqueness is enforced by the unique constraints,
which decide races between concurrent writers; a probe names the attribute that is taken
(after a create found a conflict, before an update that changes a unique attribute).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter_ast import And, Compare, Expr, Present
from concur_scim.scim.registry import CORE_USER, ENTERPRISE_USER, ResourceSchema, user_schema
from concur_scim.scim.text import storable_text
from concur_scim.store.errors import Conflict
from concur_scim.store.filter_sql import ColumnMap, Condition
from concur_scim.store.groups import touch_groups_of
from concur_scim.store.paging import ListQuery, row_to_record, run_list
from concur_scim.store.records import Page, ResourceRecord, utc
from concur_scim.store.tables import Document, group_members, user_extensions, users
from concur_scim.store.user_counts import add_live, live_users


def _schemas_condition(expr: Compare | Present) -> Condition:
    """``schemas eq "<urn>"``: the core URN always, the enterprise URN when its data exists."""
    if isinstance(expr, Present):
        return users.c.id.is_not(None)
    if expr.op != "eq" or not isinstance(expr.value, str):
        raise InvalidFilter("schemas supports only eq with a schema URN")
    urn = expr.value.lower()
    if urn == CORE_USER.lower():
        return users.c.id.is_not(None)
    if urn == ENTERPRISE_USER.lower():
        enterprise: ColumnElement[str] = users.c.doc[(ENTERPRISE_USER,)].as_string()
        return enterprise.is_not(None)
    return users.c.id.is_(None)


def _groups_condition(expr: Compare | Present) -> Condition:
    """``groups.value eq "<group id>"``: the user is a direct member of that group."""
    member = select(group_members.c.group_id).where(group_members.c.member_id == users.c.id)
    if isinstance(expr, Present):
        return exists(member)
    if expr.op != "eq" or not isinstance(expr.value, str):
        raise InvalidFilter("groups supports only eq with a group id")
    return exists(member.where(group_members.c.group_id == expr.value))


USER_COLUMNS = ColumnMap(
    doc=users.c.doc,
    resource_type="User",
    columns={
        "id": (users.c.id, False),
        "username": (users.c.user_name_key, True),
        "externalid": (users.c.external_id, False),
        "active": (users.c.active, False),
        "meta.created": (users.c.created, False),
        "meta.lastmodified": (users.c.last_modified, False),
        f"{ENTERPRISE_USER.lower()}:employeenumber": (users.c.employee_number, False),
    },
    special={"schemas": _schemas_condition, "groups.value": _groups_condition},
)


def user_name_key(user_name: str) -> str:
    """The case-folded form under which userName is unique (RFC 7643 §4.1.1)."""
    return user_name.lower()


_COLUMN_NAMES = (
    "user_name",
    "user_name_key",
    "external_id",
    "employee_number",
    "display_name",
    "active",
    "doc",
)


def _columns(doc: dict[str, Any]) -> dict[str, Any]:
    enterprise = doc.get(ENTERPRISE_USER) or {}
    return {
        "user_name": doc["userName"],
        "user_name_key": user_name_key(doc["userName"]),
        "external_id": doc.get("externalId"),
        "employee_number": enterprise.get("employeeNumber"),
        "display_name": doc.get("displayName"),
        "active": bool(doc.get("active", True)),
        "doc": doc,
    }


_UNIQUE_FIELDS = ("userName", "externalId", "employeeNumber")


def _check_unique(
    conn: Connection,
    company_id: str,
    cols: dict[str, Any],
    own_id: str,
    unchanged: Collection[str] = (),
) -> None:
    """Raise :class:`Conflict` naming the first unique attribute of ``cols`` that another
    user holds; ``unchanged`` names those the write keeps as they were (not probed). One
    SELECT for all of them, each condition an index seek."""
    probed = [
        field
        for field in _UNIQUE_FIELDS
        if field not in unchanged and (field == "userName" or cols[field_column(field)] is not None)
    ]
    if not probed:
        return
    checks = {
        "userName": users.c.user_name_key == cols["user_name_key"],
        "externalId": (users.c.company_id == company_id)
        & (users.c.external_id == cols["external_id"]),
        "employeeNumber": (users.c.company_id == company_id)
        & (users.c.employee_number == cols["employee_number"]),
    }
    taken = conn.execute(
        select(
            users.c.user_name_key, users.c.company_id, users.c.external_id, users.c.employee_number
        )
        .where(or_(*(checks[f] for f in probed)), users.c.id != own_id)
        .limit(len(probed))
    ).all()
    for field in probed:  # in the order of _UNIQUE_FIELDS: userName is reported first
        column = field_column(field)
        for row in taken:
            same_scope = field == "userName" or row.company_id == company_id
            if same_scope and getattr(row, column) == cols[column]:
                raise Conflict(field)


def field_column(field: str) -> str:
    """The column holding the unique attribute ``field``."""
    return {
        "userName": "user_name_key",
        "externalId": "external_id",
        "employeeNumber": "employee_number",
    }[field]


def _insert_statement(dialect: str) -> Any:
    """INSERT of a user that yields no row, instead of failing, when a unique attribute is
    taken (``ON CONFLICT DO NOTHING``, the same on PostgreSQL and SQLite ≥ 3.24), and
    answers the new row's ``seq``. Built once per dialect."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(users).on_conflict_do_nothing().returning(users.c.seq)


_INSERTS = {name: _insert_statement(name) for name in ("postgresql", "sqlite")}


def insert_user(
    conn: Connection, company_id: str, user_id: str, doc: dict[str, Any], now: datetime
) -> ResourceRecord:
    """Insert a new user; raises :class:`Conflict` when a unique attribute is taken.

    The insert comes first and the uniqueness probe only when it found a conflict, so a
    create costs one statement; the record is built from what was written (no re-read).
    """
    cols = _columns(doc)
    values = {
        "id": user_id,
        "company_id": company_id,
        "created": now,
        "last_modified": now,
        "version": 1,
        **cols,
    }
    try:
        seq = conn.execute(_INSERTS[conn.dialect.name], values).scalar()
    except IntegrityError:
        raise Conflict(None) from None
    if seq is None:  # a unique attribute is taken: say which
        _check_unique(conn, company_id, cols, user_id)
        raise Conflict(None)  # taken by a writer that has not committed yet
    add_live(conn, company_id, 1)
    at = utc(now)
    return ResourceRecord(
        id=user_id,
        company_id=company_id,
        seq=seq,
        doc=doc,
        created=at,
        last_modified=at,
        version=1,
    )


# Built once: every read by id and every write of a user runs one of them.
_BY_ID = select(users).where(
    users.c.id == bindparam("user_id"),
    users.c.company_id == bindparam("company_id"),
    users.c.deleted_at.is_(None),
)
_BY_ID_LOCKED = _BY_ID.with_for_update(key_share=True)
_UPDATE = (
    update(users)
    .where(users.c.id == bindparam("user_id"))
    .values(
        last_modified=bindparam("now"),
        version=users.c.version + 1,
        **{name: bindparam(name) for name in _COLUMN_NAMES},
    )
    .returning(users.c.version)
)


def get_user(
    conn: Connection, company_id: str, user_id: str, *, lock: bool = False
) -> ResourceRecord | None:
    """The live user ``user_id`` of ``company_id``, or None.

    ``lock``: hold the row until the transaction ends (PostgreSQL ``FOR NO KEY UPDATE``, the
    lock its UPDATE takes anyway; SQLite's writers are serialised already), so a version read
    to check ``If-Match`` is still the current one when the write happens.
    """
    query = _BY_ID_LOCKED if lock else _BY_ID
    row = conn.execute(query, {"user_id": user_id, "company_id": company_id}).first()
    return row_to_record(row) if row else None


def update_user(
    conn: Connection, record: ResourceRecord, doc: dict[str, Any], now: datetime
) -> ResourceRecord:
    """Store ``doc`` as the next version of ``record``; raises :class:`Conflict`.

    Only the unique attributes the write changes are probed; the record answered is built
    from what was written and the version the UPDATE returned (no re-read).
    """
    cols = _columns(doc)
    before = _columns(record.doc)
    unchanged = [f for f in _UNIQUE_FIELDS if cols[field_column(f)] == before[field_column(f)]]
    _check_unique(conn, record.company_id, cols, record.id, unchanged)
    try:
        version = conn.execute(_UPDATE, {"user_id": record.id, "now": now, **cols}).scalar_one()
    except IntegrityError:
        raise Conflict(None) from None
    return ResourceRecord(
        id=record.id,
        company_id=record.company_id,
        seq=record.seq,
        doc=doc,
        created=record.created,
        last_modified=utc(now),
        version=version,
    )


def delete_user(conn: Connection, company_id: str, user_id: str, now: datetime) -> bool:
    """Hard-delete the user and its group memberships; False if it did not exist."""
    deleted = conn.execute(
        delete(users)
        .where(users.c.id == user_id, users.c.company_id == company_id)
        .returning(users.c.deleted_at)
    ).first()
    if deleted is None:
        return False
    if deleted.deleted_at is None:  # it was live
        add_live(conn, company_id, -1)
    touch_groups_of(conn, user_id, now)
    conn.execute(delete(group_members).where(group_members.c.member_id == user_id))
    return True


def soft_delete_user(conn: Connection, record: ResourceRecord, now: datetime) -> None:
    """Mark the user deleted and inactive; the row and its document are kept.

    Its groups change version: the user no longer shows among their members.
    """
    touch_groups_of(conn, record.id, now)
    add_live(conn, record.company_id, -1)
    doc = {**record.doc, "active": False}
    conn.execute(
        update(users)
        .where(users.c.id == record.id)
        .values(
            deleted_at=now, active=False, doc=doc, last_modified=now, version=users.c.version + 1
        )
    )


# The lookup identity providers make before every write, ``userName eq "…"`` (idp-clients.md),
# as one statement built once: at most one row (userName is unique), an index seek on
# ``user_name_key``; what the general path (store/paging.py) would run for it, minus its
# construction.
_BY_USER_NAME = (
    select(users)
    .where(
        users.c.user_name_key == bindparam("key"),
        users.c.company_id == bindparam("company_id"),
        users.c.deleted_at.is_(None),
    )
    .limit(2)
)


def _user_name_lookup(query: ListQuery) -> str | None:
    """The userName of a plain first-page ``userName eq "…"`` query, else None."""
    expr = query.filter
    if (
        not isinstance(expr, Compare)
        or expr.op != "eq"
        or expr.path.attr.lower() != "username"
        or expr.path.sub is not None
        or (expr.path.urn is not None and expr.path.urn.lower() != CORE_USER.lower())
        or not isinstance(expr.value, str)
        or not storable_text(expr.value)
        or query.sort_by
        or query.offset
        or query.after_seq is not None
        or query.limit < 1
    ):
        return None
    return expr.value


# Below this many userNames with a ``userName sw`` prefix, a list reads them through the
# userName index and sorts them by ``seq``, rather than walking the company's users in
# ``seq`` order until a page matches (see :func:`_user_name_range`).
NARROW_PREFIX = 2000
_IS_USER_NAME = {"username", f"{CORE_USER.lower()}:username"}
_NAME_PROBE = select(func.count()).select_from(
    select(literal(1))
    .where(users.c.user_name_key >= bindparam("low"), users.c.user_name_key < bindparam("high"))
    .limit(NARROW_PREFIX)
    .subquery()
)


def _prefix_of(expr: Expr | None) -> str | None:
    """The value of a ``userName sw "…"`` that ``expr`` requires (itself or a conjunct)."""
    if isinstance(expr, And):
        return _prefix_of(expr.left) or _prefix_of(expr.right)
    if (
        isinstance(expr, Compare)
        and expr.op == "sw"
        and expr.path.sub is None
        and (f"{expr.path.urn}:{expr.path.attr}" if expr.path.urn else expr.path.attr).lower()
        in _IS_USER_NAME
        and isinstance(expr.value, str)
        and expr.value
        and storable_text(expr.value)
    ):
        return expr.value
    return None


def _user_name_range(expr: Expr | None) -> tuple[str, str] | None:
    """The ``user_name_key`` range ``[low, high)`` holding every userName a ``userName sw``
    filter can match (keys are lower-cased, and SQLite's and PostgreSQL's text order is
    code point order for them), or None. Added to the query, the range lets an index
    search find the prefix instead of a ``LIKE`` test on every row."""
    prefix = _prefix_of(expr)
    if prefix is None:
        return None
    low = user_name_key(prefix)
    last = ord(low[-1]) + 1
    if last > 0x10FFFF or 0xD800 <= last <= 0xDFFF:
        return None  # no next code point to end the range with: the LIKE alone decides
    return low, low[:-1] + chr(last)


def list_users(conn: Connection, company_id: str, query: ListQuery) -> Page:
    """A page of live users of ``company_id`` matching ``query``.

    A ``userName sw`` filter is bounded by its ``user_name_key`` range. On SQLite, which
    keeps no statistics, the planner would still walk the company's users in ``seq``
    order (the order of every page) and test each one, reading every user of a company
    for a prefix few share (bench/README.md, "Console at 1,000,000 users"); when the
    userName index holds fewer than :data:`NARROW_PREFIX` keys in the range (one bounded
    index probe), the company condition is written so that its index cannot be used, and
    the range is read instead. A broad prefix keeps the ``seq`` walk, which then soon
    finds its page. PostgreSQL gets the range and chooses with its statistics."""
    user_name = _user_name_lookup(query)
    if user_name is not None:
        params = {"key": user_name_key(user_name), "company_id": company_id}
        records = [row_to_record(r) for r in conn.execute(_BY_USER_NAME, params)]
        total = len(records) if query.want_total else None
        return Page(records=records[: query.limit], total=total, next_seq=None)
    scope: list[Condition] = [users.c.company_id == company_id, users.c.deleted_at.is_(None)]
    bounds = _user_name_range(query.filter)
    if bounds is not None:
        low, high = bounds
        key_range = [users.c.user_name_key >= low, users.c.user_name_key < high]
        if conn.dialect.name != "sqlite":
            scope += key_range  # the planner's statistics choose between the two indexes
        elif conn.execute(_NAME_PROBE, {"low": low, "high": high}).scalar_one() < NARROW_PREFIX:
            # ``company_id || ''``: the same test, through no index, so the range is read.
            scope = [users.c.company_id.concat("") == company_id, scope[1], *key_range]
    return run_list(
        conn,
        users,
        scope,
        query,
        resource=user_schema(),
        cmap=USER_COLUMNS,
        unfiltered_total=partial(live_users, conn, company_id),
    )


def list_users_across(
    conn: Connection,
    company_id: str,
    query: ListQuery,
    *,
    resource: ResourceSchema,
    extensions: Collection[str],
) -> Page:
    """:func:`list_users` whose filter may also name attributes of the downstream
    extensions ``extensions`` (URNs of ``resource``, kept in ``user_extensions``).

    Each such attribute is read from the user's row of that URN, a correlated subquery by
    primary key; a user without the row reads as absent attributes (``ne`` and ``not``
    match it, as in the spend list). ``resource`` is the identity schemas plus those
    extensions.
    """
    docs = {
        urn.lower(): type_coerce(
            select(user_extensions.c.doc)
            .where(
                user_extensions.c.user_id == users.c.id,
                user_extensions.c.urn == urn,
                user_extensions.c.company_id == company_id,
            )
            .correlate(users)
            .scalar_subquery(),
            Document,
        )
        for urn in extensions
    }
    cmap = replace(USER_COLUMNS, extension_docs=docs)
    scope = [users.c.company_id == company_id, users.c.deleted_at.is_(None)]
    return run_list(
        conn,
        users,
        scope,
        query,
        resource=resource,
        cmap=cmap,
        unfiltered_total=partial(live_users, conn, company_id),
    )


def find_by_user_name(conn: Connection, user_name: str) -> ResourceRecord | None:
    """The live user whose userName is ``user_name`` (case-insensitive), in any company.

    userName is unique across companies (Concur: LoginId is unique across all of Concur), so
    the User v1.0 dialect can tell a login taken elsewhere from a free one.
    """
    row = conn.execute(
        select(users).where(
            users.c.user_name_key == user_name_key(user_name), users.c.deleted_at.is_(None)
        )
    ).first()
    return row_to_record(row) if row else None


def find_by_employee_number(
    conn: Connection, company_id: str, employee_number: str
) -> ResourceRecord | None:
    """The live user of ``company_id`` with enterprise ``employeeNumber`` ``employee_number``."""
    row = conn.execute(
        select(users).where(
            users.c.company_id == company_id,
            users.c.employee_number == employee_number,
            users.c.deleted_at.is_(None),
        )
    ).first()
    return row_to_record(row) if row else None
