"""Live users per company, kept in stripes, for the totals of unfiltered lists

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_counts",
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("stripe", sa.Integer(), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_user_counts_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("company_id", "stripe", name=op.f("pk_user_counts")),
    )
    # The users already stored, counted once, in stripe 0.
    op.execute(
        "INSERT INTO user_counts (company_id, stripe, live) "
        "SELECT company_id, 0, count(*) FROM users WHERE deleted_at IS NULL GROUP BY company_id"
    )


def downgrade() -> None:
    op.drop_table("user_counts")
