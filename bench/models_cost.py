"""What scim2-models would cost on the read path, per rendered User: a micro-benchmark.

Usage (from the repository root)::

    .venv/bin/python bench/models_cost.py [--number N]

For one realistic User (core attributes, enterprise extension with a manager, two emails,
two phone numbers, two addresses, two groups) stored as a
:class:`concur_scim.store.records.ResourceRecord`, it times with :mod:`timeit` (median of 7
runs of N calls each):

- the server's own read path: ``concur_scim.api.render.render`` + ``Projection.apply``
  (no ``attributes`` parameter, which is the common case, and with
  ``attributes=userName,emails``), then the same plus ``json.dumps`` as ``ScimResponse``
  encodes it;
- ``scim2_models.User[EnterpriseUser].model_validate(body)`` + ``model_dump()`` of that
  rendered body: what the read path would add if every resource went through the models.

It prints microseconds per resource and the ratio models / server rendering. Single process,
no I/O; the numbers are CPU cost on this machine and move with its load.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from scim2_models import EnterpriseUser, User

from concur_scim.api.render import render
from concur_scim.scim.projection import Projection
from concur_scim.scim.registry import user_schema
from concur_scim.scim.validation import normalize_resource
from concur_scim.store.records import ResourceRecord

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BASE = "https://scim.example.com/scim/v2"
REPEAT = 7
MICRO = "\u00b5s"


def realistic_payload() -> dict[str, Any]:
    """A User as an IdP (Entra, Okta) typically provisions it."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "ada.lovelace@example.com",
        "externalId": "00u1a2b3c4d5e6f7g8h9",
        "name": {
            "formatted": "Ms. Ada King Lovelace",
            "familyName": "Lovelace",
            "givenName": "Ada",
            "middleName": "King",
            "honorificPrefix": "Ms.",
        },
        "displayName": "Ada Lovelace",
        "nickName": "Ada",
        "title": "Principal Engineer",
        "userType": "Employee",
        "preferredLanguage": "en-GB",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "active": True,
        "emails": [
            {"value": "ada.lovelace@example.com", "type": "work", "primary": True},
            {"value": "ada@home.example.org", "type": "home"},
        ],
        "phoneNumbers": [
            {"value": "+44 20 7946 0958", "type": "work", "primary": True},
            {"value": "+44 7700 900123", "type": "mobile"},
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "12 St James's Square",
                "locality": "London",
                "region": "Greater London",
                "postalCode": "SW1Y 4LB",
                "country": "GB",
                "formatted": "12 St James's Square\nLondon SW1Y 4LB\nGB",
                "primary": True,
            },
            {
                "type": "home",
                "streetAddress": "1 Marylebone Road",
                "locality": "London",
                "postalCode": "NW1 5LR",
                "country": "GB",
            },
        ],
        ENTERPRISE: {
            "employeeNumber": "E-001815",
            "costCenter": "CC-4200",
            "organization": "Analytical Engines Ltd",
            "division": "Research",
            "department": "Computation",
            "manager": {
                "value": "9b2f6a1c-0d4e-4c1a-8f0e-3b7d5c2a1e90",
                "displayName": "Charles Babbage",
            },
        },
    }


def build_record() -> ResourceRecord:
    """The payload normalised as the server stores it, with two groups attached."""
    doc = normalize_resource(realistic_payload(), user_schema())
    manager = doc.get(ENTERPRISE, {}).get("manager")
    if isinstance(manager, dict):
        manager["$ref"] = f"{BASE}/Users/{manager['value']}"
    now = datetime(2026, 1, 5, 9, 30, 0, tzinfo=UTC)
    return ResourceRecord(
        id="2819c223-7f76-453a-919d-413861904646",
        company_id="00000000-0000-0000-0000-000000000001",
        seq=1815,
        doc=doc,
        created=now,
        last_modified=now,
        version=3,
        groups=[
            {
                "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "display": "Engineering",
                "type": "direct",
            },
            {
                "value": "fc348aa8-3835-40eb-a20b-c726e15c55b5",
                "display": "London",
                "type": "direct",
            },
        ],
    )


def per_call_us(fn: Callable[[], object], number: int) -> float:
    """Median over ``REPEAT`` timeit runs of ``number`` calls, in microseconds per call."""
    runs = timeit.repeat(fn, number=number, repeat=REPEAT)
    return statistics.median(runs) / number * 1e6


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    """Time both paths and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--number", type=int, default=2000, help="calls per timeit run")
    args = parser.parse_args(argv)

    resource = user_schema()
    record = build_record()
    everything = Projection.parse(resource, None, None)
    narrow = Projection.parse(resource, "userName,emails", None)
    body = everything.apply(render(record, resource, BASE), resource)
    model = User[EnterpriseUser]

    # Sanity: the models accept the rendered body and give back the same attributes.
    dumped = model.model_validate(body).model_dump()
    missing = sorted(set(body) - set(dumped))

    def server_render() -> object:
        return everything.apply(render(record, resource, BASE), resource)

    def server_render_narrow() -> object:
        return narrow.apply(render(record, resource, BASE), resource)

    def server_render_json() -> object:
        out = everything.apply(render(record, resource, BASE), resource)
        return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()

    def models_round_trip() -> object:
        return model.model_validate(body).model_dump()

    def models_round_trip_json() -> object:
        return model.model_validate(body).model_dump_json()

    rows = [
        ("server: render + Projection.apply (all attributes)", server_render),
        ("server: render + Projection.apply (attributes=userName,emails)", server_render_narrow),
        ("server: render + apply + json.dumps (what ScimResponse sends)", server_render_json),
        ("scim2-models: User[EnterpriseUser].model_validate + model_dump", models_round_trip),
        ("scim2-models: model_validate + model_dump_json", models_round_trip_json),
    ]
    print(
        f"python {platform.python_version()}, scim2-models {scim2_models_version()}, "
        f"cpu {cpu_model()}"
    )
    print(
        f"rendered body: {len(json.dumps(body))} bytes of JSON, "
        f"{len(body)} top-level keys; timeit median of {REPEAT} runs x {args.number} calls"
    )
    if missing:
        print(f"note: model_dump() dropped top-level keys {missing}")
    print()
    times = {}
    print(f"| path | {MICRO} per resource |")
    print("|---|---:|")
    for label, fn in rows:
        times[label] = per_call_us(fn, args.number)
        print(f"| {label} | {times[label]:.1f} |", flush=True)
    base = times[rows[0][0]]
    print()
    print(f"ratio models_validate+dump / server render+apply: {times[rows[3][0]] / base:.1f}x")
    print(f"ratio (models + json) / (server + json): {times[rows[4][0]] / times[rows[2][0]]:.1f}x")
    print(
        f"a 100-user page through the models would add about "
        f"{times[rows[3][0]] * 100 / 1000:.1f} ms of CPU"
    )
    return 0


def scim2_models_version() -> str:
    """The installed scim2-models version."""
    return version("scim2-models")


if __name__ == "__main__":
    raise SystemExit(main())
