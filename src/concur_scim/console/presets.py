"""The console's fault switches: common failures as rules one click turns on and off.

A switch is an ordinary fault rule (services/faults.py) for one company, with no method,
path, count or probability: on means such a rule exists, off removes every such rule.
A rule is recognised by what it matches and does, not by who added it: one added through
the admin API, the CLI or the console's JSON form that matches and does exactly what a
switch's does (whatever its ``seed``, which a rule without ``probability`` never uses)
turns that switch on, and turning the switch off removes it. Every other rule is only
listed beside the switches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from concur_scim.services.extensions import SPEND_USER, TRAVEL_USER
from concur_scim.store.faults import FaultRuleRecord


@dataclass(frozen=True)
class Preset:
    """One switch: its name (the form value), what it says, and the rule's action."""

    name: str
    title: str
    description: str
    action: dict[str, Any]

    def rule_body(self, company_id: str) -> dict[str, Any]:
        """The JSON form of the rule this switch adds for ``company_id``."""
        return {"company": company_id, **self.action}

    def is_rule(self, rule: FaultRuleRecord, company_id: str) -> bool:
        """Whether ``rule`` is this switch's rule for ``company_id``."""
        return (
            rule.company_id == company_id
            and rule.dialect is None
            and rule.method is None
            and rule.path is None
            and rule.remaining is None
            and rule.probability is None
            and rule.action == self.action
        )


PRESETS: tuple[Preset, ...] = (
    Preset(
        "throttle",
        "Throttle",
        "Every API request answers 429 Too Many Requests with Retry-After: 5.",
        {"status": 429, "retryAfter": 5},
    ),
    Preset(
        "outage",
        "Outage",
        "Every API request answers 503 Service Unavailable with Retry-After: 30.",
        {"status": 503, "retryAfter": 30},
    ),
    Preset(
        "slow",
        "Slow answers",
        "Every API answer comes 2 seconds late.",
        {"latencyMs": 2000},
    ),
    Preset(
        "spend-fails",
        "Spend extension fails",
        "The worker ends the spend User extension of every provision with error 500.",
        {"extension": SPEND_USER, "code": "500", "message": "INTERNAL_SERVER_ERROR"},
    ),
    Preset(
        "travel-fails",
        "Travel extension fails",
        "The worker ends the travel User extension of every provision with error 500.",
        {"extension": TRAVEL_USER, "code": "500", "message": "INTERNAL_SERVER_ERROR"},
    ),
)
BY_NAME = {p.name: p for p in PRESETS}
