"""provisionCompleted webhooks: configuration, the event, signing and the delivery loop.

A company may configure one URL and secret (admin API ``/_admin/webhooks/{company_id}``,
``concur-scim webhook``). When one of its provisioning requests completes,
:func:`enqueue_completed` queues a delivery in the completing transaction (an outbox: a
crash either keeps both the completion and its delivery or neither). The body is Concur's
event envelope for ESS topic ``public.concur.user.provisioning``, eventType
``provisionCompleted`` (reference/concur-v4.md §3.8), built once at completion.

:class:`WebhookDeliverer` (a thread of every provisioning worker, ``worker.py``) claims due
deliveries under a lease and POSTs them with ``X-Concur-Scim-Signature: sha256=<hex
HMAC-SHA256 of the raw body, keyed by the secret>`` and ``X-Concur-Scim-Delivery: <id>``. A
2xx answer delivers; a connection error or any other status is retried after
``webhook_backoff_seconds * 2**(attempt-1)`` (capped at ``webhook_backoff_max_seconds``)
until ``webhook_max_attempts``, then the delivery is failed. Every attempt is a journal row
of dialect ``webhook`` (``GET /_admin/journal?dialect=webhook``). Delivery is at least once:
a loop that dies mid-POST leaves a lease that expires and the POST is made again, so
receivers deduplicate on the delivery id (also the envelope's ``id``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from concur_scim.config import Settings
from concur_scim.scim.datetimes import format_datetime
from concur_scim.scim.errors import InvalidValue, NotFound
from concur_scim.services.common import Clock, system_clock
from concur_scim.store import admin as admin_store
from concur_scim.store import webhooks as store
from concur_scim.store.db import unit_of_work
from concur_scim.store.request_log import RequestLogEntry, add_request

log = logging.getLogger("concur_scim.webhooks")

SIGNATURE_HEADER = "X-Concur-Scim-Signature"
DELIVERY_HEADER = "X-Concur-Scim-Delivery"
DIALECT = "webhook"  # the journal's dialect of delivery attempts
THREAD_NAME = "webhook-deliverer"  # the delivery loop's thread
# reference §3.8 (Concur "User Provisioning Events"): topic, event type, originator, scope.
TOPIC = "public.concur.user.provisioning"
EVENT_TYPE = "provisionCompleted"
ORIGINATOR = "com.concur.provisioning"
SCOPE = "user.provision.read"
_MAX_URL = 2048
_MAX_SECRET = 255


# -- configuration ---------------------------------------------------------------------------


def _config_json(config: store.WebhookConfig) -> dict[str, Any]:
    # The secret is never answered: it was given by the caller and is only used to sign.
    return {
        "companyId": config.company_id,
        "url": config.url,
        "created": format_datetime(config.created),
        "updated": format_datetime(config.updated),
    }


def configure(conn: Connection, company_id: str, body: Any, now: datetime) -> dict[str, Any]:
    """Set the company's webhook from ``{"url": ..., "secret": ...}``; the stored webhook
    without its secret. Raises NotFound for an unknown company, InvalidValue for a bad body
    (a URL that is not absolute http(s), an empty or over-long secret)."""
    if not admin_store.company_exists(conn, company_id):
        raise NotFound(f"no company {company_id}")
    if not isinstance(body, dict):
        raise InvalidValue("the body must be an object with 'url' and 'secret'")
    url, secret = body.get("url"), body.get("secret")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidValue("'url' must be an absolute http:// or https:// URL")
    import httpx  # noqa: PLC0415 (loaded on first use: the API imports cheaply)

    if len(url) > _MAX_URL or len(httpx.URL(url).host) == 0:
        raise InvalidValue(f"'url' must name a host and be at most {_MAX_URL} characters")
    if not isinstance(secret, str) or not 0 < len(secret) <= _MAX_SECRET:
        raise InvalidValue(f"'secret' must be a string of 1 to {_MAX_SECRET} characters")
    store.put_webhook(conn, company_id, url, secret, now)
    config = store.get_webhook(conn, company_id)
    assert config is not None
    return _config_json(config)


def show(conn: Connection, company_id: str) -> dict[str, Any]:
    """The company's webhook without its secret; NotFound when it has none."""
    config = store.get_webhook(conn, company_id)
    if config is None:
        raise NotFound(f"company {company_id} has no webhook")
    return _config_json(config)


def remove(conn: Connection, company_id: str) -> None:
    """Delete the company's webhook; NotFound when it has none."""
    if not store.delete_webhook(conn, company_id):
        raise NotFound(f"company {company_id} has no webhook")


# -- the event -------------------------------------------------------------------------------


def envelope(
    *,
    event_id: str,
    company_id: str,
    provision_id: str,
    correlation_id: str,
    success: bool,
    now: datetime,
) -> dict[str, Any]:
    """Concur's provisionCompleted event (reference §3.8), field names as Concur's.

    ``provisionStatusHref`` uses the ``/provisioning/v4`` prefix, as Concur's event does
    (§1 "Path history"), relative to this server (its public address is not known here).
    ``subtopic`` is the company id, ``groups`` and ``data`` are empty and ``scopes`` is the
    topic's one scope: Concur documents these fields but not their values here (inferred).
    """
    return {
        "id": event_id,
        "correlationId": correlation_id,
        "eventType": EVENT_TYPE,
        "topic": TOPIC,
        "timeStamp": format_datetime(now),
        "subtopic": company_id,
        "facts": {
            "originator": ORIGINATOR,
            "provisionId": provision_id,
            "provisionStatusHref": f"/provisioning/v4/provisions/{provision_id}/status",
            "success": success,
        },
        "groups": [],
        "scopes": [SCOPE],
        "data": None,
    }


def enqueue_completed(conn: Connection, provision_id: str, now: datetime) -> str | None:
    """Queue the provisionCompleted delivery of a request completed in this transaction;
    its id, or None when the company has no webhook (nothing is queued)."""
    done = store.completion(conn, provision_id)
    if done is None:
        return None
    delivery_id = str(uuid.uuid4())
    payload = envelope(
        event_id=delivery_id,
        company_id=done.company_id,
        provision_id=provision_id,
        correlation_id=done.correlation_id,
        success=done.success,
        now=now,
    )
    store.insert_delivery(
        conn,
        delivery_id=delivery_id,
        company_id=done.company_id,
        provision_id=provision_id,
        url=done.url,
        payload=payload,
        now=now,
    )
    return delivery_id


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based): doubling, capped."""
    seconds = settings.webhook_backoff_seconds * 2 ** min(attempts - 1, 32)
    return timedelta(seconds=min(seconds, settings.webhook_backoff_max_seconds))


# -- delivery --------------------------------------------------------------------------------


class WebhookDeliverer:
    """Claims due deliveries and attempts each once per claim, until stopped."""

    def __init__(
        self, engine: Engine, settings: Settings, owner: str, *, clock: Clock = system_clock
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.owner = owner
        self.clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Held past the POST's own timeout, so a slow receiver never loses the lease.
        self.lease = timedelta(seconds=settings.webhook_timeout_seconds * 2 + 5)

    def wake(self) -> None:
        """Look for due deliveries now (one was just queued in this process)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; an attempt in hand is finished first."""
        self._stop.set()
        self._wake.set()

    def _post(
        self, config: store.WebhookConfig | None, claimed: store.ClaimedDelivery
    ) -> tuple[int | None, str | None]:
        if config is None:
            return None, "the company's webhook was removed"
        body = json.dumps(claimed.payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(config.secret, body),
            DELIVERY_HEADER: claimed.id,
        }
        import httpx  # noqa: PLC0415 (loaded on first use: the API imports cheaply)

        try:
            answer = httpx.post(
                claimed.url,
                content=body,
                headers=headers,
                timeout=self.settings.webhook_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1024]
        if 200 <= answer.status_code < 300:
            return answer.status_code, None
        return answer.status_code, f"the receiver answered {answer.status_code}"

    def run_once(self) -> bool:
        """Claim one due delivery and attempt it; False when none was due."""
        with unit_of_work(self.engine, write=True) as conn:
            claimed = store.claim(conn, self.owner, self.clock(), self.lease)
            if claimed is None:
                return False
            config = store.get_webhook(conn, claimed.company_id)
        status, error = self._post(config, claimed)
        attempt = claimed.attempts + 1
        now = self.clock()
        if error is None:
            state = store.DELIVERED
        elif config is None or attempt >= self.settings.webhook_max_attempts:
            state = store.FAILED
        else:
            state = store.PENDING
        next_attempt = now + backoff(self.settings, attempt) if state == store.PENDING else now
        with unit_of_work(self.engine, write=True) as conn:
            if store.record_attempt(
                conn,
                claimed.id,
                self.owner,
                now=now,
                status=status,
                error=error,
                state=state,
                next_attempt=next_attempt,
            ):
                self._journal(conn, claimed, attempt, status, error, state, now)
        log.info("webhook delivery %s attempt %d: %s", claimed.id, attempt, error or status)
        return True

    def _journal(
        self,
        conn: Connection,
        claimed: store.ClaimedDelivery,
        attempt: int,
        status: int | None,
        error: str | None,
        state: str,
        now: datetime,
    ) -> None:
        keep = self.settings.request_log_keep
        if keep <= 0:
            return
        entry = RequestLogEntry(
            company_id=claimed.company_id,
            at=now,
            correlation_id=str(claimed.payload.get("correlationId") or claimed.id),
            subject="webhook",
            method="POST",
            path=claimed.url,
            resource_type="Provision",
            resource_id=claimed.provision_id,
            # 0: no HTTP answer at all (connection refused, timeout).
            status=status if status is not None else 0,
            detail={"delivery": claimed.id, "attempt": attempt, "state": state},
            dialect=DIALECT,
            error=None if error is None else {"detail": error},
        )
        add_request(conn, entry, keep=keep)

    def _wait_seconds(self) -> float:
        poll = self.settings.worker_poll_seconds
        with unit_of_work(self.engine, write=False) as conn:
            due = store.next_due(conn)
        if due is None:
            return poll
        return min(poll, max((due - self.clock()).total_seconds(), 0.01))

    def run(self) -> None:
        """Deliver until :meth:`stop`; database errors are logged and retried."""
        while not self._stop.is_set():
            wait = self.settings.worker_poll_seconds
            try:
                while not self._stop.is_set() and self.run_once():
                    pass
                wait = self._wait_seconds()
            except SQLAlchemyError as exc:
                log.warning("webhook delivery: database error: %s", str(exc).splitlines()[0])
            except Exception:
                log.exception("webhook delivery: unexpected error")
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread started by :meth:`start` to end."""
        if self._thread is not None:
            self._thread.join(timeout)
