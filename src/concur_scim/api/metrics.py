"""Prometheus metrics at ``GET /metrics`` (text exposition format 0.0.4), without a token,
like ``/healthz``: what an operator graphs and alerts on. No label carries a company, a
user, an id or a token; routes are their templates (``/scim/v2/Users/{resource_id}``).

Per process (``--workers N``: each process answers with its own; scrape each, or run one):

- ``concur_scim_requests_total{dialect, route, method, status}`` and
  ``concur_scim_request_duration_seconds{dialect, route, method}`` (histogram): every HTTP
  request; a path no route matched is ``route="unmatched"``.
- ``concur_scim_database_errors_total``: requests answered 503 because the database was
  unreachable (api/middleware.py ``ErrorBoundary``).
- ``concur_scim_worker_chunk_seconds`` (histogram): the embedded provisioning worker's
  chunks (services/provisioning.py), one transaction of up to 25 operations each.

Read from the database at each scrape (so the same in every process):

- ``concur_scim_provisioning_queue_depth``: User Provisioning requests not completed;
  ``concur_scim_provisioning_queue_age_seconds``: how long the oldest has waited.
- ``concur_scim_provision_operations{state}``: operations on record, ``done`` or
  ``pending``; ``concur_scim_extension_results{result}``: extension results on record
  (``success``, ``error``, ``no-op``, ``not-processed``). Statuses are purged after
  ``CONCUR_SCIM_STATUS_RETENTION_DAYS``, so these count what is on record, not since start.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concur_scim.api.dialects import dialect_name
from concur_scim.services.provisioning import WORKER_METRICS
from concur_scim.store.db import unit_of_work
from concur_scim.store.provisions import PENDING
from concur_scim.store.records import utc
from concur_scim.store.tables import provision_operations, provision_results, provisions

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics of one application (its own registry: several apps in one process, as in
    the tests, do not mix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "concur_scim_requests",
            "HTTP requests answered, by dialect, route template, method and status.",
            ["dialect", "route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "concur_scim_request_duration_seconds",
            "Time from a request's arrival to its last response byte.",
            ["dialect", "route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.database_errors = Counter(
            "concur_scim_database_errors",
            "Requests answered 503 because the database was unreachable.",
            registry=self.registry,
        )
        self.engine: Engine | None = None
        self.registry.register(_DatabaseCollector(self))

    def exposition(self) -> bytes:
        """Every metric of this application and of this process's provisioning worker."""
        return generate_latest(self.registry) + generate_latest(WORKER_METRICS)


class _DatabaseCollector(Collector):
    """The provisioning queue and results, read at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = self._metrics.engine
        if engine is None:  # before the lifespan started, or described at registration
            return
        with unit_of_work(engine, write=False) as conn:
            depth, oldest = conn.execute(
                select(func.count(), func.min(provisions.c.created)).where(
                    provisions.c.state == PENDING
                )
            ).one()
            operations = conn.execute(
                select(provision_operations.c.done, func.count()).group_by(
                    provision_operations.c.done
                )
            ).all()
            results = conn.execute(
                select(provision_results.c.result, func.count()).group_by(
                    provision_results.c.result
                )
            ).all()
        yield GaugeMetricFamily(
            "concur_scim_provisioning_queue_depth",
            "User Provisioning requests not completed.",
            value=depth,
        )
        age = (datetime.now(UTC) - utc(oldest)).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "concur_scim_provisioning_queue_age_seconds",
            "How long the oldest request not completed has waited (0: none waits).",
            value=max(age, 0.0),
        )
        by_state = GaugeMetricFamily(
            "concur_scim_provision_operations",
            "Provisioning operations on record, by state.",
            labels=["state"],
        )
        counted = {("done" if done else "pending"): n for done, n in operations}
        for state in ("done", "pending"):
            by_state.add_metric([state], counted.get(state, 0))
        yield by_state
        by_result = GaugeMetricFamily(
            "concur_scim_extension_results",
            "Extension results of provisioning operations on record, by result.",
            labels=["result"],
        )
        tallied: dict[str, int] = {str(r): int(n) for r, n in results}
        for result in ("success", "error", "no-op", "not-processed"):
            by_result.add_metric([result], tallied.get(result, 0))
        yield by_result


class MetricsMiddleware:
    """Count and time every HTTP request by its route template (outermost but one: it sees
    the status the client gets, and the route the router matched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; record it once its response has gone out."""
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics: Metrics | None = getattr(scope["app"].state, "metrics", None)
            if metrics is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                dialect = dialect_name(scope["path"]) or "none"
                method = scope["method"]
                metrics.requests.labels(dialect, route, method, str(status[0])).inc()
                metrics.latency.labels(dialect, route, method).observe(time.perf_counter() - began)


def metrics_router() -> APIRouter:
    """``GET /metrics``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    def metrics(request: Request) -> Response:
        found: Metrics = request.app.state.metrics
        return Response(found.exposition(), media_type=CONTENT_TYPE)

    return router


def count_database_error(app: Any) -> None:
    """Count one request answered 503 for an unreachable database (ErrorBoundary)."""
    metrics: Metrics | None = getattr(getattr(app, "state", None), "metrics", None)
    if metrics is not None:
        metrics.database_errors.inc()
