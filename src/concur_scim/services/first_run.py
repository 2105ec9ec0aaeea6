"""The default company's first-run token: the bearer token ``serve`` prints, stable across starts.

Storage (docs/security.md, "The first-run token"): the database holds the token as every
credential is held, as the SHA-256 digest of a ``static_tokens`` row of the default company
named :data:`FIRST_RUN_NAME` (every scope, no expiry), so every API process, and any number
of them, verifies it without knowing it. The token itself, which ``serve`` must print again,
is kept only in a file beside the SQLite database (``<database>.token``, or
``CONCUR_SCIM_TOKEN_FILE``), created with mode 0600. The file alone grants nothing: the token
works while its row is stored and not revoked.

:func:`first_run_token` runs inside the caller's write transaction (which on SQLite is
``BEGIN IMMEDIATE``), so two servers starting at once on one database agree on the token.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from concur_scim.services.credentials import digest, new_secret
from concur_scim.store import credentials as store

FIRST_RUN_NAME = "first-run"


def _read(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    if stat.S_IMODE(mode) & 0o077:
        os.chmod(path, 0o600)  # written 0600 by us; someone widened it: a secret stays private
    return token or None


def _write(path: Path, token: str) -> None:
    """Replace ``path`` atomically by a 0600 file holding ``token``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(token + "\n")
    os.replace(partial, path)


def first_run_token(conn: Connection, path: Path, company_id: str, now: datetime) -> str:
    """The default company's first-run token, kept in ``path``.

    The token in ``path`` is returned when it still grants ``company_id`` (its row is
    stored, unrevoked, of that company), and stored again when its row is missing (a new
    database beside a kept file: the identity provider's saved token keeps working).
    Otherwise (no file, a revoked token, another company's) a new token is stored and
    written to ``path``. Raises OSError when ``path`` cannot be read or written. The caller
    owns the transaction.
    """
    token = _read(path)
    if token is not None:
        token_hash = digest(token)
        grant = store.find_static_token(conn, token_hash, now)
        if grant is not None and grant.company_id == company_id:
            return token
        if grant is None and not store.static_token_stored(conn, token_hash):
            _store(conn, token, company_id, now)
            return token
    token = new_secret()
    _store(conn, token, company_id, now)
    _write(path, token)
    return token


def _store(conn: Connection, token: str, company_id: str, now: datetime) -> None:
    store.insert_static_token(
        conn,
        token_hash=digest(token),
        company_id=company_id,
        name=FIRST_RUN_NAME,
        scopes=None,
        expires=None,
        now=now,
    )
