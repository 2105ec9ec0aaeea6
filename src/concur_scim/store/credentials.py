"""Credentials as data: companies, OAuth clients, static, request and refresh tokens, keys.

Every secret is stored as the SHA-256 hex digest of the secret (the callers hash; nothing
here sees a secret in clear). Repositories execute and flush; the caller owns the
transaction (store/db.py). Timestamps come back aware in UTC (:func:`utc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from concur_scim.store.records import utc
from concur_scim.store.tables import (
    companies,
    company_request_tokens,
    oauth_clients,
    refresh_tokens,
    signing_keys,
    static_tokens,
)


@dataclass(frozen=True)
class ClientRow:
    """An OAuth client as stored (``scopes`` None = every scope)."""

    client_id: str
    company_id: str
    secret_hash: str
    name: str | None
    scopes: tuple[str, ...] | None
    grants: tuple[str, ...]
    revoked: datetime | None


@dataclass(frozen=True)
class GrantRow:
    """What a static or refresh token grants (``scopes`` None = every scope)."""

    company_id: str
    scopes: tuple[str, ...] | None
    name: str | None = None
    subject: str | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class KeyRow:
    """An RS256 signing key; ``retired`` is when it stopped signing (None: it signs)."""

    kid: str
    private_pem: str
    public_jwk: dict[str, Any]
    created: datetime
    retired: datetime | None


def _scopes(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(s) for s in value)


# -- companies -------------------------------------------------------------------------------


def insert_company(conn: Connection, company_id: str, name: str, now: datetime) -> None:
    """Store a (non-default) company."""
    conn.execute(companies.insert().values(id=company_id, name=name, is_default=False, created=now))


def company_exists(conn: Connection, company_id: str) -> bool:
    """Whether a company with this id is stored."""
    found = conn.execute(select(companies.c.id).where(companies.c.id == company_id)).first()
    return found is not None


# -- OAuth clients ---------------------------------------------------------------------------


def insert_client(
    conn: Connection,
    *,
    client_id: str,
    company_id: str,
    secret_hash: str,
    name: str | None,
    scopes: list[str] | None,
    grants: list[str],
    now: datetime,
) -> None:
    """Store an OAuth client."""
    conn.execute(
        oauth_clients.insert().values(
            client_id=client_id,
            company_id=company_id,
            secret_hash=secret_hash,
            name=name,
            scopes=scopes,
            grants=grants,
            created=now,
        )
    )


def get_client(conn: Connection, client_id: str) -> ClientRow | None:
    """The client with this id, or None."""
    row = conn.execute(select(oauth_clients).where(oauth_clients.c.client_id == client_id)).first()
    if row is None:
        return None
    return ClientRow(
        client_id=row.client_id,
        company_id=row.company_id,
        secret_hash=row.secret_hash,
        name=row.name,
        scopes=_scopes(row.scopes),
        grants=tuple(row.grants),
        revoked=utc(row.revoked) if row.revoked else None,
    )


# -- static tokens ---------------------------------------------------------------------------


def insert_static_token(
    conn: Connection,
    *,
    token_hash: str,
    company_id: str,
    name: str | None,
    scopes: list[str] | None,
    expires: datetime | None,
    now: datetime,
) -> None:
    """Store a static bearer token."""
    conn.execute(
        static_tokens.insert().values(
            token_hash=token_hash,
            company_id=company_id,
            name=name,
            scopes=scopes,
            created=now,
            expires=expires,
        )
    )


def find_static_token(conn: Connection, token_hash: str, now: datetime) -> GrantRow | None:
    """The grant of an unrevoked, unexpired static token with this hash, or None."""
    row = conn.execute(
        select(static_tokens).where(static_tokens.c.token_hash == token_hash)
    ).first()
    if row is None or row.revoked is not None:
        return None
    if row.expires is not None and utc(row.expires) <= now:
        return None
    return GrantRow(company_id=row.company_id, scopes=_scopes(row.scopes), name=row.name)


def static_token_stored(conn: Connection, token_hash: str) -> bool:
    """Whether a static token with this hash is stored, whatever its state."""
    found = conn.execute(
        select(static_tokens.c.token_hash).where(static_tokens.c.token_hash == token_hash)
    ).first()
    return found is not None


# -- company request tokens ------------------------------------------------------------------


def insert_request_token(
    conn: Connection, *, token_hash: str, company_id: str, expires: datetime, now: datetime
) -> None:
    """Store a company request token (the password grant's ``authtoken``)."""
    conn.execute(
        company_request_tokens.insert().values(
            token_hash=token_hash, company_id=company_id, created=now, expires=expires
        )
    )


def request_token_valid(conn: Connection, token_hash: str, company_id: str, now: datetime) -> bool:
    """Whether an unexpired request token with this hash belongs to ``company_id``."""
    row = conn.execute(
        select(company_request_tokens.c.expires).where(
            company_request_tokens.c.token_hash == token_hash,
            company_request_tokens.c.company_id == company_id,
        )
    ).first()
    return row is not None and utc(row.expires) > now


# -- refresh tokens --------------------------------------------------------------------------


def insert_refresh_token(
    conn: Connection,
    *,
    token_hash: str,
    company_id: str,
    subject: str,
    client_id: str | None,
    scopes: list[str] | None,
    expires: datetime,
    now: datetime,
) -> None:
    """Store a refresh token."""
    conn.execute(
        refresh_tokens.insert().values(
            token_hash=token_hash,
            company_id=company_id,
            subject=subject,
            client_id=client_id,
            scopes=scopes,
            created=now,
            expires=expires,
        )
    )


def claim_refresh_token(
    conn: Connection, token_hash: str, client_id: str, now: datetime
) -> GrantRow | None:
    """Mark an unused, unexpired refresh token of ``client_id`` used and return its grant.

    The conditional UPDATE is what makes a token usable once, even by two concurrent
    requests: only the one whose UPDATE matched the row gets the grant.
    """
    claimed = conn.execute(
        update(refresh_tokens)
        .where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.client_id == client_id,
            refresh_tokens.c.used.is_(None),
            refresh_tokens.c.expires > now,
        )
        .values(used=now)
    )
    if claimed.rowcount != 1:
        return None
    row = conn.execute(
        select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
    ).one()
    return GrantRow(
        company_id=row.company_id,
        scopes=_scopes(row.scopes),
        subject=row.subject,
        client_id=row.client_id,
    )


# -- signing keys ----------------------------------------------------------------------------


def _key(row: Any) -> KeyRow:
    return KeyRow(
        kid=row.kid,
        private_pem=row.private_pem,
        public_jwk=dict(row.public_jwk),
        created=utc(row.created),
        retired=utc(row.retired) if row.retired else None,
    )


def insert_key(
    conn: Connection, *, kid: str, private_pem: str, public_jwk: dict[str, Any], now: datetime
) -> None:
    """Store a signing key (it signs from now on, being the newest)."""
    conn.execute(
        signing_keys.insert().values(
            kid=kid, private_pem=private_pem, public_jwk=public_jwk, created=now
        )
    )


def newest_signing_key(conn: Connection) -> KeyRow | None:
    """The newest unretired key, or None when there is none."""
    row = conn.execute(
        select(signing_keys)
        .where(signing_keys.c.retired.is_(None))
        .order_by(signing_keys.c.created.desc(), signing_keys.c.kid)
        .limit(1)
    ).first()
    return None if row is None else _key(row)


def verification_keys(conn: Connection, retired_after: datetime) -> list[KeyRow]:
    """Keys that verify: unretired ones, and those retired after ``retired_after``."""
    rows = conn.execute(
        select(signing_keys)
        .where(signing_keys.c.retired.is_(None) | (signing_keys.c.retired > retired_after))
        .order_by(signing_keys.c.created.desc(), signing_keys.c.kid)
    )
    return [_key(row) for row in rows]


def retire_keys(conn: Connection, now: datetime) -> None:
    """Stop every signing key from signing (they keep verifying for the grace period)."""
    conn.execute(update(signing_keys).where(signing_keys.c.retired.is_(None)).values(retired=now))


def delete_keys_retired_before(conn: Connection, moment: datetime) -> int:
    """Delete keys retired before ``moment`` (they no longer verify); returns how many."""
    result = conn.execute(delete(signing_keys).where(signing_keys.c.retired < moment))
    return int(result.rowcount)


# -- listing and revoking (the admin commands) -------------------------------------------------


@dataclass(frozen=True)
class CompanyRow:
    """A stored company."""

    company_id: str
    name: str
    is_default: bool
    created: datetime


@dataclass(frozen=True)
class StaticTokenRow:
    """A stored static token, without its digest (``scopes`` None = every scope)."""

    company_id: str
    name: str | None
    scopes: tuple[str, ...] | None
    created: datetime
    expires: datetime | None
    revoked: datetime | None


def list_companies(conn: Connection) -> list[CompanyRow]:
    """Every company, oldest first."""
    rows = conn.execute(select(companies).order_by(companies.c.created, companies.c.id))
    return [CompanyRow(r.id, r.name, bool(r.is_default), utc(r.created)) for r in rows]


def list_clients(conn: Connection, company_id: str | None) -> list[ClientRow]:
    """The OAuth clients of ``company_id`` (every company's with None), oldest first."""
    query = select(oauth_clients.c.client_id).order_by(
        oauth_clients.c.created, oauth_clients.c.client_id
    )
    if company_id is not None:
        query = query.where(oauth_clients.c.company_id == company_id)
    ids = [row.client_id for row in conn.execute(query)]
    return [client for client in (get_client(conn, i) for i in ids) if client is not None]


def client_revoked(conn: Connection, client_id: str) -> bool:
    """Whether ``client_id`` names a revoked or deleted client."""
    row = conn.execute(
        select(oauth_clients.c.revoked).where(oauth_clients.c.client_id == client_id)
    ).first()
    return row is None or row.revoked is not None


def revoke_client(conn: Connection, client_id: str, now: datetime) -> bool:
    """Mark an unrevoked client revoked; False when there is no such unrevoked client."""
    result = conn.execute(
        update(oauth_clients)
        .where(oauth_clients.c.client_id == client_id, oauth_clients.c.revoked.is_(None))
        .values(revoked=now)
    )
    return bool(result.rowcount == 1)


def list_static_tokens(conn: Connection, company_id: str | None) -> list[StaticTokenRow]:
    """The static tokens of ``company_id`` (every company's with None), oldest first."""
    query = select(static_tokens).order_by(static_tokens.c.created, static_tokens.c.token_hash)
    if company_id is not None:
        query = query.where(static_tokens.c.company_id == company_id)
    return [
        StaticTokenRow(
            company_id=r.company_id,
            name=r.name,
            scopes=_scopes(r.scopes),
            created=utc(r.created),
            expires=utc(r.expires) if r.expires else None,
            revoked=utc(r.revoked) if r.revoked else None,
        )
        for r in conn.execute(query)
    ]


def revoke_static_tokens(
    conn: Connection,
    *,
    now: datetime,
    token_hash: str | None = None,
    name: str | None = None,
    company_id: str | None = None,
) -> int:
    """Revoke the unrevoked static tokens with this digest or this name (of ``company_id``
    when given); returns how many were revoked."""
    query = update(static_tokens).where(static_tokens.c.revoked.is_(None)).values(revoked=now)
    if token_hash is not None:
        query = query.where(static_tokens.c.token_hash == token_hash)
    if name is not None:
        query = query.where(static_tokens.c.name == name)
    if company_id is not None:
        query = query.where(static_tokens.c.company_id == company_id)
    return int(conn.execute(query).rowcount)
