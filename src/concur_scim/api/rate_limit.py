"""Per-company request throttling: one token bucket per company (reference/concur-v4.md §8).

Concur throttles per tenant and answers ``429`` without publishing a quota; this server
does the same when ``CONCUR_SCIM_RATE_LIMIT_PER_SECOND`` is set. Each company's bucket
holds up to ``CONCUR_SCIM_RATE_LIMIT_BURST`` tokens and refills at the configured rate; an
authenticated request takes one token or is refused with :class:`TooManyRequests`, whose
``retry_after`` is the whole number of seconds until a token is back (the ``Retry-After``
header, RFC 9110 §10.2.3).

The buckets live in the process: with N API processes (``--workers N``, several hosts)
each process has its own bucket per company, so a company may make up to N times the
configured rate in total. Time comes from the application's :data:`Clock` (a wall clock);
a clock that steps backwards refills nothing for that step, then refills from the new time.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from concur_scim.config import Settings
from concur_scim.scim.errors import TooManyRequests
from concur_scim.services.common import Clock, system_clock


@dataclass
class _Bucket:
    tokens: float
    updated: float  # clock seconds when ``tokens`` was last brought up to date


class RateLimiter:
    """Token buckets keyed by company id; thread-safe (the sync routes run in a thread pool).

    ``rate`` tokens per second, at most ``burst`` held; ``rate`` 0 turns throttling off.
    """

    def __init__(self, rate: float, burst: int, *, clock: Clock = system_clock) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = system_clock) -> RateLimiter:
        """The limiter ``CONCUR_SCIM_RATE_LIMIT_PER_SECOND`` and ``..._BURST`` describe."""
        return cls(settings.rate_limit_per_second, settings.rate_limit_burst, clock=clock)

    @property
    def enabled(self) -> bool:
        """Whether requests are throttled at all."""
        return self.rate > 0

    def check(self, company_id: str) -> None:
        """Take one token from ``company_id``'s bucket.

        Raises TooManyRequests (429) carrying ``retry_after`` when the bucket is empty; a
        refused request takes nothing, so a client that waits as told is served.
        """
        wait = self.acquire(company_id)
        if wait is not None:
            raise TooManyRequests(
                "too many requests for this company; retry later", retry_after=wait
            )

    def acquire(self, company_id: str) -> int | None:
        """Take a token: None when one was taken, else the whole seconds until one is due."""
        if not self.enabled:
            return None
        now = self._clock().timestamp()
        with self._lock:
            bucket = self._buckets.get(company_id)
            if bucket is None:
                bucket = self._buckets[company_id] = _Bucket(float(self.burst), now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
