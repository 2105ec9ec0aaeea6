"""Use-cases for credentials: companies, OAuth clients and static tokens (reference §7).

Secrets are ``secrets.token_urlsafe(32)`` (256 random bits), returned once to the caller and
stored only as a SHA-256 hex digest: with that much entropy a fast hash is enough (nothing to
brute-force), and it lets a token be found by an indexed equality lookup. The caller owns
the transaction.

Raises :class:`CredentialError` (one line for a human) for bad input.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from concur_scim.store import credentials as store

# The Concur scopes of reference §7 ("Scopes"): the catalogue a token may carry.
SCOPE_CATALOGUE: tuple[str, ...] = (
    "user.provision.write",
    "user.provision.read",
    "identity.user.ids.read",
    "identity.user.core.read",
    "identity.user.coresensitive.read",
    "identity.user.enterprise.read",
    "identity.user.coreenterprise.writeonly",
    "identity.user.externalID.writeonly",
    "identity.user.emails.verified.writeonly",
    "identity.user.sap.read",
    "identity.user.sap.writeonly",
    "identity.user.delete",
    "identity.user.event.read",
    "spend.user.general.read",
    "spend.user.general.writeonly",
    "travel.user.general.read",
    "travel.user.private.read",
    "user.profile.search.read",
)

CLIENT_GRANTS = ("password", "client_credentials", "refresh_token")
REQUEST_TOKEN_LIFETIME = timedelta(hours=24)  # Concur's company request token (§7)
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")


class CredentialError(Exception):
    """Bad input for a credential command; the message is one line meant for a human."""


def new_secret() -> str:
    """A fresh 256-bit URL-safe secret."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a secret: its SHA-256 hex digest."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(raw: str | Iterable[str] | None) -> list[str] | None:
    """Scopes from ``a,b`` / ``a b`` text or a list, checked against the catalogue.

    None or empty means every scope. Raises CredentialError naming an unknown scope.
    """
    if raw is None:
        return None
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    if not items:
        return None
    unknown = [s for s in items if s not in SCOPE_CATALOGUE]
    if unknown:
        raise CredentialError(f"unknown scope {unknown[0]!r}")
    return sorted(set(items), key=SCOPE_CATALOGUE.index)


def _name(name: str | None) -> str | None:
    if name is None:
        return None
    if not _NAME.match(name):
        raise CredentialError("a name is 1 to 255 printable characters")
    return name


def require_company(conn: Connection, company: str) -> str:
    """The canonical id of an existing company; raises CredentialError otherwise."""
    try:
        company_id = str(uuid.UUID(company))
    except ValueError:
        raise CredentialError(f"not a company UUID: {company!r}") from None
    if not store.company_exists(conn, company_id):
        raise CredentialError(f"no company {company_id}")
    return company_id


@dataclass(frozen=True)
class NewCompany:
    """A created company and its company request token (shown once)."""

    company_id: str
    request_token: str
    request_token_expires: datetime


def create_company(conn: Connection, name: str, now: datetime) -> NewCompany:
    """Create a company (not the default one) and a 24-hour company request token."""
    company_id = str(uuid.uuid4())
    store.insert_company(conn, company_id, _name(name) or "", now)
    token, expires = issue_request_token(conn, company_id, now)
    return NewCompany(company_id, token, expires)


def issue_request_token(conn: Connection, company_id: str, now: datetime) -> tuple[str, datetime]:
    """A new company request token for an existing company, and when it expires."""
    token = new_secret()
    expires = now + REQUEST_TOKEN_LIFETIME
    store.insert_request_token(
        conn, token_hash=digest(token), company_id=company_id, expires=expires, now=now
    )
    return token, expires


@dataclass(frozen=True)
class NewClient:
    """A created OAuth client and its secret (shown once)."""

    client_id: str
    client_secret: str


def create_client(
    conn: Connection,
    company: str,
    *,
    scopes: list[str] | None,
    name: str | None,
    now: datetime,
) -> NewClient:
    """Create an OAuth client of ``company`` with the password, client_credentials and
    refresh_token grants; ``scopes`` None = every scope (checked against the catalogue).

    Raises CredentialError for an unknown company, scope or a bad name.
    """
    company_id = require_company(conn, company)
    client_id = str(uuid.uuid4())
    secret = new_secret()
    store.insert_client(
        conn,
        client_id=client_id,
        company_id=company_id,
        secret_hash=digest(secret),
        name=_name(name),
        scopes=parse_scopes(scopes),
        grants=list(CLIENT_GRANTS),
        now=now,
    )
    return NewClient(client_id, secret)


def create_static_token(
    conn: Connection,
    company: str,
    *,
    scopes: list[str] | None,
    name: str | None,
    now: datetime,
    lifetime: timedelta | None = None,
) -> str:
    """A new opaque static bearer token of ``company`` (no expiry unless ``lifetime``)."""
    company_id = require_company(conn, company)
    token = new_secret()
    store.insert_static_token(
        conn,
        token_hash=digest(token),
        company_id=company_id,
        name=_name(name),
        scopes=parse_scopes(scopes),
        expires=now + lifetime if lifetime else None,
        now=now,
    )
    return token


# -- listing and revoking --------------------------------------------------------------------


def list_companies(conn: Connection) -> list[store.CompanyRow]:
    """Every company, oldest first."""
    return store.list_companies(conn)


def list_clients(conn: Connection, company: str | None) -> list[store.ClientRow]:
    """The OAuth clients of ``company`` (every company's with None); raises CredentialError
    for an unknown company."""
    return store.list_clients(conn, None if company is None else require_company(conn, company))


def list_static_tokens(conn: Connection, company: str | None) -> list[store.StaticTokenRow]:
    """The static tokens of ``company`` (every company's with None), secrets never shown."""
    company_id = None if company is None else require_company(conn, company)
    return store.list_static_tokens(conn, company_id)


def revoke_client(conn: Connection, client_id: str, now: datetime) -> None:
    """Revoke an OAuth client: its grants are refused from now on, and the access tokens it
    obtained stop verifying (api/auth.py). Raises CredentialError when no unrevoked client
    has this id."""
    if not store.revoke_client(conn, client_id, now):
        found = store.get_client(conn, client_id)
        raise CredentialError(
            f"no client {client_id!r}" if found is None else f"client {client_id} is revoked"
        )


def revoke_static_token(
    conn: Connection, token_or_name: str, *, company: str | None, now: datetime
) -> int:
    """Revoke a static token given as the token itself or as its ``--name`` (every unrevoked
    token of that name, of ``company`` when given); returns how many were revoked.

    Raises CredentialError when nothing matched, and for an access token (a JWT: it cannot be
    revoked, it expires within the hour; revoking the client that obtained it stops it).
    """
    company_id = None if company is None else require_company(conn, company)
    if token_or_name.startswith("eyJ") and token_or_name.count(".") == 2:
        raise CredentialError(
            "an access token cannot be revoked (it expires within an hour);"
            " revoke the client that obtained it, or rotate the signing keys"
        )
    revoked = store.revoke_static_tokens(
        conn, token_hash=digest(token_or_name), company_id=company_id, now=now
    )
    if not revoked:
        revoked = store.revoke_static_tokens(
            conn, name=token_or_name, company_id=company_id, now=now
        )
    if not revoked:
        raise CredentialError("no unrevoked static token is this token or has this name")
    return revoked
