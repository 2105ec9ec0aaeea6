"""Engine construction and the unit of work.

The caller owns the transaction (DESIGN "Layers"): a request dependency or the worker opens
:func:`unit_of_work`; repositories only execute and flush. On SQLite the engine runs in WAL
mode with a busy timeout, and a unit of work opened for writing starts with ``BEGIN
IMMEDIATE`` so that two writers queue on the busy timeout instead of one failing with
``SQLITE_BUSY`` when it upgrades a read transaction to a write.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from concur_scim import json_codec

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 44


def create_db_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` configured for this server's access pattern."""
    url = make_url(database_url)
    codec: dict[str, Any] = {
        "json_serializer": json_codec.dumps_text,
        "json_deserializer": json_codec.loads,
    }
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True, **codec)

    memory = url.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        poolclass=StaticPool if memory else None,
        # As many connections as threads can use them (anyio's pool of 40 runs the routes,
        # plus the worker's): with fewer, connections are opened and closed under load.
        **({} if memory else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 8}),
        **codec,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own implicit
        # BEGIN is deferred, which is what makes read-then-write transactions fail).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # LIKE must honour caseExact; case-insensitive comparisons lower() both sides.
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("concur_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (a setting of the file: the first connection does it).

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without waiting, while another connection is opening or migrating a new file; so the
    current mode is read first and the switch retried until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as busy:
            if "locked" not in str(busy) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


_WRITE_LOCKS: dict[int, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> AbstractContextManager[object]:
    """The in-process queue for SQLite writers of ``engine`` (a no-op on PostgreSQL).

    SQLite admits one writer at a time. Writers of one process that wait in SQLite's busy
    handler sleep and retry with growing intervals, which gave a 1-2 s p99 at 8 concurrent
    writers (bench/README.md); waiting on a lock instead hands the database over as soon as
    it is free. Other processes (``--workers N``) still meet at SQLite's own lock.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _sqlite_write_lock(engine)


def _sqlite_write_lock(engine: Engine) -> threading.Lock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(id(engine), threading.Lock())


@contextmanager
def unit_of_work(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction: committed when the block ends normally, rolled back on any error.

    ``write=True`` takes the write lock up front (SQLite ``BEGIN IMMEDIATE``, queued behind the
    process's other writers); on PostgreSQL it changes nothing.
    """
    with (
        _write_lock(engine) if write else nullcontext(),
        engine.connect() as raw,
    ):
        conn = raw.execution_options(concur_write=write) if write else raw
        with conn.begin():
            yield conn
