"""Passwords set through PATCH never reach the audit trail (docs/security.md "What is logged").

A PATCH operation names what it sets in its ``path``, so ``{"op": "replace", "path":
"password", "value": "…"}`` carries a password without any secret-named key. Each spelling
a client may send is written here through the API (SQLite and PostgreSQL), and the stored
``request_log`` row is read back from the database: the secret appears nowhere in it, nor in
the log. A property test then drives ``body_summary``/``redact_json`` with generated
spellings of the path and of the operation's member names.

Budget of the property test: 300 derandomized PATCH bodies.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from support.factories import CORE_USER, ENTERPRISE, PATCH_OP, user_body
from support.ups import BULK_REQUEST, LEGACY_UPS, UPS

from concur_scim.api.journal_writer import flush_all
from concur_scim.api.redaction import REDACTED, SECRET_KEYS, body_summary, names_secret, redact_json
from concur_scim.store.tables import request_log

SECRET = "Pl4in-Passw0rd-Value"

PROPERTY = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture
def audit_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` recording every logger at INFO."""
    caplog.set_level(logging.INFO)
    return caplog


@pytest.fixture
def user_id(client: TestClient) -> str:
    """The id of a user created for the test (its create row is ignored by the checks)."""
    response = client.post("/scim/v2/Users", json=user_body())
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


def stored_row(engine: Engine, method: str, path: str) -> dict[str, Any]:
    """The one ``request_log`` row of ``method`` on ``path``, as stored."""
    flush_all()  # the journal's rows are written by its own thread
    with engine.connect() as conn:
        query = select(request_log).where(
            request_log.c.method == method, request_log.c.path == path
        )
        found = [dict(row) for row in conn.execute(query).mappings()]
    assert len(found) == 1, found
    return found[0]


def assert_secret_not_stored(
    engine: Engine, method: str, path: str, caplog: pytest.LogCaptureFixture
) -> dict[str, Any]:
    """The row of ``method`` on ``path`` holds a parsed, redacted body and no ``SECRET``
    anywhere (any column); the log has none either. Returns the stored ``detail``."""
    row = stored_row(engine, method, path)
    assert SECRET not in json.dumps(row, default=str, ensure_ascii=False)
    detail = row["detail"]
    assert isinstance(detail, dict)
    assert "json" in detail, detail  # parsed, not just sized
    assert REDACTED in json.dumps(detail)
    assert SECRET not in caplog.text
    return detail


def patch_body(operation: dict[str, Any], operations_key: str = "Operations") -> dict[str, Any]:
    """A PatchOp message with one operation under ``operations_key``."""
    return {"schemas": [PATCH_OP], operations_key: [operation]}


@pytest.mark.parametrize(
    "path",
    [
        "password",
        "PASSWORD",
        "Password",
        f"{CORE_USER}:password",
        f"{CORE_USER.upper()}:PASSWORD",
        f"{CORE_USER}.password",  # Entra's dot separator
        "  password\t",
        f" \n{CORE_USER}:Password  ",
        "password.value",
    ],
)
def test_patch_path_naming_password_is_redacted(
    client: TestClient,
    engine: Engine,
    user_id: str,
    audit_log: pytest.LogCaptureFixture,
    path: str,
) -> None:
    """``"path": <password, any spelling>`` hides the operation's ``value``."""
    operation = {"op": "replace", "path": path, "value": SECRET}
    response = client.patch(f"/scim/v2/Users/{user_id}", json=patch_body(operation))
    assert response.status_code < 500, response.text
    detail = assert_secret_not_stored(engine, "PATCH", f"/scim/v2/Users/{user_id}", audit_log)
    [stored] = detail["json"]["Operations"]
    assert stored == {"op": "replace", "path": path, "value": REDACTED}


@pytest.mark.parametrize(
    ("operations_key", "op_key", "path_key", "value_key"),
    [
        ("Operations", "OP", "Path", "VALUE"),
        ("operations", "op", "PATH", "Value"),
        ("OPERATIONS", "Op", "pAtH", "vAlUe"),
    ],
)
def test_operation_member_names_in_any_case_are_redacted(
    client: TestClient,
    engine: Engine,
    user_id: str,
    audit_log: pytest.LogCaptureFixture,
    operations_key: str,
    op_key: str,
    path_key: str,
    value_key: str,
) -> None:
    """The engine takes ``Operations``, ``op``, ``path`` and ``value`` in any case; so does
    the redaction."""
    operation = {op_key: "Replace", path_key: "Password", value_key: SECRET}
    body = patch_body(operation, operations_key)
    response = client.patch(f"/scim/v2/Users/{user_id}", json=body)
    assert response.status_code < 500, response.text
    detail = assert_secret_not_stored(engine, "PATCH", f"/scim/v2/Users/{user_id}", audit_log)
    assert detail["json"][operations_key][0][value_key] == REDACTED


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "value": {"password": SECRET, "displayName": "Shown"}},
        {"op": "replace", "value": {CORE_USER: {"password": SECRET}}},
        {"op": "replace", "value": {f"{CORE_USER}:password": SECRET}},
        {"op": "replace", "path": CORE_USER, "value": {"Password": SECRET}},
        {"op": "add", "path": "password", "value": {"value": SECRET, "nested": [SECRET]}},
    ],
    ids=["pathless", "core-urn-object", "urn-qualified-key", "path-is-core-urn", "object-value"],
)
def test_pathless_and_object_values_holding_password_are_redacted(
    client: TestClient,
    engine: Engine,
    user_id: str,
    audit_log: pytest.LogCaptureFixture,
    operation: dict[str, Any],
) -> None:
    """A password inside an object value (path-less, keyed by the core URN, keyed by a
    URN-qualified name) or an object value under a password path is masked."""
    response = client.patch(f"/scim/v2/Users/{user_id}", json=patch_body(operation))
    assert response.status_code < 500, response.text
    assert_secret_not_stored(engine, "PATCH", f"/scim/v2/Users/{user_id}", audit_log)


def test_other_operations_of_the_same_patch_stay_visible(
    client: TestClient, engine: Engine, user_id: str, audit_log: pytest.LogCaptureFixture
) -> None:
    """Only the password operation's value is masked: the audit keeps what else changed."""
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Still Visible"},
            {"op": "replace", "path": "password", "value": SECRET},
            {"op": "replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "E-77"},
        ],
    }
    response = client.patch(f"/scim/v2/Users/{user_id}", json=body)
    assert response.status_code == 200, response.text
    detail = assert_secret_not_stored(engine, "PATCH", f"/scim/v2/Users/{user_id}", audit_log)
    values = [op["value"] for op in detail["json"]["Operations"]]
    assert values == ["Still Visible", REDACTED, "E-77"]


def test_ups_user_patch_is_redacted(
    client: TestClient, engine: Engine, user_id: str, audit_log: pytest.LogCaptureFixture
) -> None:
    """UPS ``PATCH /profile/v4/Users/{id}`` takes the same PatchOp bodies."""
    operation = {"op": "replace", "path": f"{CORE_USER}:password", "value": SECRET}
    response = client.patch(f"{UPS}/Users/{user_id}", json=patch_body(operation))
    assert response.status_code < 500, response.text
    assert_secret_not_stored(engine, "PATCH", f"{UPS}/Users/{user_id}", audit_log)


@pytest.mark.parametrize("root", [UPS, LEGACY_UPS])
def test_ups_bulk_patch_operation_is_redacted(
    client: TestClient,
    engine: Engine,
    user_id: str,
    audit_log: pytest.LogCaptureFixture,
    root: str,
) -> None:
    """A UPS Bulk PATCH operation carries a PatchOp in its ``data``: masked there too."""
    data = patch_body({"op": "replace", "path": "password", "value": SECRET})
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "PATCH", "path": f"/Users/{user_id}", "bulkId": "p1", "data": data}
        ],
    }
    response = client.post(f"{root}/Bulk", json=body)
    assert response.status_code == 202, response.text
    detail = assert_secret_not_stored(engine, "POST", f"{root}/Bulk", audit_log)
    [stored] = detail["json"]["Operations"]
    assert stored["path"] == f"/Users/{user_id}"  # the Bulk operation itself is kept
    assert stored["data"]["Operations"][0]["value"] == REDACTED


def test_scim_v2_bulk_request_leaves_no_secret(
    client: TestClient, engine: Engine, user_id: str, audit_log: pytest.LogCaptureFixture
) -> None:
    """The synchronous /scim/v2/Bulk (RFC 7644 §3.7) is one audited write: a PatchOp in an
    operation's ``data`` setting a password, however its members are spelled, is masked in
    the row, and the log line never carries the body."""
    data = patch_body({"Op": "replace", "Path": " PASSWORD ", "Value": SECRET})
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [{"method": "PATCH", "path": f"/Users/{user_id}", "data": data}],
    }
    response = client.post("/scim/v2/Bulk", json=body)
    assert response.status_code == 200, response.text
    detail = assert_secret_not_stored(engine, "POST", "/scim/v2/Bulk", audit_log)
    [stored] = detail["json"]["Operations"]
    assert stored["data"]["Operations"][0]["Value"] == REDACTED
    assert '"path":"/scim/v2/Bulk"' in audit_log.text


def test_names_secret_spellings() -> None:
    """Secret names in any case, qualified by a schema URN or with a sub path are secret;
    names that merely contain one are not."""
    for name in ("password", " PASSWORD ", f"{CORE_USER}:Password", "password[x eq 1]"):
        assert names_secret(name), name
    for name in ("client_secret", "Refresh_Token", "authorization", "name.password"):
        assert names_secret(name), name
    for name in ("passwordHint", "displayName", CORE_USER, f"{ENTERPRISE}:manager", "x-token"):
        assert not names_secret(name), name


# --- property: generated spellings of a password PATCH --------------------------------------

_URN_PREFIXES = ["", f"{CORE_USER}:", f"{CORE_USER}.", "urn:example:params:scim:schemas:x:1.0:U:"]
_SUB_PATHS = ["", ".value", '[type eq "work"]', "[value pr].display"]
_SPACE = st.text(st.sampled_from(" \t\r\n"), max_size=3)
_SECRETS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=4).map(
    lambda tail: f"Sekr3t-{tail}"
)


@st.composite
def any_case(draw: st.DrawFn, text: str) -> str:
    """``text`` with each letter's case drawn."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if up else c.lower() for c, up in zip(text, flips, strict=True))


@st.composite
def secret_paths(draw: st.DrawFn) -> str:
    """A PATCH path naming a secret: optional URN prefix and sub path, any case, spaces."""
    name = draw(st.sampled_from(["password"] * 3 + sorted(SECRET_KEYS)))
    core = draw(st.sampled_from(_URN_PREFIXES)) + name + draw(st.sampled_from(_SUB_PATHS))
    return draw(_SPACE) + draw(any_case(core)) + draw(_SPACE)


@st.composite
def patch_bodies(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A PatchOp (alone, or as the ``data`` of a Bulk operation) with the secret as the
    value of one operation whose path names a secret, next to operations that do not."""
    secret = draw(_SECRETS)
    value: Any = draw(
        st.sampled_from([secret, {"value": secret}, [secret], {"x": [{"y": secret}]}])
    )
    secret_op: dict[str, Any] = {
        draw(any_case("op")): draw(st.sampled_from(["add", "replace", "Replace"])),
        draw(any_case("path")): draw(secret_paths()),
        draw(any_case("value")): value,
    }
    decoy = {"op": "replace", "path": "displayName", "value": "decoy-visible"}
    operations: list[dict[str, Any]] = [decoy, decoy]
    operations.insert(draw(st.integers(0, 2)), secret_op)
    body: dict[str, Any] = {"schemas": [PATCH_OP], draw(any_case("Operations")): operations}
    if draw(st.booleans()):
        bulk_op = {"method": "PATCH", "path": "/Users/u1", "data": body}
        body = {"schemas": [BULK_REQUEST], draw(any_case("Operations")): [bulk_op]}
    return body, secret


@PROPERTY
@given(patch_bodies())
def test_secret_never_in_summary_of_generated_patch(case: tuple[dict[str, Any], str]) -> None:
    """For every generated body the secret is absent from the JSON-serialized summary (and
    from ``redact_json``'s result), while the decoy operations' values stay."""
    body, secret = case
    raw = json.dumps(body).encode()
    summary = body_summary(raw, "application/scim+json", size=len(raw))
    text = json.dumps(summary, ensure_ascii=False)
    assert secret not in text
    assert secret not in json.dumps(redact_json(body), ensure_ascii=False)
    assert text.count("decoy-visible") == 2
