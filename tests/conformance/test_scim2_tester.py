"""Conformance: scim2-tester's whole suite against a real ``concur-scim serve`` process.

scim2-tester (``scim2_tester.check_server``) reads the discovery endpoints, builds models from
the published schemas and then creates, reads, lists, searches, replaces, deletes and PATCHes
(add / remove / replace on every attribute) Users and Groups over HTTP. Every check must
succeed, once on SQLite and once on PostgreSQL.

Checks that scim2-tester 0.5.2 may report as SKIPPED, and why none is accepted here:

- any check, "Skipped due to tag filtering" / "... tag exclusion": no tags are filtered;
- ``check_add_attribute`` / ``check_remove_attribute`` / ``check_replace_attribute``,
  "PATCH operations not supported by server": the server supports PATCH and says so;
- the same checks, "No addable/removable/replaceable attributes found for <Model>": Users and
  Groups both have optional writable attributes.

So no skip is legitimate and :data:`ALLOWED_SKIPS` is empty: a skip fails the test.

scim2-tester fills every string with a random UUID: ``manager.value`` with ids that name no
user, dates, time zones, languages and country codes with text no Concur dialect could serve.
This server refuses both on ``/scim/v2`` by default (as Concur does; docs/security.md,
docs/concur-compatibility.md), so the run sets the two settings meant for such generic tools,
``CONCUR_SCIM_UNKNOWN_MANAGER=store`` and ``CONCUR_SCIM_GENERIC_VALUES=any``;
``tests/api/test_manager_references.py`` and ``tests/unit/test_concur_validation.py`` cover
the defaults.

Known false positives of scim2-tester are tolerated, narrowly (see
:func:`_is_readonly_display_false_positive` and :func:`_is_extension_readd_false_positive`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server
from sqlalchemy import delete
from support.server import running_server

from concur_scim.store.db import create_db_engine
from concur_scim.store.tables import group_members, groups, users

TOKEN = "conformance-token"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"

# (resource type or None, check title) -> the reason the skip is legitimate. See module doc.
ALLOWED_SKIPS: dict[tuple[str | None, str | None], str] = {}

# The per-resource checks scim2-tester runs; each must have run for both resource types, so
# that a discovery problem cannot make the suite pass by running nothing.
RESOURCE_CHECKS = {
    "object_creation",
    "object_query",
    "object_query_without_id",
    "object_query_with_attributes",
    "object_list_with_attributes",
    "search_with_attributes",
    "object_replacement",
    "object_deletion",
    "check_add_attribute",
    "check_remove_attribute",
    "check_replace_attribute",
}


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for the server process; the rows left in it are deleted afterwards."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'conf.db'}"  # `serve` migrates it
    yield url
    # The PostgreSQL database is shared with the in-process API tests: leave it empty.
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            for table in (group_members, groups, users):
                conn.execute(delete(table))
    finally:
        engine.dispose()


def _members_display_mutability(http: httpx2.Client) -> str | None:
    response = http.get(f"/Schemas/{GROUP_URN}")
    response.raise_for_status()
    for attr in response.json()["attributes"]:
        if attr["name"] == "members":
            for sub in attr.get("subAttributes", []):
                if sub["name"] == "display":
                    mutability: str = sub["mutability"]
                    return mutability
    return None


def _is_readonly_display_false_positive(result: CheckResult) -> bool:
    """A Group PATCH add/replace of ``members`` failing only on the server-set ``display``.

    scim2-tester 0.5.2 compares the patched complex value with the returned one as a whole
    (``scim2_tester.utils.fields_equality``: ``expected.model_dump() == actual.model_dump()``,
    called from ``checkers/patch_add.py`` and ``checkers/patch_replace.py`` after the
    ``modify()`` and the follow-up ``query()``). It leaves readOnly sub-attributes out of the
    value it sends (``filling.fill_with_random_values`` fills only readWrite, writeOnly and
    immutable ones) but still expects them absent from what it reads back. This server
    publishes ``members.display`` as readOnly and fills it from the member's current name
    (RFC 7644 §3.3: readOnly values in requests are ignored; the service provider sets them),
    so the returned member carries a ``display`` the tester did not send. Every other
    sub-attribute (``value``, ``$ref``, ``type``) must still match exactly.
    """
    data = result.data
    if (
        result.status is not Status.ERROR
        or result.resource_type != "Group"
        or result.title not in ("check_add_attribute", "check_replace_attribute")
        or not isinstance(data, dict)
        or data.get("urn") != "members"
    ):
        return False
    expected = data.get("expected")
    actual = data.get("actual", data.get("modify_actual"))
    if not isinstance(expected, list) or not isinstance(actual, list) or not expected:
        return False
    if len(expected) != len(actual):
        return False
    for sent, returned in zip(expected, actual, strict=True):
        if sent.display is not None or not isinstance(returned.display, str):
            return False
        if sent.model_dump(exclude={"display"}) != returned.model_dump(exclude={"display"}):
            return False
    return True


def _immutable_attributes(http: httpx2.Client) -> set[str]:
    """The top-level attributes the published User extension schemas mark immutable."""
    response = http.get("/Schemas")
    response.raise_for_status()
    return {
        f"{schema['id']}:{attr['name']}"
        for schema in response.json()["Resources"]
        if schema["id"].startswith("urn:ietf:params:scim:schemas:extension:")
        for attr in schema["attributes"]
        if attr.get("mutability") == "immutable"
    }


def _is_extension_readd_false_positive(result: CheckResult, immutable: set[str]) -> bool:
    """A User PATCH on an extension attribute that scim2-tester itself had already set.

    ``checkers/patch_add.py`` and ``patch_remove.py`` of scim2-tester 0.5.2 run every path on
    one resource, and a whole extension (``"path": "urn:…:enterprise:2.0:User"``) comes before
    its attributes. So when the tester then adds one attribute of that extension, the
    attribute already holds the values of the whole-extension add:

    - adding to a multi-valued attribute appends (RFC 7644 §3.5.2.1), so the server returns
      the earlier values followed by the added ones, where the tester expects the added ones
      alone (``leavesOfAbsence``, sap ``emails``, TravelPerk ``invoiceProfiles``);
    - setting a different value, or removing the extension, would change an immutable
      attribute that is set, which RFC 7643 §2.2 forbids: the server answers ``mutability``
      (enterprise ``companyId``).

    Tolerated only in exactly those shapes: the added values are returned, last and in
    order; the refused attribute is published immutable.
    """
    data = result.data
    if (
        result.status is not Status.ERROR
        or result.resource_type != "User"
        or result.title not in ("check_add_attribute", "check_remove_attribute")
        or not isinstance(data, dict)
        or not str(data.get("urn", "")).startswith("urn:")
        or str(data.get("urn", "")).startswith(CORE_USER_URN)
    ):
        return False
    error = data.get("error")
    if error is not None:
        urn = str(data["urn"])
        for attribute in immutable:
            extension, name = attribute.rsplit(":", 1)
            if urn in (attribute, extension) and f"attribute '{name}' is immutable" in str(error):
                return True
        return False
    expected, actual = data.get("expected"), data.get("modify_actual")
    if result.title != "check_add_attribute" or not isinstance(expected, list):
        return False
    if not isinstance(actual, list) or not expected or len(actual) <= len(expected):
        return False
    tail = actual[len(actual) - len(expected) :]
    return [_dump(v) for v in tail] == [_dump(v) for v in expected]


def _dump(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def _describe(result: CheckResult) -> str:
    where = f"[{result.resource_type}] " if result.resource_type else ""
    return f"{result.status.name} {where}{result.title}: {result.reason}"


@pytest.mark.server
def test_scim2_tester_reports_no_failure(server_database_url: str) -> None:
    """scim2-tester's every check succeeds against the real server."""
    with (
        running_server(
            server_database_url,
            TOKEN,
            extra_env={
                "CONCUR_SCIM_UNKNOWN_MANAGER": "store",
                "CONCUR_SCIM_GENERIC_VALUES": "any",
            },
        ) as base,
        httpx2.Client(
            base_url=f"{base}/scim/v2",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30.0,
        ) as http,
    ):
        # The preconditions of the tolerated false positives.
        assert _members_display_mutability(http) == "readOnly"
        immutable = _immutable_attributes(http)
        results = check_server(SyncSCIMClient(http))

    failures: list[CheckResult] = []
    tolerated: list[CheckResult] = []
    readded: list[CheckResult] = []
    for result in results:
        if result.status is Status.SUCCESS:
            continue
        if result.status is Status.SKIPPED and (result.resource_type, result.title) in (
            ALLOWED_SKIPS
        ):
            continue
        if _is_readonly_display_false_positive(result):
            tolerated.append(result)
            continue
        if _is_extension_readd_false_positive(result, immutable):
            readded.append(result)
            continue
        failures.append(result)
    assert not failures, f"{len(failures)} of {len(results)} scim2-tester checks failed:\n" + (
        "\n".join(_describe(r) for r in failures)
    )

    ran: dict[str, set[Any]] = {"User": set(), "Group": set()}
    for result in results:
        if result.resource_type in ran:
            ran[result.resource_type].add(result.title)
    for resource_type, titles in ran.items():
        missing = RESOURCE_CHECKS - titles
        assert not missing, f"scim2-tester did not run {sorted(missing)} on {resource_type}"
    # At most the two Group checks above; if scim2-tester stops reporting them, nothing is lost.
    assert len(tolerated) <= 2, "\n".join(_describe(r) for r in tolerated)
    # At most one per multi-valued extension attribute, plus companyId's add and the
    # enterprise extension's remove.
    assert len(readded) <= 5, "\n".join(_describe(r) for r in readded)
