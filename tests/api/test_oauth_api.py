"""OAuth2 for Concur (reference §7): the token endpoint's grants and errors, the JWTs it mints,
the JWKS, key rotation, and the verifier that accepts those tokens on every request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from concur_scim.api.auth import DatabaseTokenVerifier
from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.services import credentials
from concur_scim.services.signing_keys import mint_access_token, rotate_keys, signing_key
from concur_scim.store.db import unit_of_work
from concur_scim.store.tables import refresh_tokens, signing_keys, static_tokens

TOKEN_URL = "/oauth2/v0/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
USERS = "/scim/v2/Users"


@dataclass(frozen=True)
class Tenant:
    """A company with a request token and one OAuth client."""

    company_id: str
    request_token: str
    client_id: str
    client_secret: str


def now() -> datetime:
    return datetime.now(UTC)


def new_tenant(engine: Engine, scopes: list[str] | None = None) -> Tenant:
    """A fresh company, its request token and a client (``scopes`` None = every scope)."""
    with unit_of_work(engine, write=True) as conn:
        company = credentials.create_company(conn, "Acme", now())
        client = credentials.create_client(
            conn, company.company_id, scopes=scopes, name="idp", now=now()
        )
    return Tenant(company.company_id, company.request_token, client.client_id, client.client_secret)


def token(client: TestClient, **fields: str) -> Any:
    """POST the form ``fields`` to the token endpoint; the response."""
    return client.post(TOKEN_URL, data=fields, headers=FORM)


def company_grant(client: TestClient, tenant: Tenant, **extra: str) -> Any:
    return token(
        client,
        grant_type="password",
        credtype="authtoken",
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
        username=tenant.company_id,
        password=tenant.request_token,
        **extra,
    )


def app_grant(client: TestClient, tenant: Tenant, **extra: str) -> Any:
    return token(
        client,
        grant_type="client_credentials",
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
        **extra,
    )


def users_status(client: TestClient, bearer: str) -> int:
    """The status of a user list with ``bearer``."""
    status: int = client.get(USERS, headers={"Authorization": f"Bearer {bearer}"}).status_code
    return status


def claims_of(access_token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return decoded


def error_of(response: Any) -> tuple[int, str, int]:
    body = response.json()
    assert set(body) == {"error", "error_description", "code", "geolocation"}
    return response.status_code, body["error"], body["code"]


# -- grants ----------------------------------------------------------------------------------


def test_password_grant_returns_a_company_token(client: TestClient, engine: Engine) -> None:
    """credtype=authtoken with the company request token returns a company JWT (§7)."""
    tenant = new_tenant(engine)
    response = company_grant(client, tenant)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["geolocation"] == "http://testserver"
    assert body["refresh_token"]
    assert body["refresh_expires_in"] > now().timestamp() + 150 * 86_400
    assert body["scope"].split() == list(credentials.SCOPE_CATALOGUE)
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"]
    claims = claims_of(body["access_token"])
    assert claims["iss"] == "http://testserver"
    assert claims["sub"] == tenant.company_id
    assert claims["aud"] == "*"
    assert claims["concur.type"] == "company"
    assert claims["concur.company"] == tenant.company_id
    assert claims["concur.appId"] == tenant.client_id
    assert claims["concur.scopes"] == list(credentials.SCOPE_CATALOGUE)
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] == claims["iat"]
    assert users_status(client, body["access_token"]) == 200


def test_company_token_sees_only_its_company(client: TestClient, engine: Engine) -> None:
    """A user created with the default token is invisible to another company's token."""
    tenant = new_tenant(engine)
    created = client.post(USERS, json={"userName": "oauth-tenancy@example.com"})
    assert created.status_code == 201
    access = company_grant(client, tenant).json()["access_token"]
    listed = client.get(USERS, headers={"Authorization": f"Bearer {access}"}).json()
    assert listed["totalResults"] == 0


def test_client_credentials_returns_an_app_token(client: TestClient, engine: Engine) -> None:
    """client_credentials returns an application token of the client's company, no refresh."""
    tenant = new_tenant(engine, scopes=["identity.user.core.read", "identity.user.ids.read"])
    response = app_grant(client, tenant)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"expires_in", "scope", "token_type", "access_token", "geolocation"}
    assert body["scope"] == "identity.user.ids.read identity.user.core.read"
    claims = claims_of(body["access_token"])
    assert claims["concur.type"] == "app"
    assert claims["sub"] == tenant.client_id
    assert claims["concur.company"] == tenant.company_id
    assert users_status(client, body["access_token"]) == 200


def test_client_credentials_accepts_http_basic(client: TestClient, engine: Engine) -> None:
    """Client credentials may come in an HTTP Basic header (RFC 6749 §2.3.1)."""
    tenant = new_tenant(engine)
    basic = base64.b64encode(f"{tenant.client_id}:{tenant.client_secret}".encode()).decode()
    response = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={**FORM, "Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text


def test_requested_scope_narrows_the_token(client: TestClient, engine: Engine) -> None:
    """A requested scope within the client's scopes narrows the token to it."""
    tenant = new_tenant(engine, scopes=["identity.user.core.read", "identity.user.delete"])
    body = app_grant(client, tenant, scope="identity.user.delete").json()
    assert body["scope"] == "identity.user.delete"
    assert claims_of(body["access_token"])["concur.scopes"] == ["identity.user.delete"]


def test_scope_beyond_the_grant_is_code_54(client: TestClient, engine: Engine) -> None:
    """A requested scope the client was not granted is invalid_scope, code 54."""
    tenant = new_tenant(engine, scopes=["identity.user.core.read"])
    response = app_grant(client, tenant, scope="identity.user.core.read identity.user.delete")
    assert error_of(response) == (400, "invalid_scope", 54)


def test_refresh_token_rotates(client: TestClient, engine: Engine) -> None:
    """A refresh token is used once: it returns a new pair, and is refused afterwards (108)."""
    tenant = new_tenant(engine)
    first = company_grant(client, tenant).json()["refresh_token"]
    fields = {
        "grant_type": "refresh_token",
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
    }
    refreshed = token(client, refresh_token=first, **fields)
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()["refresh_token"]
    assert second != first
    assert claims_of(refreshed.json()["access_token"])["sub"] == tenant.company_id
    assert users_status(client, refreshed.json()["access_token"]) == 200
    assert error_of(token(client, refresh_token=first, **fields)) == (400, "invalid_grant", 108)
    assert token(client, refresh_token=second, **fields).status_code == 200
    with engine.connect() as conn:
        used = conn.execute(
            select(refresh_tokens.c.used).where(
                refresh_tokens.c.token_hash == credentials.digest(first)
            )
        ).scalar_one()
    assert used is not None


def test_refresh_token_is_bound_to_its_client(client: TestClient, engine: Engine) -> None:
    """Another client (even of the same company) cannot use a client's refresh token."""
    tenant = new_tenant(engine)
    refresh = company_grant(client, tenant).json()["refresh_token"]
    with unit_of_work(engine, write=True) as conn:
        other = credentials.create_client(
            conn, tenant.company_id, scopes=None, name=None, now=now()
        )
    response = token(
        client,
        grant_type="refresh_token",
        client_id=other.client_id,
        client_secret=other.client_secret,
        refresh_token=refresh,
    )
    assert error_of(response) == (400, "invalid_grant", 108)


def test_expired_refresh_token_is_refused(client: TestClient, engine: Engine) -> None:
    """A refresh token past its six-month window is code 108."""
    tenant = new_tenant(engine)
    refresh = company_grant(client, tenant).json()["refresh_token"]
    with engine.begin() as conn:
        conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == credentials.digest(refresh))
            .values(expires=now() - timedelta(seconds=1))
        )
    response = token(
        client,
        grant_type="refresh_token",
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
        refresh_token=refresh,
    )
    assert error_of(response) == (400, "invalid_grant", 108)


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"grant_type": ""}, (400, "invalid_request", 65)),
        ({"client_id": ""}, (400, "invalid_request", 62)),
        ({"client_secret": ""}, (400, "invalid_request", 63)),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, (401, "invalid_client", 61)),
        ({"client_secret": "wrong"}, (401, "invalid_client", 64)),
        ({"username": ""}, (400, "invalid_request", 51)),
        ({"password": ""}, (400, "invalid_request", 52)),
        ({"credtype": "password"}, (400, "invalid_request", 120)),
        ({"password": "not-the-request-token"}, (400, "invalid_grant", 5)),
        ({"username": "not-a-uuid"}, (400, "invalid_grant", 5)),
        ({"grant_type": "authorization_code"}, (400, "unsupported_grant_type", 135)),
    ],
)
def test_password_grant_errors(
    client: TestClient, engine: Engine, change: dict[str, str], expected: tuple[int, str, int]
) -> None:
    """Each missing or bad field answers Concur's error and code (§7 "OAuth error format")."""
    tenant = new_tenant(engine)
    fields = {
        "grant_type": "password",
        "credtype": "authtoken",
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
        "username": tenant.company_id,
        "password": tenant.request_token,
        **change,
    }
    assert error_of(token(client, **fields)) == expected


def test_client_of_another_company_is_code_53(client: TestClient, engine: Engine) -> None:
    """A client may only obtain tokens for its own company."""
    tenant, other = new_tenant(engine), new_tenant(engine)
    response = company_grant(
        client,
        Tenant(other.company_id, other.request_token, tenant.client_id, tenant.client_secret),
    )
    assert error_of(response) == (401, "invalid_client", 53)


def test_missing_refresh_token_is_code_106(client: TestClient, engine: Engine) -> None:
    """The refresh grant without refresh_token is code 106."""
    tenant = new_tenant(engine)
    response = token(
        client,
        grant_type="refresh_token",
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
    )
    assert error_of(response) == (400, "invalid_request", 106)


def test_json_body_is_unsupported_format(client: TestClient) -> None:
    """The token endpoint takes only a form; JSON is code 135."""
    response = client.post(TOKEN_URL, json={"grant_type": "client_credentials"})
    assert error_of(response) == (400, "invalid_request", 135)


def test_expired_request_token_is_refused(client: TestClient, engine: Engine) -> None:
    """A company request token older than 24 hours no longer yields a company token."""
    tenant = new_tenant(engine)
    with unit_of_work(engine, write=True) as conn:
        expired, _ = credentials.issue_request_token(
            conn, tenant.company_id, now() - timedelta(hours=25)
        )
    stale = Tenant(tenant.company_id, expired, tenant.client_id, tenant.client_secret)
    assert error_of(company_grant(client, stale)) == (400, "invalid_grant", 5)


# -- access tokens on requests -----------------------------------------------------------------


def mint(
    engine: Engine, company_id: str, *, at: datetime, issuer: str = "http://testserver"
) -> str:
    with unit_of_work(engine, write=True) as conn:
        return mint_access_token(
            conn,
            issuer=issuer,
            subject=company_id,
            principal_type="company",
            company_id=company_id,
            scopes=["identity.user.core.read"],
            app_id=None,
            now=at,
        )


def test_expired_access_token_is_refused(client: TestClient, engine: Engine) -> None:
    """A JWT whose exp has passed answers 401."""
    tenant = new_tenant(engine)
    assert users_status(client, mint(engine, tenant.company_id, at=now())) == 200
    stale = mint(engine, tenant.company_id, at=now() - timedelta(hours=1, seconds=5))
    assert users_status(client, stale) == 401


def test_not_yet_valid_access_token_is_refused(client: TestClient, engine: Engine) -> None:
    """A JWT whose nbf lies beyond the clock-skew leeway answers 401."""
    tenant = new_tenant(engine)
    assert (
        users_status(client, mint(engine, tenant.company_id, at=now() + timedelta(minutes=5)))
        == 401
    )


def test_foreign_signed_token_is_refused(client: TestClient, engine: Engine) -> None:
    """A JWT signed by another RSA key under our kid answers 401."""
    tenant = new_tenant(engine)
    genuine = company_grant(client, tenant).json()["access_token"]
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = foreign.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    forged = jwt.encode(
        claims_of(genuine),
        pem,
        algorithm="RS256",
        headers={"kid": jwt.get_unverified_header(genuine)["kid"]},
    )
    assert users_status(client, genuine) == 200
    assert users_status(client, forged) == 401


def test_unsigned_and_malformed_tokens_are_refused(client: TestClient, engine: Engine) -> None:
    """alg none, HS256 and garbage with dots all answer 401."""
    tenant = new_tenant(engine)
    claims = claims_of(company_grant(client, tenant).json()["access_token"])
    unsigned = jwt.encode(claims, "", algorithm="none")
    hmac_signed = jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": "k"})
    for bad in (unsigned, hmac_signed, "a.b.c", "not-a-token"):
        assert users_status(client, bad) == 401


def test_token_of_an_unknown_company_is_refused(client: TestClient, engine: Engine) -> None:
    """A well-signed JWT naming a company that does not exist answers 401."""
    assert (
        users_status(client, mint(engine, "5b1e0f3c-0000-4000-8000-000000000000", at=now())) == 401
    )


def test_issuer_must_be_an_origin_without_configured_issuer(
    client: TestClient, engine: Engine
) -> None:
    """Without CONCUR_SCIM_ISSUER, an iss that is not an http(s) origin answers 401."""
    tenant = new_tenant(engine)
    assert (
        users_status(client, mint(engine, tenant.company_id, at=now(), issuer="https://a.example"))
        == 200
    )
    for iss in ("https://a.example/path", "urn:evil", ""):
        assert users_status(client, mint(engine, tenant.company_id, at=now(), issuer=iss)) == 401


@pytest.fixture
def pinned_client(settings: Settings) -> Iterator[TestClient]:
    """An application of the same database with CONCUR_SCIM_ISSUER pinned."""
    pinned = settings.model_copy(
        update={"issuer": "https://concur.example", "embedded_worker": False}
    )
    with TestClient(create_app(pinned), raise_server_exceptions=False) as test_client:
        yield test_client


def test_configured_issuer_is_minted_and_required(
    pinned_client: TestClient, client: TestClient, engine: Engine
) -> None:
    """With CONCUR_SCIM_ISSUER, tokens carry it and a token of another issuer answers 401."""
    tenant = new_tenant(engine)
    body = company_grant(pinned_client, tenant).json()
    assert claims_of(body["access_token"])["iss"] == "https://concur.example"
    assert body["geolocation"] == "https://concur.example"
    assert users_status(pinned_client, body["access_token"]) == 200
    minted_here = company_grant(client, tenant).json()["access_token"]
    assert claims_of(minted_here)["iss"] == "http://testserver"
    assert users_status(pinned_client, minted_here) == 401


# -- static tokens ---------------------------------------------------------------------------


def test_static_tokens_from_the_table(client: TestClient, engine: Engine) -> None:
    """A stored static token works; revoked or expired it answers 401."""
    tenant = new_tenant(engine)
    with unit_of_work(engine, write=True) as conn:
        live = credentials.create_static_token(
            conn, tenant.company_id, scopes=None, name="entra", now=now()
        )
        revoked = credentials.create_static_token(
            conn, tenant.company_id, scopes=None, name=None, now=now()
        )
        expired = credentials.create_static_token(
            conn,
            tenant.company_id,
            scopes=None,
            name=None,
            now=now() - timedelta(days=2),
            lifetime=timedelta(days=1),
        )
    with engine.begin() as conn:
        conn.execute(
            update(static_tokens)
            .where(static_tokens.c.token_hash == credentials.digest(revoked))
            .values(revoked=now())
        )
    assert users_status(client, live) == 200
    assert users_status(client, revoked) == 401
    assert users_status(client, expired) == 401


def test_principals_name_the_caller_never_the_secret(engine: Engine) -> None:
    """The verifier's subjects: static-token, static:<name>, company:<uuid>, client:<id>."""
    tenant = new_tenant(engine)
    with unit_of_work(engine, write=True) as conn:
        static = credentials.create_static_token(
            conn, tenant.company_id, scopes=["identity.user.ids.read"], name="entra", now=now()
        )
    verifier = DatabaseTokenVerifier(
        engine, bearer_token="configured", default_company="d", issuer=None, clock=now
    )
    configured = verifier.principal_for("configured")
    assert configured is not None
    assert (configured.subject, configured.company_id, configured.scopes) == (
        "static-token",
        "d",
        None,
    )
    found = verifier.principal_for(static)
    assert found is not None
    assert found.subject == "static:entra"
    assert found.scopes == frozenset({"identity.user.ids.read"})
    company = verifier.principal_for(mint(engine, tenant.company_id, at=now()))
    assert company is not None
    assert company.subject == f"company:{tenant.company_id}"
    assert company.scopes == frozenset({"identity.user.core.read"})


# -- JWKS and key rotation -------------------------------------------------------------------


def test_jwks_is_public_and_verifies_tokens(client: TestClient, engine: Engine) -> None:
    """GET /oauth2/v0/jwks needs no token and holds the key that verifies a minted token."""
    tenant = new_tenant(engine)
    access = company_grant(client, tenant).json()["access_token"]
    response = client.get("/oauth2/v0/jwks", headers={"Authorization": ""})
    assert response.status_code == 200
    keys = {key["kid"]: key for key in response.json()["keys"]}
    kid = jwt.get_unverified_header(access)["kid"]
    assert set(keys[kid]) >= {"kty", "n", "e", "kid", "alg", "use"}
    assert "d" not in keys[kid]
    public = jwt.PyJWK(keys[kid]).key
    assert (
        jwt.decode(access, public, algorithms=["RS256"], audience="*")["sub"] == tenant.company_id
    )


def test_rotation_keeps_old_tokens_valid(client: TestClient, engine: Engine) -> None:
    """After rotation the new key signs; tokens of the old key still verify, both are listed."""
    tenant = new_tenant(engine)
    old = company_grant(client, tenant).json()["access_token"]
    with unit_of_work(engine, write=True) as conn:
        new_kid = rotate_keys(conn, now())
    new = company_grant(client, tenant).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert jwt.get_unverified_header(old)["kid"] != new_kid
    assert users_status(client, old) == 200
    assert users_status(client, new) == 200
    kids = {key["kid"] for key in client.get("/oauth2/v0/jwks").json()["keys"]}
    assert {new_kid, jwt.get_unverified_header(old)["kid"]} <= kids


def test_retired_key_stops_verifying_after_the_grace(engine: Engine) -> None:
    """A key retired more than two hours ago verifies nothing, whatever the token's exp."""
    tenant = new_tenant(engine)
    with unit_of_work(engine, write=True) as conn:
        key = signing_key(conn, now())
        rotate_keys(conn, now())
    claims = {
        "iss": "http://testserver",
        "sub": tenant.company_id,
        "aud": "*",
        "concur.type": "company",
        "concur.company": tenant.company_id,
        "concur.scopes": [],
        "iat": int(now().timestamp()),
        "nbf": int(now().timestamp()),
        "exp": int((now() + timedelta(days=1)).timestamp()),
    }
    long_lived = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})

    def verifier(offset: timedelta) -> DatabaseTokenVerifier:
        return DatabaseTokenVerifier(
            engine,
            bearer_token="unused",
            default_company="d",
            issuer=None,
            clock=lambda: now() + offset,
        )

    assert verifier(timedelta(hours=1)).principal_for(long_lived) is not None
    assert verifier(timedelta(hours=2, minutes=1)).principal_for(long_lived) is None
    with engine.connect() as conn:
        retired = conn.execute(
            select(signing_keys.c.retired).where(signing_keys.c.kid == key.kid)
        ).scalar_one()
    assert retired is not None
