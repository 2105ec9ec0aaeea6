"""Scopes per endpoint and attribute (reference/concur-v4.md §7 "Scopes", §3.1, §9 item 15).

The routes come from the application's route table (:func:`support.isolation.app_routes`);
:data:`TABLE` classifies each one: public, or the scopes it needs (all of them, or one of
them). A route missing from the table fails ``test_route_enforces_its_scopes``
("unclassified route"); a table entry the app no longer serves fails
``test_table_has_no_stale_routes``. The table is written here, independently of
``api/scopes.py``, so a change of either shows.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.factories import patch, user_body
from support.isolation import CONSOLE_FORMS, CONSOLE_PAGES, CONSOLE_PUBLIC, app_routes
from support.tokens import Tokens
from support.ups import (
    IDV4,
    SPEND_USER,
    UPS,
    bulk_body,
    full_user,
    identity,
    operation,
    spend_user,
)

from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.services.credentials import SCOPE_CATALOGUE

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PROVISION_WRITE = "user.provision.write"
PROVISION_READ = "user.provision.read"
CORE_READ = "identity.user.core.read"
CORE_WRITE = "identity.user.coreenterprise.writeonly"
EXTERNAL_ID_WRITE = "identity.user.externalID.writeonly"
VERIFIED_WRITE = "identity.user.emails.verified.writeonly"
USER_DELETE = "identity.user.delete"
SPEND_READ = "spend.user.general.read"
SPEND_WRITE = "spend.user.general.writeonly"
TRAVEL_READ = "travel.user.general.read"
PROFILE_SEARCH = "user.profile.search.read"


@dataclass(frozen=True)
class Need:
    """What a route needs: every scope of ``all_of``, and one of ``any_of`` if any;
    ``legacy``: User v1.0, which answers an invalid token with 403 (concur-user-v1.md §2.4)."""

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    legacy: bool = False
    admin: bool = False
    console: bool = False


PUBLIC = None
ANY_TOKEN = Need()
# The admin API (README "Admin API"): its own token; no company token, whatever its scopes.
ADMIN = Need(admin=True)
# The web console: the admin token, as a session cookie or a bearer token; others sign in.
CONSOLE = Need(console=True)
ADMIN_ROUTES = (
    ("GET", "/_admin/journal"),
    ("GET", "/_admin/provisions"),
    ("POST", "/_admin/reset"),
    ("POST", "/_admin/seed"),
    ("POST", "/_admin/faults"),
    ("GET", "/_admin/faults"),
    ("DELETE", "/_admin/faults"),
    ("DELETE", "/_admin/faults/{rule_id}"),
    ("POST", "/_admin/worker/pause"),
    ("POST", "/_admin/worker/resume"),
    ("PUT", "/_admin/webhooks/{company_id}"),
    ("GET", "/_admin/webhooks/{company_id}"),
    ("DELETE", "/_admin/webhooks/{company_id}"),
)


def _table() -> dict[tuple[str, str], Need | None]:
    table: dict[tuple[str, str], Need | None] = {
        ("GET", "/healthz"): PUBLIC,
        ("GET", "/readyz"): PUBLIC,
        ("GET", "/metrics"): PUBLIC,
        ("POST", "/oauth2/v0/token"): PUBLIC,
        ("GET", "/oauth2/v0/jwks"): PUBLIC,
        # The API's description and its Swagger UI: no data, so no token.
        ("GET", "/openapi.json"): PUBLIC,
        ("GET", "/docs"): PUBLIC,
        ("GET", "/docs/assets/{name}"): PUBLIC,
    }
    read, write, delete = Need((CORE_READ,)), Need((CORE_WRITE,)), Need((USER_DELETE,))
    discovery = ["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/{name}"]
    discovery += ["/Schemas", "/Schemas/{urn}"]
    for root in ("/scim/v2", "/profile/identity/v4", "/profile/identity/v4.1", "/scim/v4"):
        table |= {("GET", root + path): ANY_TOKEN for path in discovery}
        table |= {
            ("GET", f"{root}/Users"): read,
            ("POST", f"{root}/Users"): write,
            ("GET", f"{root}/Users/{{resource_id}}"): read,
            ("PUT", f"{root}/Users/{{resource_id}}"): write,
            ("PATCH", f"{root}/Users/{{resource_id}}"): write,
            ("DELETE", f"{root}/Users/{{resource_id}}"): delete,
        }
    search = Need(any_of=(CORE_READ, PROFILE_SEARCH))
    table |= {
        ("POST", "/scim/v2/.search"): read,
        ("POST", "/scim/v2/Users/.search"): search,
        ("POST", "/profile/identity/v4.1/Users/.search"): search,
        ("GET", "/scim/v2/Groups"): read,
        ("POST", "/scim/v2/Groups"): write,
        ("POST", "/scim/v2/Groups/.search"): read,
        ("GET", "/scim/v2/Groups/{resource_id}"): read,
        ("PUT", "/scim/v2/Groups/{resource_id}"): write,
        ("PATCH", "/scim/v2/Groups/{resource_id}"): write,
        ("DELETE", "/scim/v2/Groups/{resource_id}"): write,
        # RFC 7644 §3.7: a token that can write something; each operation then needs its
        # single route's scopes (tests/api/test_scim_bulk.py).
        ("POST", "/scim/v2/Bulk"): Need(any_of=(CORE_WRITE, USER_DELETE)),
        ("GET", "/scim/v4/Groups"): read,
        ("GET", "/scim/v4/Groups/{group_id}"): read,
        ("PUT", "/scim/v4/Groups/{group_id}"): write,
        ("PATCH", "/scim/v4/Groups/{group_id}"): write,
    }
    provision_write = Need((PROVISION_WRITE, CORE_WRITE))
    for root in ("/profile/v4", "/provisioning/v4"):
        table |= {("GET", root + path): Need((PROVISION_READ,)) for path in discovery}
        table |= {
            ("GET", f"{root}/ServiceProviderConfig"): ANY_TOKEN,
            ("POST", f"{root}/Users"): provision_write,
            ("PUT", f"{root}/Users/{{user_id}}"): provision_write,
            ("PATCH", f"{root}/Users/{{user_id}}"): provision_write,
            ("DELETE", f"{root}/Users/{{user_id}}"): delete,
            ("POST", f"{root}/Bulk"): Need((PROVISION_WRITE,)),
            ("GET", f"{root}/provisions/{{provision_id}}/status"): Need((PROVISION_READ,)),
            # User Retrieval v4 (§3.1): its own scope, not identity.user.core.read
            ("POST", f"{root}/Users/.search"): Need((PROFILE_SEARCH,)),
        }
    table |= {
        ("GET", "/profile/spend/v4.1/Users"): Need((SPEND_READ,)),
        ("GET", "/profile/spend/v4.1/Users/{user_id}"): Need((SPEND_READ,)),
        ("GET", "/profile/spend/v4/Users/roleCodes"): Need((SPEND_READ,)),
        ("GET", "/profile/travel/v4/Users/{user_id}"): Need((TRAVEL_READ,)),
        ("POST", "/api/user/v1.0/users"): Need((CORE_WRITE,), legacy=True),
        ("POST", "/api/user/v1.0/users/password"): Need((CORE_WRITE,), legacy=True),
        ("GET", "/api/user/v1.0/user"): Need((CORE_READ,), legacy=True),
        ("GET", "/api/user/v1.0/formfields"): Need(legacy=True),
        ("GET", "/api/v3.0/common/users"): Need((CORE_READ,), legacy=True),
    }
    table |= dict.fromkeys(ADMIN_ROUTES, ADMIN)
    table |= dict.fromkeys(CONSOLE_PUBLIC, PUBLIC)
    table |= dict.fromkeys(CONSOLE_PAGES + CONSOLE_FORMS, CONSOLE)
    return table


TABLE = _table()
ROUTES = app_routes(create_app(Settings(database_url="sqlite://")))


def route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


# ----------------------------------------------------------------------------- tokens


@pytest.fixture
def tokens(client: TestClient, engine: Engine) -> Tokens:
    """A new company's token minter (``client`` first: the database is migrated and clean)."""
    del client
    return Tokens.for_new_company(engine)


@pytest.fixture(scope="module")
def foreign_key() -> bytes:
    """An RSA private key this server never held (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def forged(genuine: str, pem: bytes) -> str:
    """``genuine``'s claims and kid, signed by another key."""
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})


# ----------------------------------------------------------------------------- requests


def call(
    client: TestClient,
    method: str,
    path: str,
    bearer: str | None,
    *,
    follow_redirects: bool = True,
) -> Any:
    """``method path`` with its path parameters filled and a body of the right kind."""
    url = path.replace("{name}", "User").replace("{urn}", CORE_USER)
    url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), url)
    headers = {"Authorization": f"Bearer {bearer}" if bearer is not None else ""}
    content: str | None = None
    if url.startswith("/api/") and method == "POST":
        headers["Content-Type"] = "application/xml"
        content = "<batch/>"
    elif method in ("POST", "PUT", "PATCH"):
        content = "{}"
    return client.request(
        method, url, content=content, headers=headers, follow_redirects=follow_redirects
    )


def without(*scopes: str) -> list[str]:
    return [s for s in SCOPE_CATALOGUE if s not in scopes]


def refused_for(response: Any, scope: str) -> None:
    assert response.status_code == 403, (response.status_code, response.text)
    assert scope in response.text, response.text


def admitted(response: Any) -> None:
    assert response.status_code not in (401, 403), (response.status_code, response.text)
    assert response.status_code < 500, response.text


# ----------------------------------------------------------------------------- route table


def test_table_has_no_stale_routes() -> None:
    """Every classified route is still served (the table is the route table, no more)."""
    assert sorted(set(TABLE) - set(ROUTES)) == []


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_enforces_its_scopes(
    client: TestClient, tokens: Tokens, foreign_key: bytes, route: tuple[str, str]
) -> None:
    """Under-scoped tokens get 403 naming the scope, exact scopes pass, and missing,
    expired and foreign-signed tokens are refused; static tokens with every scope pass."""
    method, path = route
    assert route in TABLE, f"unclassified route: {method} {path} (add it to TABLE)"
    need = TABLE[route]
    if need is None:
        return  # public
    if need.admin:
        admin_only(client, tokens, method, path)
        return
    if need.console:
        console_only(client, tokens, method, path)
        return
    for scope in need.all_of:
        refused_for(call(client, method, path, tokens.jwt(without(scope))), scope)
    if need.any_of:
        refused_for(call(client, method, path, tokens.jwt(without(*need.any_of))), need.any_of[0])
    for alternative in need.any_of or (None,):
        exact = [*need.all_of, *([alternative] if alternative else [])]
        admitted(call(client, method, path, tokens.jwt(exact)))
    invalid = 403 if need.legacy else 401
    expired = tokens.jwt(list(SCOPE_CATALOGUE), at=datetime.now(UTC) - timedelta(hours=2))
    assert call(client, method, path, expired).status_code == invalid
    genuine = tokens.jwt(list(SCOPE_CATALOGUE))
    assert call(client, method, path, forged(genuine, foreign_key)).status_code == invalid
    assert call(client, method, path, None).status_code == 401
    admitted(call(client, method, path, "test-token"))  # CONCUR_SCIM_BEARER_TOKEN
    admitted(call(client, method, path, tokens.static(None)))  # a stored token, NULL scopes


def admin_only(client: TestClient, tokens: Tokens, method: str, path: str) -> None:
    """Company tokens, every scope or none, are 401 on an admin route; the admin token is
    admitted (and whatever it paused or added is undone)."""
    for company_token in ("test-token", tokens.static(None), tokens.jwt(list(SCOPE_CATALOGUE))):
        assert call(client, method, path, company_token).status_code == 401
    assert call(client, method, path, None).status_code == 401
    admin_token: str = client.app.state.admin_token  # type: ignore[attr-defined]
    admitted(call(client, method, path, admin_token))
    for undo in ("POST /_admin/worker/resume", "DELETE /_admin/faults"):
        verb, url = undo.split(" ")
        assert call(client, verb, url, admin_token).status_code == 200


def console_only(client: TestClient, tokens: Tokens, method: str, path: str) -> None:
    """Company tokens, every scope or none, and no token are sent to the console's sign-in
    form (303) and change nothing; the admin token is admitted (and what it paused or
    added is undone)."""
    for bearer in ("test-token", tokens.static(None), tokens.jwt(list(SCOPE_CATALOGUE)), None):
        answer = call(client, method, path, bearer, follow_redirects=False)
        assert answer.status_code == 303, (bearer, answer.status_code, answer.text)
        assert answer.headers["location"].startswith("/console/login?next="), answer.headers
    admin_token: str = client.app.state.admin_token  # type: ignore[attr-defined]
    answer = call(client, method, path, admin_token, follow_redirects=False)
    admitted(answer)
    assert not answer.headers.get("location", "").startswith("/console/login?next="), answer.headers
    for undo in ("POST /_admin/worker/resume", "DELETE /_admin/faults"):
        verb, url = undo.split(" ")
        assert call(client, verb, url, admin_token).status_code == 200


def test_scope_errors_are_scim_errors_with_concur_extension(
    client: TestClient, tokens: Tokens
) -> None:
    """A missing scope on a Concur dialect is a SCIM Error (403) with Concur's extension."""
    response = call(client, "DELETE", f"{IDV4}/Users/{{id}}", tokens.jwt([CORE_WRITE]))
    refused_for(response, USER_DELETE)
    body = response.json()
    assert "urn:ietf:params:scim:api:messages:2.0:Error" in body["schemas"]
    assert str(body["status"]) == "403"


def test_static_token_with_scopes_is_held_to_them(client: TestClient, tokens: Tokens) -> None:
    """A stored static token with a scope list is checked like a JWT."""
    reader = tokens.static([CORE_READ])
    admitted(call(client, "GET", "/scim/v2/Users", reader))
    refused_for(call(client, "POST", "/scim/v2/Users", reader), CORE_WRITE)


# ----------------------------------------------------------------------------- attributes


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_external_id_needs_its_scope(client: TestClient, tokens: Tokens) -> None:
    """Writing externalId without identity.user.externalID.writeonly is 403 in every form:
    POST, PUT, PATCH with a path or a path-less value, Concur and generic dialects."""
    writer = tokens.jwt([CORE_WRITE])
    both = tokens.jwt([CORE_WRITE, EXTERNAL_ID_WRITE])
    body = user_body(externalId="ext-1")
    refused_for(client.post("/scim/v2/Users", json=body, headers=bearer(writer)), EXTERNAL_ID_WRITE)
    created = client.post("/scim/v2/Users", json=body, headers=bearer(both))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    plain = client.post("/scim/v2/Users", json=user_body(), headers=bearer(writer))
    assert plain.status_code == 201, plain.text
    attempts = [
        ("PUT", f"/scim/v2/Users/{user_id}", {**body, "externalId": "ext-2"}),
        (
            "PATCH",
            f"{IDV4}/Users/{user_id}",
            patch({"op": "replace", "path": "externalId", "value": "ext-2"}),
        ),
        (
            "PATCH",
            f"/scim/v4/Users/{user_id}",
            patch({"op": "replace", "value": {"externalid": "ext-3"}}),
        ),
        (
            "PATCH",
            f"/scim/v2/Users/{user_id}",
            patch({"op": "add", "path": f"{CORE_USER}:externalId", "value": "ext-4"}),
        ),
        ("POST", f"{UPS}/Users", {**identity(), "externalId": "ext-5"}),
    ]
    ups_writer = tokens.jwt([PROVISION_WRITE, CORE_WRITE])
    for method, url, data in attempts:
        token = ups_writer if url.startswith(UPS) else writer
        refused_for(
            client.request(method, url, json=data, headers=bearer(token)), EXTERNAL_ID_WRITE
        )
    reader = bearer(tokens.jwt([CORE_READ]))
    assert client.get(f"/scim/v2/Users/{user_id}", headers=reader).json()["externalId"] == "ext-1"


def test_reads_show_what_the_read_scopes_cover(client: TestClient, tokens: Tokens) -> None:
    """§7: sensitive core attributes need coresensitive.read, the enterprise extension and
    entitlements enterprise.read; a token with core.read alone sees the rest."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    created = client.post(
        "/scim/v2/Users",
        json=user_body(
            **{enterprise: {"employeeNumber": "E-77"}}, entitlements=[{"value": "Expense"}]
        ),
        headers=bearer(tokens.static(None)),
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert "emails" in created.json()  # a write echoes what it wrote
    core = client.get(f"/scim/v2/Users/{user_id}", headers=bearer(tokens.jwt([CORE_READ]))).json()
    assert core["userName"] == created.json()["userName"]
    for hidden in ("emails", enterprise, "entitlements"):
        assert hidden not in core, hidden
    listed = client.get(
        "/scim/v2/Users",
        params={"filter": f'id eq "{user_id}"'},
        headers=bearer(tokens.jwt([CORE_READ])),
    ).json()["Resources"][0]
    assert "emails" not in listed
    assert enterprise not in listed
    full = tokens.jwt(
        [CORE_READ, "identity.user.coresensitive.read", "identity.user.enterprise.read"]
    )
    everything = client.get(f"/scim/v2/Users/{user_id}", headers=bearer(full)).json()
    assert everything["emails"] == created.json()["emails"]
    assert everything[enterprise]["employeeNumber"] == "E-77"
    assert everything["entitlements"] == [{"value": "Expense"}]


def test_put_without_the_external_id_scope_keeps_it(client: TestClient, tokens: Tokens) -> None:
    """A PUT may not clear externalId either: without identity.user.externalID.writeonly the
    stored value stays, through /scim/v2, UPS /Users and a UPS /Bulk PUT."""
    owner = bearer(tokens.static(None))
    writer = tokens.jwt([CORE_WRITE, PROVISION_WRITE])
    for url, root in (("/scim/v2/Users", "/scim/v2"), (f"{UPS}/Users", UPS), ("bulk", UPS)):
        body, kept = identity(), f"keep-{url}"
        created = client.post(f"{IDV4}/Users", json={**body, "externalId": kept}, headers=owner)
        assert created.status_code == 200, created.text
        user_id = created.json()["id"]
        replacement = {**body, "nickName": "Replaced"}
        if url == "bulk":
            bulk = bulk_body([operation("PUT", f"/Users/{user_id}", replacement)])
            accepted = client.post(f"{root}/Bulk", json=bulk, headers=bearer(writer))
            assert accepted.status_code == 202, accepted.text
            status_url = accepted.json()["meta"]["location"]
            deadline = time.monotonic() + 120
            while not client.get(status_url, headers=owner).json()["status"]["completed"]:
                assert time.monotonic() < deadline, "the Bulk PUT did not complete"
                time.sleep(0.05)
            done = client.get(status_url, params={"attributes": "operations"}, headers=owner)
            assert done.json()["operations"][0]["status"]["code"] == "200", done.text
        else:
            put = client.put(f"{url}/{user_id}", json=replacement, headers=bearer(writer))
            assert put.status_code == 200, put.text
        stored = client.get(f"{IDV4}/Users/{user_id}", headers=owner).json()
        assert stored["nickName"] == "Replaced", url
        assert stored["externalId"] == kept, url


def test_sap_user_uuid_needs_its_scope(client: TestClient, tokens: Tokens) -> None:
    """Writing the SAP extension (userUuid, §6.3) needs identity.user.sap.writeonly."""
    sap = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
    body = user_body(**{sap: {"userUuid": "5f1c1d2e-0000-4000-8000-000000000001"}})
    writer = tokens.jwt([CORE_WRITE])
    refused_for(
        client.post("/scim/v2/Users", json=body, headers=bearer(writer)),
        "identity.user.sap.writeonly",
    )
    created = client.post(
        "/scim/v2/Users",
        json=body,
        headers=bearer(tokens.jwt([CORE_WRITE, "identity.user.sap.writeonly"])),
    )
    assert created.status_code == 201, created.text
    path = patch({"op": "replace", "path": f"{sap}:userUuid", "value": "other"})
    refused_for(
        client.patch(f"/scim/v2/Users/{created.json()['id']}", json=path, headers=bearer(writer)),
        "identity.user.sap.writeonly",
    )


def test_emails_verified_without_its_scope_is_silently_kept(
    client: TestClient, tokens: Tokens
) -> None:
    """emails.verified without identity.user.emails.verified.writeonly is ignored, not an
    error, and the stored value stays (§9 item 15)."""
    writer = tokens.jwt([CORE_WRITE, CORE_READ])
    body = user_body()
    email = body["emails"][0]["value"]
    created = client.post(
        "/scim/v2/Users",
        json={**body, "emails": [{**body["emails"][0], "verified": True}]},
        headers=bearer(writer),
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    verified = [{"value": email, "type": "work", "primary": True, "verified": True}]
    writes = [
        ("PUT", f"/scim/v2/Users/{user_id}", {**body, "emails": verified}),
        (
            "PATCH",
            f"/scim/v2/Users/{user_id}",
            patch({"op": "replace", "value": {"emails": verified}}),
        ),
        (
            "PATCH",
            f"/scim/v2/Users/{user_id}",
            patch({"op": "replace", "path": 'emails[type eq "work"].verified', "value": True}),
        ),
    ]
    for method, url, data in writes:
        response = client.request(method, url, json=data, headers=bearer(writer))
        assert response.status_code == 200, response.text
        reader = bearer(tokens.jwt([CORE_READ, "identity.user.coresensitive.read"]))
        stored = client.get(f"/scim/v2/Users/{user_id}", headers=reader).json()
        assert stored["emails"][0]["value"] == email
        assert "verified" not in stored["emails"][0], stored


def test_ups_extension_data_needs_the_spend_write_scope(client: TestClient, tokens: Tokens) -> None:
    """Spend or travel data in a UPS write (POST, PATCH, Bulk) without
    spend.user.general.writeonly is 403 before anything is stored; with it, accepted."""
    writer = tokens.jwt([PROVISION_WRITE, CORE_WRITE, CORE_READ])
    user = full_user()
    refused_for(client.post(f"{UPS}/Users", json=user, headers=bearer(writer)), SPEND_WRITE)
    spend_patch = patch({"op": "add", "path": f"{SPEND_USER}:country", "value": "US"})
    bulk = bulk_body([operation("POST", "/Users", user, "u1")])
    refused_for(client.post(f"{UPS}/Bulk", json=bulk, headers=bearer(writer)), SPEND_WRITE)
    query = {"filter": f'userName eq "{user["userName"]}"'}
    assert (
        client.get(f"{IDV4}/Users", params=query, headers=bearer(writer)).json()["totalResults"]
        == 0
    )
    plain = identity()
    created = client.post(f"{UPS}/Users", json=plain, headers=bearer(writer))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    url = f"{UPS}/Users/{user_id}"
    refused_for(client.patch(url, json=spend_patch, headers=bearer(writer)), SPEND_WRITE)
    value_patch = patch({"op": "add", "value": {SPEND_USER: spend_user()}})
    refused_for(client.patch(url, json=value_patch, headers=bearer(writer)), SPEND_WRITE)
    spender = tokens.jwt([PROVISION_WRITE, CORE_WRITE, SPEND_WRITE])
    allowed = client.patch(url, json=spend_patch, headers=bearer(spender))
    assert allowed.status_code == 200, allowed.text


def test_bulk_operations_need_their_own_scopes(client: TestClient, tokens: Tokens) -> None:
    """Each Bulk operation needs what the single route needs: a DELETE identity.user.delete,
    a POST identity.user.coreenterprise.writeonly; refused as a whole, nothing stored."""
    provisioner = tokens.jwt([PROVISION_WRITE])
    delete = bulk_body([operation("DELETE", f"/Users/{uuid.uuid4()}")])
    refused_for(client.post(f"{UPS}/Bulk", json=delete, headers=bearer(provisioner)), USER_DELETE)
    create = bulk_body([operation("POST", "/Users", identity(), "u1")])
    refused_for(client.post(f"{UPS}/Bulk", json=create, headers=bearer(provisioner)), CORE_WRITE)
    external = {**identity(), "externalId": "x"}
    with_external = bulk_body([operation("POST", "/Users", external, "u1")])
    writer = tokens.jwt([PROVISION_WRITE, CORE_WRITE])
    refused_for(
        client.post(f"{UPS}/Bulk", json=with_external, headers=bearer(writer)), EXTERNAL_ID_WRITE
    )
    accepted = client.post(f"{UPS}/Bulk", json=create, headers=bearer(writer))
    assert accepted.status_code == 202, accepted.text
