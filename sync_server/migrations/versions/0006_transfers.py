"""Messages between units, and the scans a transfer lets the receiving branch read.

``transfers``: each send-out (offer) and send-back (reply) a desk pushed, with the
centre's enrolment of that desk, kept for the unit it is addressed to
(``core.domain.transfers``). ``blob_grants``: the scans such a message names, readable by
the receiving branch while the sending branch holds them.

Revision ID: s0006
Revises: s0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0006"
down_revision = "s0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("num", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("to_branch", sa.String(32), nullable=False),
        sa.Column("from_branch", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("enrolment", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_transfers_to_branch", "transfers", ["to_branch"])
    op.create_table(
        "blob_grants",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("from_branch", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("branch", "sha256", "from_branch"),
    )


def downgrade() -> None:
    op.drop_table("blob_grants")
    op.drop_index("ix_transfers_to_branch", table_name="transfers")
    op.drop_table("transfers")
