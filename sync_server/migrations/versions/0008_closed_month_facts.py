"""Each dossier's statistics facts as of the end of every month it went on past
(``dossier_facts_closed``): a closed month's report counts them in SQL instead of folding
those dossiers again from their events (``sync_server.closed_months``).

The fold writes them from this revision on; dossiers folded before keep being folded
again for a closed month's report until ``motcua-server rebuild`` (or a later event of
theirs) writes them.

Revision ID: s0008
Revises: s0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0008"
down_revision = "s0007"
branch_labels = None
depends_on = None

_BUCKET = sa.String(24)


def upgrade() -> None:
    op.create_table(
        "dossier_facts_closed",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("dossier_id", sa.String(64), nullable=False),
        sa.Column("received_s", sa.BigInteger(), nullable=False),
        sa.Column("ended_s", sa.BigInteger(), nullable=True),
        sa.Column("last_s", sa.BigInteger(), nullable=False),
        sa.Column("switch_s", sa.BigInteger(), nullable=True),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("b_before", _BUCKET, nullable=False),
        sa.Column("b_after", _BUCKET, nullable=False),
        sa.Column("b_moment_before", _BUCKET, nullable=False),
        sa.Column("b_moment_after", _BUCKET, nullable=False),
        sa.Column("received_here", sa.Boolean(), nullable=False),
        sa.Column("processed_here", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("complaint", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("has_result", sa.Boolean(), nullable=False),
        sa.Column("digitised", sa.Boolean(), nullable=False),
        sa.Column("payable", sa.Boolean(), nullable=False),
        sa.Column("paid_online", sa.Boolean(), nullable=False),
        sa.Column("g_field", sa.String(64), nullable=False),
        sa.Column("g_procedure", sa.String(64), nullable=False),
        sa.Column("g_clerk", sa.String(64), nullable=False),
        sa.Column("g_branch", sa.String(32), nullable=False),
        sa.Column("g_month", sa.String(7), nullable=False),
        sa.Column("g_channel", sa.String(32), nullable=False),
        sa.Column("g_received_unit", sa.String(32), nullable=False),
        sa.Column("g_processing_unit", sa.String(32), nullable=False),
        sa.Column("month_end_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("branch", "dossier_id", "month_end_s"),
    )
    op.create_index(
        "ix_dossier_facts_closed_month", "dossier_facts_closed", ["month_end_s", "ended_s"]
    )


def downgrade() -> None:
    op.drop_index("ix_dossier_facts_closed_month", "dossier_facts_closed")
    op.drop_table("dossier_facts_closed")
