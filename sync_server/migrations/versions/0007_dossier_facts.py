"""The statistics' facts of each dossier, in columns SQL can count (``dossier_facts``),
whether a branch has them all (``projection_cursor.facts_ready``), and an index of the
dossiers in conflict (the overview counts them per branch) and one of every branch's
receipts by moment (the dossiers page lists the latest).

Branches folded before this revision start with ``facts_ready`` false: the server writes
their facts from the dossiers' records in the background once it runs
(``projections.backfill_facts``), and the statistics read those branches from the records
meanwhile.

Revision ID: s0007
Revises: s0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0007"
down_revision = "s0006"
branch_labels = None
depends_on = None

_BUCKET = sa.String(24)


def upgrade() -> None:
    with op.batch_alter_table("projection_cursor") as batch:
        batch.add_column(
            sa.Column("facts_ready", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "dossier_facts",
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
        sa.PrimaryKeyConstraint("branch", "dossier_id"),
    )
    op.create_index("ix_dossier_facts_ended", "dossier_facts", ["ended_s"])
    op.create_index("ix_dossier_facts_received", "dossier_facts", ["received_s"])
    op.create_index("ix_dossiers_received_at", "dossiers", ["received_at"])
    op.create_index(
        "ix_dossiers_conflict",
        "dossiers",
        ["branch"],
        postgresql_where=sa.text("conflict"),
        sqlite_where=sa.text("conflict"),
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_conflict", "dossiers")
    op.drop_index("ix_dossiers_received_at", "dossiers")
    op.drop_index("ix_dossier_facts_received", "dossier_facts")
    op.drop_index("ix_dossier_facts_ended", "dossier_facts")
    op.drop_table("dossier_facts")
    with op.batch_alter_table("projection_cursor") as batch:
        batch.drop_column("facts_ready")
