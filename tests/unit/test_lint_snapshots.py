"""Lint snapshots: what real Concur would do with each identity-provider sample.

Every user request of Entra (default and ``aadOptscim062020``), Okta and PingFederate in
``tests/samples`` is linted (scim/lint.py) and the findings compared with a reviewed snapshot
in ``tests/samples/lint/<sample>.json``. A PATCH is linted against the user it patches (a
fixed, valid Concur user); a PingFederate User v1.0 record as the identity document its
mapping writes. A change of a rule or of the lint shows here as a snapshot diff; after
reviewing it, regenerate with
``CONCUR_SCIM_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_lint_snapshots.py``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from support.samples import SAMPLES_DIR, load_sample

from concur_scim.scim.errors import ScimError
from concur_scim.scim.lint import lint_user
from concur_scim.scim.patch import apply_patch, parse_patch_request
from concur_scim.scim.registry import CORE_USER, ENTERPRISE_USER, user_schema
from concur_scim.scim.user_v1.mapping import identity_doc
from concur_scim.scim.user_v1.xml_in import parse_batch
from concur_scim.scim.validation import normalize_resource

SNAPSHOTS = SAMPLES_DIR / "lint"
COMPANY = "4072d61f-d6a6-4553-9507-267748573f4b"
USER_ID = "2819c223-7f76-453a-919d-413861904646"
MANAGER_ID = "26118915-6090-4610-87e4-49d8ca9f808d"
# The user every PATCH sample is applied to: valid for Concur's strict rules.
PATCHED_USER: dict[str, Any] = {
    "userName": "bjensen@example.com",
    "active": True,
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    ENTERPRISE_USER: {"companyId": COMPANY, "manager": {"value": MANAGER_ID}},
}
_GROUP_SAMPLE = re.compile(r"group|member")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _user_samples() -> list[str]:
    names = sorted(p.stem for p in SAMPLES_DIR.glob("*.json"))
    return [n for n in names if n.startswith(("entra_", "okta_")) and not _GROUP_SAMPLE.search(n)]


def _ping_samples() -> list[str]:
    return sorted(p.stem for p in SAMPLES_DIR.glob("pingfederate_*.xml"))


def _filled(name: str) -> Any:
    raw = (SAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8")
    ids = dict.fromkeys(_PLACEHOLDER.findall(raw), USER_ID)
    ids.update({k: MANAGER_ID for k in ids if "manager" in k})
    return load_sample(name, **ids)


def _lint_json_sample(name: str) -> list[dict[str, str]]:
    body = _filled(name)
    schema = user_schema()
    if "Operations" not in body and "operations" not in body:
        findings = lint_user(body, schema, stored=None, company_id=COMPANY)
    else:
        try:
            operations = parse_patch_request(body, schema)
            patched = apply_patch(PATCHED_USER, operations, schema, resource_id=USER_ID)
            stored: dict[str, Any] | None = normalize_resource(patched, schema)
        except ScimError:
            stored = None
        findings = lint_user(body, schema, stored=stored, company_id=COMPANY, patch=True)
    return [f.to_json() for f in findings]


def _lint_ping_sample(name: str) -> list[dict[str, str]]:
    records = parse_batch((SAMPLES_DIR / f"{name}.xml").read_bytes(), max_records=500)
    out: list[dict[str, str]] = []
    for record in records:
        doc = identity_doc(record.values, None)
        out += [f.to_json() for f in lint_user(doc, user_schema(), stored=None, company_id=COMPANY)]
    return out


def _check(name: str, findings: list[dict[str, str]]) -> None:
    snapshot = SNAPSHOTS / f"{name}.json"
    text = json.dumps(findings, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("CONCUR_SCIM_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.is_file(), f"no lint snapshot for {name}: see this module's docstring"
    assert json.loads(snapshot.read_text(encoding="utf-8")) == findings


def test_every_client_has_samples() -> None:
    """Entra, Okta and PingFederate samples are all linted."""
    names = _user_samples() + _ping_samples()
    for client in ("entra_default_", "entra_aadOptscim062020_", "okta_", "pingfederate_"):
        assert any(n.startswith(client) for n in names), client


@pytest.mark.parametrize("name", _user_samples())
def test_scim_sample_lint_matches_its_snapshot(name: str) -> None:
    """The lint of an Entra or Okta sample is the reviewed snapshot."""
    _check(name, _lint_json_sample(name))


@pytest.mark.parametrize("name", _ping_samples())
def test_pingfederate_sample_lint_matches_its_snapshot(name: str) -> None:
    """The lint of the identity document a PingFederate record writes is the snapshot."""
    _check(name, _lint_ping_sample(name))


def test_snapshots_have_no_strays() -> None:
    """Every snapshot belongs to a sample that still exists."""
    expected = set(_user_samples()) | set(_ping_samples())
    stray = {p.stem for p in Path(SNAPSHOTS).glob("*.json")} - expected
    assert not stray, stray


def test_a_known_entra_quirk_is_reported_as_a_coercion() -> None:
    """Entra's string boolean (idp-clients.md §1.3e) is what Concur would coerce."""
    findings = _lint_json_sample("entra_default_create_user_string_active")
    assert {
        "outcome": "coerce",
        "schemaPath": f"{CORE_USER}:active",
        "message": 'sent "True", stored true',
        "rule": "coercion",
    }.items() <= next(f for f in findings if f["schemaPath"].endswith(":active")).items()
