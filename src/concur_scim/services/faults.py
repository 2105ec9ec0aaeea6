"""Fault injection (README "Admin API"): rules that make matching requests fail or wait, and
matching provisions end with a chosen extension result.

A rule matches by company, dialect (``api/dialects.py`` names, plus ``user-v1``, ``spend``,
``travel``, ``oauth``), HTTP method and a path glob (``fnmatch``, case-sensitive, on the
normalized path); any of them left out matches anything. ``count`` answers and it is spent;
``probability`` (0..1) answers that share of matches, drawn from a ``random.Random(seed)``
kept per rule and process (a fixed ``seed`` makes a test repeatable). It does one of:

- ``{"status": 429|500|502|503|504, "retryAfter": seconds}``: a SCIM Error answer instead of
  the real one (``Retry-After`` on 429 and 503);
- ``{"latencyMs": ms}``: the real answer, that much later;
- ``{"extension": urn, "code": "500", "message": "INTERNAL_SERVER_ERROR"}``: the worker ends
  that extension of matching provisions with result ``error``, that code and that Concur
  message (reference §3.4, data/provision-status-partial-failure.json). Such a rule matches
  provisions by company only.

Rules are rows (``store/faults.py``) so that every API process and worker sees them. API
processes read them through a :class:`FaultBook`, which caches them for
:data:`CACHE_SECONDS`: with no rule, a request costs one comparison of the clock with the
cached "no rules" deadline, and at most one query per process per period.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from concur_scim.scim.errors import InvalidValue, NotFound
from concur_scim.services.provision_handlers import BY_URN, Outcome, message
from concur_scim.store import faults as store
from concur_scim.store.admin import company_exists
from concur_scim.store.db import unit_of_work
from concur_scim.store.faults import FaultRuleRecord

CACHE_SECONDS = 1.0
STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_LATENCY_MS = 60_000
DIALECTS = frozenset(
    {
        "scim2",
        "identity-v4",
        "identity-v4.1",
        "scim-v4",
        "ups-v4",
        "ups-v4-legacy",
        "user-v1",
        "spend",
        "travel",
        "oauth",
    }
)
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_FIELDS = frozenset(
    {"company", "dialect", "method", "path", "count", "probability", "seed"}
    | {"status", "retryAfter", "latencyMs", "extension", "code", "message"}
)


def _text(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidValue(f"'{key}' must be a non-empty string of at most {limit} characters")
    return value.strip()


def _integer(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(f"'{key}' must be an integer from {low} to {high}")
    return value


def _action(body: dict[str, Any]) -> dict[str, Any]:
    kinds = [k for k in ("status", "latencyMs", "extension") if body.get(k) is not None]
    if len(kinds) != 1:
        raise InvalidValue("a rule has exactly one action: 'status', 'latencyMs' or 'extension'")
    if kinds == ["status"]:
        status = _integer(body, "status", 400, 599)
        if status not in STATUSES:
            raise InvalidValue(f"'status' must be one of {sorted(STATUSES)}")
        retry = _integer(body, "retryAfter", 0, 86_400)
        return {"status": status, **({"retryAfter": retry} if retry is not None else {})}
    if body.get("retryAfter") is not None:
        raise InvalidValue("'retryAfter' goes with a 'status' action")
    if kinds == ["latencyMs"]:
        return {"latencyMs": _integer(body, "latencyMs", 1, MAX_LATENCY_MS)}
    urn = _text(body, "extension", 255)
    if urn not in BY_URN:
        raise InvalidValue(f"'extension' must be a downstream extension URN: {sorted(BY_URN)}")
    code = _text(body, "code", 3) or "500"
    if not code.isdigit() or len(code) != 3:
        raise InvalidValue("'code' must be a three-digit status code")
    text = _text(body, "message", 1024) or "INTERNAL_SERVER_ERROR"
    for key in ("dialect", "method", "path"):
        if body.get(key) is not None:
            raise InvalidValue(f"an 'extension' rule matches provisions by company only: '{key}'")
    return {"extension": urn, "code": code, "message": text}


def parse_rule(body: Any, now: datetime) -> FaultRuleRecord:
    """A new rule from its JSON form (the module doc); raises InvalidValue naming the field."""
    if not isinstance(body, dict):
        raise InvalidValue("a fault rule is a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidValue(f"unknown fault rule member '{unknown[0]}'")
    dialect = _text(body, "dialect", 32)
    if dialect is not None and dialect not in DIALECTS:
        raise InvalidValue(f"'dialect' must be one of {sorted(DIALECTS)}")
    method = _text(body, "method", 8)
    if method is not None and method.upper() not in _METHODS:
        raise InvalidValue(f"'method' must be one of {sorted(_METHODS)}")
    count = _integer(body, "count", 1, 1_000_000)
    probability = body.get("probability")
    if probability is not None and (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not 0 <= probability <= 1
    ):
        raise InvalidValue("'probability' must be a number from 0 to 1")
    if count is not None and probability is not None:
        raise InvalidValue("a rule has 'count' or 'probability', not both")
    return FaultRuleRecord(
        id=str(uuid.uuid4()),
        company_id=_text(body, "company", 36),
        dialect=dialect,
        method=method.upper() if method else None,
        path=_text(body, "path", 512),
        remaining=count,
        probability=float(probability) if probability is not None else None,
        seed=_integer(body, "seed", -(2**31), 2**31 - 1),
        action=_action(body),
        created=now,
    )


def rule_json(rule: FaultRuleRecord) -> dict[str, Any]:
    """The JSON form of a stored rule (``count``: the answers it still makes)."""
    return {
        "id": rule.id,
        "company": rule.company_id,
        "dialect": rule.dialect,
        "method": rule.method,
        "path": rule.path,
        "count": rule.remaining,
        "probability": rule.probability,
        "seed": rule.seed,
        **rule.action,
        "created": rule.created.isoformat(),
    }


def add_rule(conn: Connection, body: Any, now: datetime) -> FaultRuleRecord:
    """Validate and store a rule; its company must exist (else NotFound)."""
    rule = parse_rule(body, now)
    if rule.company_id is not None and not company_exists(conn, rule.company_id):
        raise NotFound(f"no company {rule.company_id}")
    store.insert_rule(conn, rule)
    return rule


def list_rules(conn: Connection) -> list[FaultRuleRecord]:
    """Every rule, spent ``count`` rules included (``count`` 0)."""
    return store.all_rules(conn)


def remove_rule(conn: Connection, rule_id: str) -> None:
    """Delete one rule; NotFound if there is none with that id."""
    if not store.delete_rule(conn, rule_id):
        raise NotFound(f"no fault rule {rule_id}")


def clear_rules(conn: Connection) -> int:
    """Delete every rule; how many there were."""
    return store.delete_rules(conn)


WORKER_PAUSED = "worker_paused"


def set_worker_paused(conn: Connection, paused: bool, now: datetime) -> None:
    """Pause (or resume) claiming in every provisioning worker sharing the database."""
    store.set_flag(conn, WORKER_PAUSED, paused, now)


def worker_paused(conn: Connection) -> bool:
    """Whether workers are to claim nothing."""
    return bool(store.get_flag(conn, WORKER_PAUSED))


# ----------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class RequestFacts:
    """What a rule can match of a request."""

    method: str
    path: str
    dialect: str | None


def matches(rule: FaultRuleRecord, facts: RequestFacts, company_id: str | None) -> bool:
    """Whether ``rule`` applies to the request (company None: not known yet, not compared)."""
    if "extension" in rule.action:
        return False
    if rule.method is not None and rule.method != facts.method:
        return False
    if rule.dialect is not None and rule.dialect != facts.dialect:
        return False
    if rule.path is not None and not fnmatch.fnmatchcase(facts.path, rule.path):
        return False
    return company_id is None or rule.company_id in (None, company_id)


@dataclass
class _Draws:
    """The random sources of probability rules, one per rule id (seeded when asked)."""

    by_rule: dict[str, random.Random] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, rule: FaultRuleRecord) -> bool:
        if rule.probability is None:
            return True
        with self.lock:
            source = self.by_rule.get(rule.id)
            if source is None:
                source = self.by_rule[rule.id] = random.Random(rule.seed)  # noqa: S311 - not crypto
            return source.random() < rule.probability


def fires(conn: Connection, rule: FaultRuleRecord, draws: _Draws) -> bool:
    """Whether a matching ``rule`` acts now: its draw succeeds, and a ``count`` rule still
    has an answer to make (taken in ``conn``'s transaction)."""
    if not draws.hit(rule):
        return False
    return rule.remaining is None or store.consume(conn, rule.id)


class FaultBook:
    """One process's view of the rules: cached :data:`CACHE_SECONDS`, and the random
    sources of its probability rules. Thread-safe."""

    def __init__(self, engine: Engine, *, ttl: float = CACHE_SECONDS) -> None:
        self.engine = engine
        self.ttl = ttl
        self.draws = _Draws()
        self._rules: list[FaultRuleRecord] = []
        self._fresh_until = 0.0
        self._lock = threading.Lock()

    def quiet(self) -> bool:
        """True when the cached view is fresh and holds no request rule: the fast path."""
        return not self._rules and time.monotonic() < self._fresh_until

    def invalidate(self) -> None:
        """Forget the cached rules (this process changed them)."""
        self._fresh_until = 0.0

    def rules(self) -> list[FaultRuleRecord]:
        """The live request rules (refreshed from the database when the cache is stale)."""
        if time.monotonic() >= self._fresh_until:
            try:
                with unit_of_work(self.engine, write=False) as conn:
                    found = [r for r in store.live_rules(conn) if "extension" not in r.action]
            except Exception:
                # The database is unreachable: keep the last view for a period rather than
                # asking again on every request of the outage.
                self._fresh_until = time.monotonic() + self.ttl
                raise
            with self._lock:
                self._rules = found
                self._fresh_until = time.monotonic() + self.ttl
        return self._rules

    def fire(self, rule: FaultRuleRecord) -> bool:
        """Whether a matching rule acts on this request (see :func:`fires`); a spent
        ``count`` rule is dropped from the cache at once."""
        if rule.remaining is None:
            return self.draws.hit(rule)
        with unit_of_work(self.engine, write=True) as conn:
            fired = fires(conn, rule, self.draws)
            left = store.remaining(conn, rule.id)
        if not left:
            with self._lock:
                self._rules = [r for r in self._rules if r.id != rule.id]
        return fired


# ----------------------------------------------------------------------------- provisions


@dataclass(frozen=True)
class ExtensionFaults:
    """The extension rules that can match one provision, read once when it is claimed."""

    rules: tuple[FaultRuleRecord, ...] = ()
    draws: _Draws = field(default_factory=_Draws)

    def outcome(self, conn: Connection, urn: str) -> Outcome | None:
        """The forced result of extension ``urn``, or None to run its handler."""
        for rule in self.rules:
            if rule.action.get("extension") == urn and fires(conn, rule, self.draws):
                code, text = rule.action["code"], rule.action["message"]
                return Outcome("error", [message(text, text, urn)], code=code)
        return None


def extension_faults(conn: Connection, company_id: str) -> ExtensionFaults:
    """The extension rules of ``company_id`` (and of every company) now in force."""
    rules = tuple(r for r in store.live_rules(conn, company_id) if "extension" in r.action)
    return ExtensionFaults(rules) if rules else NO_EXTENSION_FAULTS


NO_EXTENSION_FAULTS = ExtensionFaults()
