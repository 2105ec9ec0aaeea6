"""Companies: the tenants every row belongs to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, select, update

from concur_scim.store.tables import companies


def ensure_default_company(conn: Connection, wanted: uuid.UUID | None, now: datetime) -> str:
    """The default company's id, creating it on first start.

    With ``wanted`` (``CONCUR_SCIM_COMPANY_ID``) that company becomes the default, created if
    needed; without it, the stored default is kept, or a fresh UUID is stored.
    """
    if wanted is not None:
        company_id = str(wanted)
        exists = conn.execute(select(companies.c.id).where(companies.c.id == company_id)).first()
        if not exists:
            conn.execute(
                companies.insert().values(
                    id=company_id, name="default", is_default=False, created=now
                )
            )
        conn.execute(update(companies).values(is_default=companies.c.id == company_id))
        return company_id
    row = conn.execute(select(companies.c.id).where(companies.c.is_default.is_(True))).first()
    if row:
        return str(row.id)
    company_id = str(uuid.uuid4())
    conn.execute(
        companies.insert().values(id=company_id, name="default", is_default=True, created=now)
    )
    return company_id
