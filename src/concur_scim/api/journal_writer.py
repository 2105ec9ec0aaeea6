"""The request journal's writer: ``request_log`` rows written in batches by one thread.

The audit middleware (api/audit.py) hands each journaled exchange to
:meth:`JournalWriter.submit` once its response is complete and goes on at once: no thread
hop and no transaction on the request's path. The writer thread waits
:data:`LINGER_SECONDS` after the first row of a batch, for the rows of concurrent requests
to join it, then turns what it was handed into rows (the redacted body summaries are
computed there) and inserts them in one transaction: a write costs a share of one
transaction and of one wake-up of the thread instead of its own. A company is pruned to its
newest ``CONCUR_SCIM_REQUEST_LOG_KEEP`` rows once it has a tenth of that many new ones, so
it holds between N and N + N/10 rows (exactly N for N < 10).

Contract:

* :meth:`flush` returns once every row submitted before the call is written (or dropped
  after a failure), cutting the wait short: the admin API's journal and the tests read
  after it.
* Rows are written within :data:`LINGER_SECONDS` and a transaction, in submission order. A
  row that cannot be stored is logged and dropped, never raised (the audit trail must not
  fail a request); a batch that fails is retried row by row, so one bad row does not take
  the others with it.
* At most :data:`MAX_PENDING` rows wait; past that (the database is down) new ones are
  dropped with a warning rather than holding memory without bound.
* :meth:`close` writes what is waiting and stops the thread (the lifespan's shutdown). Rows
  still waiting when the process is killed (SIGKILL) are lost; the audit log line of each
  write (api/audit.py) is emitted before the row is queued.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from concur_scim.store.db import unit_of_work
from concur_scim.store.request_log import RequestLogEntry, add_requests

log = logging.getLogger("concur_scim.audit")

THREAD_NAME = "journal-writer"
MAX_BATCH = 500
MAX_PENDING = 20_000
LINGER_SECONDS = 0.05  # how long the first waiting row waits for others to join its batch
PRUNE_FRACTION = 10  # a company is pruned once it has keep // 10 new rows (at least 1)

# What the middleware submits: builds the row in the writer thread (None: nothing to store).
EntryBuilder = Callable[[], RequestLogEntry | None]


@dataclass(frozen=True)
class _Flush:
    """A marker: set ``done`` once everything queued before it is written."""

    done: threading.Event


_STOP = object()
_WRITERS: weakref.WeakSet[JournalWriter] = weakref.WeakSet()


def flush_all(timeout: float = 30.0) -> None:
    """:meth:`JournalWriter.flush` every writer of this process (a process with several
    applications, such as a test run, reading ``request_log`` directly)."""
    for writer in list(_WRITERS):
        writer.flush(timeout)


class JournalWriter:
    """One writer thread per application (see the module doc)."""

    def __init__(self, engine: Engine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._unpruned: dict[str, int] = {}  # rows written per company since its last prune
        self._hurry = threading.Event()  # set by flush and close: stop lingering
        _WRITERS.add(self)

    def submit(self, build: EntryBuilder) -> None:
        """Queue one row (built by ``build`` in the writer thread); never blocks or raises."""
        with self._lock:
            if self._closed:
                return
            if self._pending >= MAX_PENDING:
                log.warning("request journal row dropped: %d rows are waiting", self._pending)
                return
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                self._thread.start()
        self._queue.put(build)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every row submitted before the call is written; False on timeout."""
        with self._lock:
            if self._thread is None or self._closed:
                return True
        marker = _Flush(threading.Event())
        self._queue.put(marker)
        self._hurry.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        self._queue.put(_STOP)
        self._hurry.set()
        thread.join(timeout)

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            if not isinstance(items[0], _Flush) and items[0] is not _STOP:
                # Let the rows of concurrent requests gather: one transaction for them all,
                # and one wake-up of this thread instead of one per row. A flush cuts it short.
                self._hurry.wait(LINGER_SECONDS)
                self._hurry.clear()
            while len(items) < MAX_BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            builders: list[EntryBuilder] = [i for i in items if callable(i)]
            if builders:
                self._write(builders)
                with self._lock:
                    self._pending -= len(builders)
            for item in items:
                if isinstance(item, _Flush):
                    item.done.set()
            if any(item is _STOP for item in items):
                return

    def _write(self, builders: list[EntryBuilder]) -> None:
        entries: list[RequestLogEntry] = []
        for build in builders:
            try:
                entry = build()
            except Exception:
                log.exception("request journal row not built")
                continue
            if entry is not None:
                entries.append(entry)
        if not entries:
            return
        try:
            self._store(entries)
        except Exception:
            if len(entries) == 1:
                log.exception(
                    "request log row not stored (correlation id %s)", entries[0].correlation_id
                )
                return
            for entry in entries:  # one bad row must not take the batch with it
                try:
                    self._store([entry])
                except Exception:
                    log.exception(
                        "request log row not stored (correlation id %s)", entry.correlation_id
                    )

    def _store(self, entries: list[RequestLogEntry]) -> None:
        # Prune a company once it has a tenth of ``keep`` new rows: a DELETE per write would
        # cost more than the write itself.
        every = max(1, self._keep // PRUNE_FRACTION)
        due = []
        for entry in entries:
            written = self._unpruned.get(entry.company_id, 0) + 1
            self._unpruned[entry.company_id] = written
            if written >= every and entry.company_id not in due:
                due.append(entry.company_id)
        with unit_of_work(self._engine, write=True) as conn:
            add_requests(conn, entries, keep=self._keep, prune=due)
        for company_id in due:
            self._unpruned[company_id] = 0
