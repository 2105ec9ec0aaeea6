"""Access tokens with chosen scopes for one fresh company (reference/concur-v4.md §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from concur_scim.services import credentials
from concur_scim.services.signing_keys import mint_access_token
from concur_scim.store.db import unit_of_work


@dataclass
class Tokens:
    """Mints access tokens of one fresh company on one backend."""

    engine: Engine
    company_id: str

    @classmethod
    def for_new_company(cls, engine: Engine, name: str = "Scoped") -> Tokens:
        """A minter for a company created now in ``engine``'s database."""
        with unit_of_work(engine, write=True) as conn:
            company = credentials.create_company(conn, name, datetime.now(UTC))
        return cls(engine, company.company_id)

    def jwt(self, scopes: list[str], *, at: datetime | None = None) -> str:
        """An RS256 access token of this company holding exactly ``scopes``."""
        with unit_of_work(self.engine, write=True) as conn:
            return mint_access_token(
                conn,
                issuer="http://testserver",
                subject=self.company_id,
                principal_type="company",
                company_id=self.company_id,
                scopes=scopes,
                app_id=None,
                now=at or datetime.now(UTC),
            )

    def static(self, scopes: list[str] | None) -> str:
        """A stored static token of this company (``None``: every scope)."""
        with unit_of_work(self.engine, write=True) as conn:
            return credentials.create_static_token(
                conn, self.company_id, scopes=scopes, name=None, now=datetime.now(UTC)
            )
