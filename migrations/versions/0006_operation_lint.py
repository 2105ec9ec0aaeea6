"""provision_operations.lint: what real Concur would do with each operation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provision_operations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "lint",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("provision_operations", schema=None) as batch_op:
        batch_op.drop_column("lint")
