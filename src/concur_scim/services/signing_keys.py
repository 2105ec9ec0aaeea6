"""RS256 signing keys and the access tokens they sign (reference §7, "Access token").

Keys live in ``signing_keys`` (private key as PKCS#8 PEM, public key as a JWK). The first
token minted creates a key. Rotation (``concur-scim keys rotate``) retires every key that
signs and creates a new one; a retired key stops signing at once and keeps verifying for
:data:`KEY_GRACE` (two hours: longer than an access token lives, so every token it signed
has expired by then), after which it is deleted at the next rotation and no longer
published or accepted. The caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection

from concur_scim.store import credentials as store
from concur_scim.store.credentials import KeyRow

ACCESS_TOKEN_LIFETIME = timedelta(hours=1)  # Concur: expires_in 3600 (§7)
KEY_GRACE = timedelta(hours=2)
_RSA_BITS = 2048


def _generate(conn: Connection, now: datetime) -> KeyRow:
    private = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = str(uuid.uuid4())
    public_jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(
        private.public_key(), as_dict=True
    )
    public_jwk.update(kid=kid, use="sig", alg="RS256")
    store.insert_key(conn, kid=kid, private_pem=pem, public_jwk=public_jwk, now=now)
    return KeyRow(kid=kid, private_pem=pem, public_jwk=public_jwk, created=now, retired=None)


def signing_key(conn: Connection, now: datetime) -> KeyRow:
    """The key that signs now: the newest unretired one, created on first use."""
    return store.newest_signing_key(conn) or _generate(conn, now)


def rotate_keys(conn: Connection, now: datetime) -> str:
    """Retire the signing key(s), create a new one and return its kid.

    Keys retired more than :data:`KEY_GRACE` ago are deleted: nothing they signed is valid.
    """
    store.delete_keys_retired_before(conn, now - KEY_GRACE)
    store.retire_keys(conn, now)
    return _generate(conn, now).kid


def verification_keys(conn: Connection, now: datetime) -> list[KeyRow]:
    """Every key that verifies at ``now`` (the signing key and those in their grace period)."""
    return store.verification_keys(conn, now - KEY_GRACE)


def jwks(conn: Connection, now: datetime) -> dict[str, Any]:
    """The JSON Web Key Set (RFC 7517 §5) of the keys that verify, newest first."""
    return {"keys": [key.public_jwk for key in verification_keys(conn, now)]}


def mint_access_token(
    conn: Connection,
    *,
    issuer: str,
    subject: str,
    principal_type: str,
    company_id: str,
    scopes: Sequence[str],
    app_id: str | None,
    now: datetime,
) -> str:
    """A one-hour RS256 JWT with Concur's claims (reference §7), signed by the current key.

    ``principal_type`` is ``company`` or ``app``; ``subject`` the company UUID for company
    tokens and the client id for application tokens.
    """
    key = signing_key(conn, now)
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": "*",
        "concur.version": 3,
        "concur.type": principal_type,
        "concur.company": company_id,
        "concur.scopes": list(scopes),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ACCESS_TOKEN_LIFETIME.total_seconds()),
    }
    if app_id is not None:
        claims["concur.appId"] = app_id
        claims["concur.app"] = f"{issuer}/profile/v1/apps/{app_id}"
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
