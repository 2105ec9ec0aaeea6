"""Load N users straight into a migrated concur-scim database, fast.

Not a test and not a server path: a data generator for scale benchmarks (``bench/scale.py``).
It writes rows of ``users`` with SQLAlchemy Core ``executemany`` in batches, one transaction
per batch, bypassing the service layer, yet in exactly the form
``concur_scim.services.users.create_user`` stores: the same document (the normalized POST
body, core + enterprise extension, ``schemas`` left out, ``active`` set), the same index key
columns (``user_name_key``, ``external_id``, ``employee_number``, ``display_name``,
``active``), ``version`` 1, ``seq`` assigned by the database. The enterprise extension lives in
``users.doc``; ``create_user`` writes no ``user_extensions`` row, so neither does this.

Before loading, it proves that claim on a few sample users: each is created through the real
``create_user`` in a transaction that is rolled back, and its stored row must equal the row
this generator builds for the same index (every column but ``seq``, ``id`` and timestamps).

    .venv/bin/python bench/load_users.py --database-url sqlite:////tmp/scim.db --users 1000000

Options: ``--database-url`` (SQLite file or PostgreSQL URL; migrated first), ``--users N``,
``--batch B`` rows per transaction, ``--company ID`` (default: the database's default
company, created if the database has none), ``--prefix P`` (userName is
``P-<i>@example.com``; default a random one, printed), ``--start I`` (first index).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from _common import user_doc
from sqlalchemy import Connection, Engine, select
from sqlalchemy.engine import make_url

from concur_scim.scim.registry import ENTERPRISE_USER
from concur_scim.services import users as user_service
from concur_scim.services.common import system_clock
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade
from concur_scim.store.tables import users
from concur_scim.store.user_counts import recount

# Columns whose value differs between two stores of the same user by design.
VOLATILE = ("seq", "id", "created", "last_modified")


# The POST /Users body of user ``i``: the shape bench/run.py and compare.py post.
user_payload = user_doc


def user_name(prefix: str, i: int) -> str:
    """userName of user ``i`` (what a lookup filters on)."""
    return f"{prefix}-{i}@example.com"


def new_id() -> str:
    """A random (version 4) UUID string, as ``str(uuid.uuid4())`` gives, at a fraction of
    its cost: 16 random bytes with the version and variant bits set."""
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def user_row(prefix: str, i: int, company_id: str, now: datetime) -> dict[str, Any]:
    """The ``users`` row of user ``i``, as ``store.users.insert_user`` writes it.

    The stored document is the normalized body: for this body normalization keeps every
    attribute, in order, and drops only ``schemas`` (checked by :func:`check_rows`). The key
    columns mirror ``store.users._columns``.
    """
    given = f"Given{i}"
    family = f"Family{i % 977}"
    name = f"{prefix}-{i}@example.com"
    display = f"{given} {family}"
    external = f"{prefix}-ext-{i}"
    employee = f"{prefix}-E{i}"
    doc = {
        "userName": name,
        "externalId": external,
        "name": {"givenName": given, "familyName": family, "formatted": display},
        "displayName": display,
        "title": "Engineer",
        "active": True,
        "emails": [{"value": name, "type": "work", "primary": True}],
        "phoneNumbers": [{"value": f"+1 555 {i:07d}", "type": "work"}],
        ENTERPRISE_USER: {
            "employeeNumber": employee,
            "department": f"Dept {i % 37}",
            "costCenter": f"CC{i % 101}",
        },
    }
    return {
        "id": new_id(),
        "company_id": company_id,
        "user_name": name,
        "user_name_key": name.lower(),
        "external_id": external,
        "employee_number": employee,
        "display_name": display,
        "active": True,
        "created": now,
        "last_modified": now,
        "version": 1,
        "deleted_at": None,
        "doc": doc,
    }


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in VOLATILE}
    # Key order is part of the stored JSON text: compare the serialized form too.
    out["doc"] = json.dumps(out["doc"])
    return out


def check_rows(engine: Engine, company_id: str, prefix: str, indices: list[int]) -> None:
    """Create each sample user through ``create_user`` (rolled back) and compare rows."""
    for i in indices:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                record = user_service.create_user(
                    conn, company_id, user_payload(prefix, i), clock=system_clock
                )
                stored = conn.execute(select(users).where(users.c.id == record.id)).one()
            finally:
                trans.rollback()
        real = _comparable(dict(stored._mapping))
        fast = _comparable(user_row(prefix, i, company_id, system_clock()))
        if real != fast:
            diff = {k: (real.get(k), fast.get(k)) for k in real.keys() | fast.keys()}
            diff = {k: v for k, v in diff.items() if v[0] != v[1]}
            raise SystemExit(f"generator row of user {i} differs from create_user's: {diff}")


def _tune(conn: Connection) -> None:
    """Bulk-load settings of this connection only (the stored data is unaffected)."""
    if conn.dialect.name == "sqlite":
        # On the DB-API connection: outside the transaction SQLAlchemy would begin.
        raw: Any = conn.connection.dbapi_connection
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute("PRAGMA cache_size=-262144")  # 256 MiB of page cache
        raw.execute("PRAGMA temp_store=MEMORY")


def batches(
    prefix: str, start: int, count: int, size: int, company_id: str
) -> Iterator[list[dict[str, Any]]]:
    """Rows of users ``start`` .. ``start + count - 1``, ``size`` at a time."""
    end = start + count
    for first in range(start, end, size):
        now = datetime.now(UTC)
        yield [user_row(prefix, i, company_id, now) for i in range(first, min(first + size, end))]


def load(
    database_url: str,
    count: int,
    *,
    prefix: str,
    start: int = 0,
    batch: int = 10_000,
    company: str | None = None,
    check: int = 3,
    quiet: bool = False,
) -> tuple[str, float]:
    """Migrate, check the row format, load ``count`` users; returns (company id, seconds)."""
    upgrade(database_url)
    engine = create_db_engine(database_url)
    try:
        with unit_of_work(engine, write=True) as conn:
            company_id = company or ensure_default_company(conn, None, system_clock())
        if check:
            samples = sorted({start, start + count - 1, start + count // 2})[:check]
            check_rows(engine, company_id, prefix, samples)
        began = time.perf_counter()
        done = 0
        insert = users.insert()
        with engine.connect() as conn:
            _tune(conn)
            for rows in batches(prefix, start, count, batch, company_id):
                with conn.begin():
                    conn.execute(insert, rows)
                done += len(rows)
                if not quiet and (done % max(batch, 100_000) < batch or done == count):
                    elapsed = time.perf_counter() - began
                    print(f"  {done:>9,} users  {elapsed:7.1f} s  {done / elapsed:9,.0f} users/s")
        with unit_of_work(engine, write=True) as conn:
            recount(conn, company_id)  # the live-user count the store keeps (user_counts)
        seconds = time.perf_counter() - began
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                # No ANALYZE: a database grown through the API has no planner statistics.
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return company_id, seconds
    finally:
        engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="SQLite or PostgreSQL URL")
    parser.add_argument("--users", type=int, default=1_000_000, help="how many (1000000)")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per transaction (10000)")
    parser.add_argument("--company", help="company id (default: the database's default company)")
    parser.add_argument("--prefix", help="userName prefix (default: a random one)")
    parser.add_argument("--start", type=int, default=0, help="first user index (0)")
    parser.add_argument(
        "--check", type=int, default=3, help="sample users checked against create_user (3)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prefix = args.prefix or f"load{secrets.token_hex(3)}"
    url = make_url(args.database_url)
    print(f"loading {args.users:,} users into {url.render_as_string()} (prefix {prefix!r})")
    company_id, seconds = load(
        args.database_url,
        args.users,
        prefix=prefix,
        start=args.start,
        batch=args.batch,
        company=args.company,
        check=args.check,
    )
    rate = args.users / seconds if seconds else 0.0
    print(f"company {company_id}: {args.users:,} users in {seconds:.1f} s = {rate:,.0f} users/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
