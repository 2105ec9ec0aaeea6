"""The provisioning worker: claims pending UPS requests from the database and resolves them.

One :class:`Worker` runs inside every ``concur-scim serve`` process by default (a thread; one
process and SQLite need nothing else) and as ``concur-scim worker`` processes for scale-out
(DESIGN "Scaling out"). Workers coordinate only through the database: a request is claimed
under a lease that every chunk of operations renews (``services/provisioning.py``); a
worker that dies leaves a lease that expires, and the next worker to claim the request
resumes it where the results on record say it stopped (a chunk is atomic: the one in hand
when it died left nothing).

:meth:`Worker.stop` (SIGTERM in ``concur-scim worker``) stops claiming; the operation in
hand is finished and committed with what its chunk had done, and the lease is given back
in the same transaction so another worker can go on at once.
Housekeeping (timeouts, status retention, reference/concur-v4.md §3.2) runs in every worker
on a timer; it is idempotent, so several workers doing it is harmless. While the admin API's
``worker_paused`` flag is set (a row, so every process sees it) workers claim nothing; a
request in hand is finished.

Every worker also runs a :class:`~concur_scim.services.webhooks.WebhookDeliverer` thread
while :meth:`Worker.run` runs, so provisionCompleted webhooks are delivered wherever
provisioning is (the embedded worker and ``concur-scim worker`` processes alike); its POSTs
never hold up provisioning.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from concur_scim.config import Settings
from concur_scim.services import faults, provisioning
from concur_scim.services.common import Clock, system_clock
from concur_scim.services.provisioning import Lease, LeaseLost
from concur_scim.services.webhooks import WebhookDeliverer
from concur_scim.store import provisions as store
from concur_scim.store.db import unit_of_work

log = logging.getLogger("concur_scim.worker")
THREAD_NAME = "provisioning-worker"  # the embedded worker's thread


class Worker:
    """Claims and resolves provisioning requests until stopped."""

    def __init__(self, engine: Engine, settings: Settings, *, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_housekeeping = 0.0
        self.deliverer = WebhookDeliverer(engine, settings, self.owner, clock=clock)

    @property
    def lease_duration(self) -> timedelta:
        """How long one renewal holds a request."""
        return timedelta(seconds=self.settings.worker_lease_seconds)

    def wake(self) -> None:
        """Look for work now (a request was just submitted in this process)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; the operation in hand is finished (and committed) first."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop.is_set()

    def run_once(self) -> bool:
        """Claim one request and work on it; False when there was nothing to claim."""
        with unit_of_work(self.engine, write=True) as conn:
            if faults.worker_paused(conn):  # POST /_admin/worker/pause, for every worker
                return False
            claimed = store.claim(conn, self.owner, self.clock(), self.lease_duration)
        if claimed is None:
            return False
        provision_id, company_id = claimed
        log.info("worker %s claimed provision %s", self.owner, provision_id)
        lease = Lease(provision_id, company_id, self.owner, self.lease_duration)
        try:
            if provisioning.process(self.engine, lease, self.clock, stop=self._stop.is_set):
                log.info("worker %s completed provision %s", self.owner, provision_id)
                self.deliverer.wake()  # its webhook delivery, if any, was just queued
        except LeaseLost:
            log.warning("provision %s was taken over; leaving it", provision_id)
        return True

    def housekeeping(self) -> None:
        """Fail timed-out requests and purge old statuses (§3.2)."""
        timeout = timedelta(minutes=self.settings.provision_timeout_minutes)
        retention = timedelta(days=self.settings.status_retention_days)
        expired = provisioning.expire(self.engine, self.clock, timeout=timeout)
        purged = provisioning.purge(self.engine, self.clock, retention=retention)
        if expired or purged:
            log.info("housekeeping: %d requests timed out, %d statuses purged", expired, purged)

    def run(self) -> None:
        """Work until :meth:`stop`: claim while there is work, else wait for a wake-up or
        the poll interval. Database errors are logged and retried after the interval.
        The webhook deliverer runs beside it until then."""
        self.deliverer.start()
        try:
            self._run()
        finally:
            self.deliverer.stop()
            self.deliverer.join(self.settings.webhook_timeout_seconds + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() >= self._next_housekeeping:
                    self._next_housekeeping = time.monotonic() + self.settings.housekeeping_seconds
                    self.housekeeping()
                if self.run_once():
                    continue
            except SQLAlchemyError as exc:
                log.warning("provisioning worker: database error: %s", str(exc).splitlines()[0])
            except Exception:
                log.exception("provisioning worker: unexpected error")
            self._wake.wait(self.settings.worker_poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        """Run in a daemon thread (the embedded worker of ``serve``)."""
        self._thread = threading.Thread(target=self.run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread started by :meth:`start` to end."""
        if self._thread is not None:
            self._thread.join(timeout)
