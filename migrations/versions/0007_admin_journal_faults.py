"""request journal columns, fault rules and admin flags (the admin API)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dialect", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("response", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("error", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("fault_rule", sa.String(length=36), nullable=True))
    op.create_table(
        "fault_rules",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=True),
        sa.Column("dialect", sa.String(length=32), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=512), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_fault_rules_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_fault_rules")),
        sa.UniqueConstraint("id", name=op.f("uq_fault_rules_id")),
    )
    op.create_table(
        "admin_flags",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_admin_flags")),
    )


def downgrade() -> None:
    op.drop_table("admin_flags")
    op.drop_table("fault_rules")
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.drop_column("fault_rule")
        batch_op.drop_column("error")
        batch_op.drop_column("response")
        batch_op.drop_column("dialect")
