"""/scim/v2/Bulk: RFC 7644 §3.7 synchronous Bulk, on SQLite and PostgreSQL.

Every BulkResponse here is also read by scim2-models' ``BulkResponse`` in the
``BULK_RESPONSE`` context, which holds it to §3.7.3 (``location`` but for a failed POST,
an Error ``response`` for every failure, ``status`` as a string, ``bulkId`` on POST).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scim2_models import BulkResponse, Context, EnterpriseUser, Group, User
from sqlalchemy import Engine, select
from support.factories import CORE_GROUP, ENTERPRISE, group_body, patch, user_body
from support.tokens import Tokens

from concur_scim.api.journal_writer import flush_all
from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.store.tables import request_log

BULK = "/scim/v2/Bulk"
USERS = "/scim/v2/Users"
GROUPS = "/scim/v2/Groups"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE_READ = "identity.user.core.read"
CORE_WRITE = "identity.user.coreenterprise.writeonly"
EXTERNAL_ID_WRITE = "identity.user.externalID.writeonly"
USER_DELETE = "identity.user.delete"
SECRET = "Bulk-Secret-Value-1"


def op(
    method: str,
    path: str,
    data: Any = None,
    bulk_id: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """One BulkRequest operation (RFC 7644 §3.7.1); absent members are left out."""
    out: dict[str, Any] = {"method": method, "path": path}
    if bulk_id is not None:
        out["bulkId"] = bulk_id
    if version is not None:
        out["version"] = version
    if data is not None:
        out["data"] = data
    return out


def bulk(*operations: dict[str, Any], fail_on_errors: int | None = None) -> dict[str, Any]:
    """A BulkRequest of ``operations``."""
    body: dict[str, Any] = {"schemas": [BULK_REQUEST], "Operations": list(operations)}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def run(client: TestClient, body: Any, token: str | None = None) -> list[dict[str, Any]]:
    """POST ``body`` to /scim/v2/Bulk; the results of a 200 BulkResponse, checked against
    RFC 7644 §3.7.3 by scim2-models."""
    response = client.post(BULK, json=body, headers=bearer(token) if token else None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    document = response.json()
    assert document["schemas"] == [BULK_RESPONSE]
    BulkResponse[User[EnterpriseUser] | Group].model_validate(
        document, scim_ctx=Context.BULK_RESPONSE
    )
    for result in document["Operations"]:
        assert isinstance(result["status"], str), result
        assert "data" not in result, result
        assert "path" not in result, result
        if int(result["status"]) < 300:
            assert "response" not in result, result  # no resource body (§3.7.3)
        else:
            assert result["response"]["schemas"] == [ERROR_URN], result
            assert result["response"]["status"] == result["status"], result
    found: list[dict[str, Any]] = document["Operations"]
    return found


def last_segment(location: str) -> str:
    return location.rsplit("/", 1)[1]


def get(client: TestClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def exists(client: TestClient, user_name: str) -> bool:
    found = client.get(USERS, params={"filter": f'userName eq "{user_name}"'}).json()
    return bool(found["totalResults"])


def error_of(result: dict[str, Any], status: str, scim_type: str | None = None) -> str:
    """``result``'s error detail, after checking its status (and scimType)."""
    assert result["status"] == status, result
    assert result["response"].get("scimType") == scim_type, result
    detail: str = result["response"]["detail"]
    return detail


@pytest.fixture
def tokens(client: TestClient, engine: Engine) -> Tokens:
    """A new company's token minter (``client`` first: the database is migrated and clean)."""
    del client
    return Tokens.for_new_company(engine)


# ----------------------------------------------------------------------------- RFC examples


def test_rfc_example_creates_a_user_and_a_group_that_refers_to_it(client: TestClient) -> None:
    """§3.7.2: a group whose member is "bulkId:qwerty" gets the id of the user created by
    the operation with that bulkId; §3.7.3: 200, location, version and "201" per result."""
    user = user_body(userName="Alice@example.com")
    group = {
        "schemas": [CORE_GROUP],
        "displayName": "Tour Guides",
        "members": [{"type": "User", "value": "bulkId:qwerty"}],
    }
    results = run(
        client,
        bulk(
            op("POST", "/Users", user, "qwerty"),
            op("POST", "/Groups", group, "ytrewq"),
        ),
    )
    [made_user, made_group] = results
    assert {k: made_user[k] for k in ("method", "bulkId", "status")} == {
        "method": "POST",
        "bulkId": "qwerty",
        "status": "201",
    }
    assert made_group["bulkId"] == "ytrewq"
    assert made_group["status"] == "201"
    user_id = last_segment(made_user["location"])
    assert made_user["location"] == f"http://testserver{USERS}/{user_id}"
    read = client.get(made_user["location"])
    assert read.headers["ETag"] == made_user["version"]
    stored = get(client, made_group["location"])
    assert stored["displayName"] == "Tour Guides"
    assert [m["value"] for m in stored["members"]] == [user_id]
    assert client.get(made_group["location"]).headers["ETag"] == made_group["version"]


def test_forward_reference_runs_after_the_operation_it_names(client: TestClient) -> None:
    """An operation that names a bulkId defined later runs after that operation (§3.7.2);
    the results come in the order the operations ran."""
    group = group_body(members=[{"type": "User", "value": "bulkId:later"}])
    results = run(
        client,
        bulk(
            op("POST", "/Groups", group, "group"),
            op("POST", "/Users", user_body(), "later"),
        ),
    )
    assert [(r["bulkId"], r["status"]) for r in results] == [("later", "201"), ("group", "201")]
    members = get(client, results[1]["location"])["members"]
    assert [m["value"] for m in members] == [last_segment(results[0]["location"])]


def test_manager_and_path_references_resolve(client: TestClient) -> None:
    """ "bulkId:x" is resolved anywhere in data (an enterprise manager) and in a path."""
    boss = user_body()
    report = user_body(**{ENTERPRISE: {"manager": {"value": "bulkId:boss"}}})
    rename = patch({"op": "replace", "path": "title", "value": "Chief"})
    results = run(
        client,
        bulk(
            op("POST", "/Users", report, "report"),
            op("POST", "/Users", boss, "boss"),
            op("PATCH", "/Users/bulkId:boss", rename),
        ),
    )
    assert [r["status"] for r in results] == ["201", "201", "200"]
    boss_id = last_segment(results[0]["location"])
    assert results[2]["location"].endswith(f"/Users/{boss_id}")
    assert get(client, f"{USERS}/{boss_id}")["title"] == "Chief"
    stored = get(client, results[1]["location"])
    assert stored[ENTERPRISE]["manager"]["value"] == boss_id


# ----------------------------------------------------------------------------- methods


def test_every_method_on_users_and_groups(client: TestClient) -> None:
    """POST 201, PUT 200, PATCH 200 (groups too: a result has no body), DELETE 204, through
    the single routes' service functions; each success carries the new entity tag."""
    kept = client.post(USERS, json=user_body()).json()
    gone = client.post(USERS, json=user_body()).json()
    team = client.post(GROUPS, json=group_body()).json()
    old_team = client.post(GROUPS, json=group_body()).json()
    replacement = user_body(userName=kept["userName"], nickName="Replaced")
    add_member = patch({"op": "add", "path": "members", "value": [{"value": "bulkId:new"}]})
    results = run(
        client,
        bulk(
            op("POST", "/Users", user_body(), "new"),
            op("PUT", f"/Users/{kept['id']}", replacement, version=kept["meta"]["version"]),
            op("PATCH", f"/Groups/{team['id']}", add_member),
            op("PUT", f"/Groups/{old_team['id']}", group_body(displayName="Renamed")),
            op(
                "PATCH", f"/Users/{kept['id']}", patch({"op": "add", "path": "title", "value": "T"})
            ),
            op("DELETE", f"/Users/{gone['id']}"),
            op("DELETE", f"/Groups/{old_team['id']}"),
        ),
    )
    statuses = [(r["method"], r["status"]) for r in results]
    assert statuses == [
        ("POST", "201"),
        ("PUT", "200"),
        ("PATCH", "200"),
        ("PUT", "200"),
        ("PATCH", "200"),
        ("DELETE", "204"),
        ("DELETE", "204"),
    ]
    new_id = last_segment(results[0]["location"])
    assert [m["value"] for m in get(client, f"{GROUPS}/{team['id']}")["members"]] == [new_id]
    stored = client.get(f"{USERS}/{kept['id']}")
    assert stored.json()["nickName"] == "Replaced"
    assert stored.json()["title"] == "T"
    assert stored.headers["ETag"] == results[4]["version"]
    assert "version" not in results[5]
    assert results[5]["location"] == f"http://testserver{USERS}/{gone['id']}"
    assert client.get(f"{USERS}/{gone['id']}").status_code == 404
    assert client.get(f"{GROUPS}/{old_team['id']}").status_code == 404


def test_case_of_members_and_methods_is_free(client: TestClient) -> None:
    """Message member names match in any case (RFC 7643 §2.1), methods and endpoints too."""
    body = {
        "SCHEMAS": [BULK_REQUEST],
        "operations": [
            {"Method": "post", "PATH": "/users", "BulkID": "u", "DATA": user_body()},
        ],
    }
    [result] = run(client, body)
    assert (result["method"], result["bulkId"], result["status"]) == ("POST", "u", "201")
    assert "/scim/v2/Users/" in result["location"]


# ----------------------------------------------------------------------------- bulkId graphs


def test_unknown_bulk_id_self_reference_and_cycle_fail_only_those(client: TestClient) -> None:
    """An unknown bulkId, a reference to its own bulkId and a cycle (RFC 7644 §3.7.2's
    groups A and B) each fail with 400 invalidValue; nothing of them is stored; the
    operation beside them succeeds."""
    a = group_body(members=[{"type": "Group", "value": "bulkId:b"}])
    b = group_body(members=[{"type": "Group", "value": "bulkId:a"}])
    itself = group_body(members=[{"value": "bulkId:self"}])
    results = run(
        client,
        bulk(
            op("POST", "/Groups", group_body(members=[{"value": "bulkId:nobody"}]), "orphan"),
            op("POST", "/Groups", a, "a"),
            op("POST", "/Groups", b, "b"),
            op("POST", "/Groups", itself, "self"),
            op("POST", "/Users", user_body(), "fine"),
        ),
    )
    outcome = {r["bulkId"]: r for r in results}
    assert "nobody" in error_of(outcome["orphan"], "400", "invalidValue")
    assert "circular" in error_of(outcome["a"], "400", "invalidValue")
    assert "circular" in error_of(outcome["b"], "400", "invalidValue")
    assert "own bulkId" in error_of(outcome["self"], "400", "invalidValue")
    assert outcome["fine"]["status"] == "201"
    for failed in ("orphan", "a", "b", "self"):
        assert "location" not in outcome[failed]  # a failed POST created nothing (§3.7.3)
    assert get(client, GROUPS)["totalResults"] == 0


def test_reference_to_a_failed_operation_fails(client: TestClient) -> None:
    """A reference to an operation that failed (here a 409) fails with 400 invalidValue."""
    taken = client.post(USERS, json=user_body()).json()["userName"]
    group = group_body(members=[{"value": "bulkId:dup"}])
    results = run(
        client,
        bulk(
            op("POST", "/Users", user_body(userName=taken), "dup"),
            op("POST", "/Groups", group, "team"),
            op("DELETE", "/Users/bulkId:dup"),
        ),
    )
    assert results[0]["status"] == "409"
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert "dup" in error_of(results[1], "400", "invalidValue")
    assert "dup" in error_of(results[2], "400", "invalidValue")
    assert results[2]["location"].endswith("/Users/bulkId:dup")
    assert get(client, GROUPS)["totalResults"] == 0


# ----------------------------------------------------------------------------- failOnErrors


@pytest.mark.parametrize(("fail_on_errors", "processed"), [(1, 1), (2, 3), (None, 5)])
def test_fail_on_errors_stops_after_that_many_errors(
    client: TestClient, fail_on_errors: int | None, processed: int
) -> None:
    """Once ``failOnErrors`` operations have failed, the rest are neither processed nor
    listed (RFC 7644 §3.7.3); without it every operation runs."""
    names = [user_body() for _ in range(3)]
    body = bulk(
        op("DELETE", f"/Users/{uuid.uuid4()}"),
        op("POST", "/Users", names[0], "u0"),
        op("DELETE", f"/Users/{uuid.uuid4()}"),
        op("POST", "/Users", names[1], "u1"),
        op("POST", "/Users", names[2], "u2"),
        fail_on_errors=fail_on_errors,
    )
    results = run(client, body)
    assert [r["status"] for r in results] == ["404", "201", "404", "201", "201"][:processed]
    created = [exists(client, n["userName"]) for n in names]
    assert created == [processed > 1, processed > 3, processed > 4]


# ----------------------------------------------------------------------------- atomicity


def test_version_mismatch_is_412_in_that_operation(client: TestClient) -> None:
    """``version`` is the operation's If-Match (RFC 7644 §3.14): a stale one is 412 in that
    operation and changes nothing; a current one applies."""
    user = client.post(USERS, json=user_body()).json()
    url = f"/Users/{user['id']}"
    first = user["meta"]["version"]
    results = run(
        client,
        bulk(
            op("PUT", url, user_body(userName=user["userName"], title="No"), version='W/"99"'),
            op("PATCH", url, patch({"op": "add", "path": "title", "value": "Yes"}), version=first),
            op("DELETE", url, version=first),
        ),
    )
    error_of(results[0], "412")
    assert results[0]["location"].endswith(url)
    assert results[1]["status"] == "200"
    assert results[1]["version"] != first
    error_of(results[2], "412")
    stored = client.get(f"{USERS}/{user['id']}")
    assert stored.json()["title"] == "Yes"
    assert stored.headers["ETag"] == results[1]["version"]


def test_a_failed_operation_leaves_nothing_behind(client: TestClient) -> None:
    """A group PATCH that adds a member, then fails on a taken displayName (409), leaves
    the group as it was (its own SAVEPOINT), while the operations around it stand."""
    other = client.post(GROUPS, json=group_body()).json()
    team = client.post(GROUPS, json=group_body()).json()
    member = client.post(USERS, json=user_body()).json()["id"]
    before = client.get(f"{GROUPS}/{team['id']}")
    failing = patch(
        {"op": "add", "path": "members", "value": [{"value": member}]},
        {"op": "replace", "path": "displayName", "value": other["displayName"]},
    )
    replacing = group_body(displayName=other["displayName"], members=[{"value": member}])
    results = run(
        client,
        bulk(
            op("POST", "/Users", user_body(), "first"),
            op("PATCH", f"/Groups/{team['id']}", failing),
            op("PUT", f"/Groups/{team['id']}", replacing),
            op("POST", "/Users", user_body(), "last"),
        ),
    )
    assert [r["status"] for r in results] == ["201", "409", "409", "201"]
    after = client.get(f"{GROUPS}/{team['id']}")
    assert after.json() == before.json()
    assert after.headers["ETag"] == before.headers["ETag"]
    for result in (results[0], results[3]):
        assert client.get(result["location"]).status_code == 200


# ----------------------------------------------------------------------------- limits


@contextmanager
def dedicated_app(settings: Settings, **overrides: Any) -> Iterator[TestClient]:
    """An app on this backend's database with ``overrides`` (no embedded worker)."""
    changed = settings.model_copy(update={"embedded_worker": False, **overrides})
    headers = {"Authorization": "Bearer test-token"}
    with TestClient(create_app(changed), headers=headers, raise_server_exceptions=False) as app:
        yield app


@pytest.mark.parametrize(
    "overrides", [{}, {"scim_bulk_max_operations": 3, "scim_bulk_max_payload_bytes": 4096}]
)
def test_the_advertised_limits_are_the_enforced_ones(
    client: TestClient, settings: Settings, overrides: dict[str, Any]
) -> None:
    """ServiceProviderConfig ``bulk`` states maxOperations and maxPayloadSize; one operation
    or one byte more is 413 with a SCIM Error (RFC 7644 §3.7.4) and nothing runs; exactly
    maxOperations is processed."""
    del client  # the database is clean afterwards
    with dedicated_app(settings, **overrides) as app:
        config = app.get("/scim/v2/ServiceProviderConfig").json()["bulk"]
        assert config["supported"] is True
        most = config["maxOperations"]
        assert most == overrides.get("scim_bulk_max_operations", settings.scim_bulk_max_operations)
        assert config["maxPayloadSize"] == overrides.get(
            "scim_bulk_max_payload_bytes", settings.scim_bulk_max_payload_bytes
        )
        user = user_body()
        extra = [op("DELETE", f"/Users/{uuid.uuid4()}") for _ in range(most)]
        too_many = app.post(BULK, json=bulk(op("POST", "/Users", user, "u"), *extra))
        assert too_many.status_code == 413, too_many.text
        assert too_many.json()["schemas"] == [ERROR_URN]
        assert too_many.json()["status"] == "413"
        assert not exists(app, user["userName"])
        enough = app.post(BULK, json=bulk(*extra, fail_on_errors=1))
        assert enough.status_code == 200, enough.text
        assert len(enough.json()["Operations"]) == 1
        padded = bulk(op("POST", "/Users", user, "u"))
        padded["pad"] = ""
        raw = json.dumps(padded).encode()
        room = config["maxPayloadSize"] - len(raw) + 1
        raw = raw.replace(b'"pad": ""', b'"pad": "' + b"x" * room + b'"')
        assert len(raw) == config["maxPayloadSize"] + 1
        too_big = app.post(BULK, content=raw, headers={"Content-Type": "application/scim+json"})
        assert too_big.status_code == 413, too_big.text
        assert too_big.json()["schemas"] == [ERROR_URN]
        assert not exists(app, user["userName"])
        fits = app.post(BULK, content=raw.replace(b"xx", b"x", 1))
        assert fits.status_code == 200, fits.text
        assert exists(app, user["userName"])


def test_other_dialects_keep_their_bulk_configuration(
    client: TestClient, settings: Settings
) -> None:
    """Only /scim/v2 serves the synchronous Bulk; User Provisioning keeps Concur's limits and
    the other Concur dialects still say ``bulk.supported: false``."""
    for root in ("/profile/identity/v4", "/profile/identity/v4.1", "/scim/v4"):
        config = client.get(f"{root}/ServiceProviderConfig").json()["bulk"]
        assert config == {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}, root
        assert client.post(f"{root}/Bulk", json=bulk()).status_code in (404, 405), root
    ups = client.get("/profile/v4/ServiceProviderConfig").json()["bulk"]
    assert ups == {
        "supported": True,
        "maxOperations": settings.bulk_max_operations,
        "maxPayloadSize": settings.bulk_max_payload_bytes,
    }


# ----------------------------------------------------------------------------- malformed


MALFORMED: dict[str, Any] = {
    "not an object": [],
    "no schemas": {"Operations": [op("DELETE", "/Users/x")]},
    "another schema": {"schemas": [ERROR_URN], "Operations": [op("DELETE", "/Users/x")]},
    "no Operations": {"schemas": [BULK_REQUEST]},
    "empty Operations": bulk(),
    "Operations not an array": {"schemas": [BULK_REQUEST], "Operations": {"method": "POST"}},
    "operation not an object": {"schemas": [BULK_REQUEST], "Operations": ["DELETE /Users/x"]},
    "unknown method": bulk(op("GET", "/Users/x")),
    "no method": bulk({"path": "/Users/x"}),
    "unknown endpoint": bulk(op("POST", "/Things", {}, "t")),
    "POST with an id": bulk(op("POST", "/Users/x", {}, "t")),
    "PUT without an id": bulk(op("PUT", "/Users", {})),
    "POST without bulkId": bulk(op("POST", "/Users", user_body())),
    "empty bulkId": bulk(op("POST", "/Users", user_body(), "")),
    "duplicate bulkId": bulk(op("POST", "/Users", {}, "a"), op("POST", "/Groups", {}, "a")),
    "POST without data": bulk(op("POST", "/Users", None, "a")),
    "data not an object": bulk(op("PATCH", "/Users/x", "replace")),
    "version not a string": bulk({**op("DELETE", "/Users/x"), "version": 3}),
    "failOnErrors a string": {**bulk(op("DELETE", "/Users/x")), "failOnErrors": "1"},
    "failOnErrors a boolean": {**bulk(op("DELETE", "/Users/x")), "failOnErrors": True},
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_bulk_request_is_400_invalid_syntax(client: TestClient, name: str) -> None:
    """A body that is not a BulkRequest is refused as a whole (400 invalidSyntax), before
    any operation runs: a valid create sent with it is not made."""
    body = MALFORMED[name]
    user = user_body()
    if isinstance(body, dict) and isinstance(body.get("Operations"), list) and body["Operations"]:
        body = {**body, "Operations": [op("POST", "/Users", user, "valid"), *body["Operations"]]}
    response = client.post(BULK, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidSyntax", response.text
    assert not exists(client, user["userName"])


def test_fail_on_errors_below_one_and_broken_json_are_400(client: TestClient) -> None:
    """failOnErrors 0 is 400 invalidValue; a body that is not JSON is 400 invalidSyntax."""
    zero = client.post(BULK, json=bulk(op("DELETE", "/Users/x"), fail_on_errors=0))
    assert zero.status_code == 400, zero.text
    assert zero.json()["scimType"] == "invalidValue"
    broken = client.post(
        BULK, content=b'{"schemas": [', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400, broken.text
    assert broken.json()["scimType"] == "invalidSyntax"
    assert client.get(BULK).status_code == 405


# ----------------------------------------------------------------------------- scopes


def test_each_operation_needs_its_single_routes_scopes(client: TestClient, tokens: Tokens) -> None:
    """Each operation is held to its single route's scopes (reference §7): a refused one is
    403 naming the scope and stores nothing, the others run; externalId needs its scope."""
    owner = tokens.static(None)
    victim = run(client, bulk(op("POST", "/Users", user_body(), "v")), owner)[0]["location"]
    victim_path = "/Users/" + last_segment(victim)
    writer = tokens.jwt([CORE_WRITE])
    external = user_body(externalId="ext-1")
    results = run(
        client,
        bulk(
            op("POST", "/Users", user_body(), "made"),
            op("DELETE", victim_path),
            op("POST", "/Users", external, "external"),
            op("POST", "/Groups", group_body(members=[{"value": "bulkId:made"}]), "team"),
        ),
        writer,
    )
    assert [r["status"] for r in results] == ["201", "403", "403", "201"]
    assert USER_DELETE in error_of(results[1], "403")
    assert EXTERNAL_ID_WRITE in error_of(results[2], "403")
    assert client.get(victim, headers=bearer(owner)).status_code == 200
    query = {"filter": f'userName eq "{external["userName"]}"'}
    found = client.get(USERS, params=query, headers=bearer(owner)).json()
    assert found["totalResults"] == 0
    deleter = tokens.jwt([USER_DELETE])
    results = run(
        client,
        bulk(op("POST", "/Groups", group_body(), "g"), op("DELETE", victim_path)),
        deleter,
    )
    assert [r["status"] for r in results] == ["403", "204"]
    assert CORE_WRITE in error_of(results[0], "403")
    reader = client.post(
        BULK, json=bulk(op("DELETE", victim_path)), headers=bearer(tokens.jwt([CORE_READ]))
    )
    assert reader.status_code == 403, reader.text
    assert CORE_WRITE in reader.json()["detail"]


def test_a_put_without_the_external_id_scope_keeps_it(client: TestClient, tokens: Tokens) -> None:
    """As on PUT /Users/{id}: a Bulk PUT from a token without the externalId scope keeps
    the stored externalId rather than clearing it."""
    owner = tokens.static(None)
    body = user_body(externalId="keep-me")
    [created] = run(client, bulk(op("POST", "/Users", body, "u")), owner)
    replacement = {k: v for k, v in body.items() if k != "externalId"} | {"nickName": "New"}
    path = "/Users/" + last_segment(created["location"])
    [put] = run(client, bulk(op("PUT", path, replacement)), tokens.jwt([CORE_WRITE]))
    assert put["status"] == "200", put
    stored = client.get(created["location"], headers=bearer(owner)).json()
    assert (stored["nickName"], stored["externalId"]) == ("New", "keep-me")


# ----------------------------------------------------------------------------- isolation


def test_another_companys_ids_are_not_found(client: TestClient, tokens: Tokens) -> None:
    """Another company's user or group in a path is 404 in that operation, answered exactly
    as an unknown id, and is left untouched; as a member or manager it is refused as an
    unknown id is."""
    theirs = tokens.static(None)
    created = run(
        client,
        bulk(op("POST", "/Users", user_body(), "u"), op("POST", "/Groups", group_body(), "g")),
        theirs,
    )
    their_user, their_group = (last_segment(r["location"]) for r in created)
    before = [client.get(r["location"], headers=bearer(theirs)).json() for r in created]

    def attempts(user_id: str, group_id: str) -> list[dict[str, Any]]:
        return [
            op("PUT", f"/Users/{user_id}", user_body()),
            op("PATCH", f"/Users/{user_id}", patch({"op": "add", "path": "title", "value": "x"})),
            op("DELETE", f"/Users/{user_id}"),
            op("PUT", f"/Groups/{group_id}", group_body()),
            op("DELETE", f"/Groups/{group_id}"),
            op("POST", "/Groups", group_body(members=[{"value": user_id}]), "member"),
            op("POST", "/Users", user_body(**{ENTERPRISE: {"manager": {"value": user_id}}}), "m"),
        ]

    unknown_user, unknown_group = str(uuid.uuid4()), str(uuid.uuid4())
    foreign = run(client, bulk(*attempts(their_user, their_group)))
    control = run(client, bulk(*attempts(unknown_user, unknown_group)))
    assert [r["status"] for r in foreign] == ["404"] * 5 + ["400", "400"]

    def masked(results: list[dict[str, Any]], *ids: str) -> str:
        text = json.dumps(results)
        for value in ids:
            text = text.replace(value, "<ID>")
        return text

    assert masked(foreign, their_user, their_group) == masked(control, unknown_user, unknown_group)
    after = [client.get(r["location"], headers=bearer(theirs)).json() for r in created]
    assert after == before


# ----------------------------------------------------------------------------- audit


def test_the_audit_trail_records_the_bulk_request_redacted(
    client: TestClient, engine: Engine
) -> None:
    """A Bulk request is one audited write (resource type Bulk); passwords in operation
    data, as a member or as a PATCH value, are stored as [redacted]."""
    created = client.post(USERS, json=user_body()).json()
    set_password = patch({"op": "replace", "path": "password", "value": SECRET})
    run(
        client,
        bulk(
            op("POST", "/Users", user_body(password=SECRET), "u"),
            op("PATCH", f"/Users/{created['id']}", set_password),
        ),
    )
    flush_all()  # the journal's rows are written by its own thread
    with engine.connect() as conn:
        rows = conn.execute(select(request_log).order_by(request_log.c.seq)).mappings().all()
    [row] = [r for r in rows if r["path"] == BULK]
    assert (row["method"], row["status"], row["resource_type"]) == ("POST", 200, "Bulk")
    operations = row["detail"]["json"]["Operations"]
    assert operations[0]["data"]["password"] == "[redacted]"
    assert operations[1]["data"]["Operations"][0]["value"] == "[redacted]"
    assert SECRET not in json.dumps(row["detail"])
