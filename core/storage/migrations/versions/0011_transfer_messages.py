"""Messages between units: the offers (send-outs) and replies (send-backs) other units
addressed to this branch, each with the centre's enrolment of the desk that wrote it,
checked when they arrive (``core.domain.transfers``). Local to this desk (never synced:
each desk pulls them from the centre).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_messages",
        sa.Column("event_id", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("from_branch", sa.String, nullable=False),
        sa.Column("dossier_id", sa.String, nullable=False),
        sa.Column("code", sa.String, nullable=False),
        sa.Column("message", sa.String, nullable=False),
        sa.Column("enrolment", sa.String, nullable=False),
        sa.Column("received_at", sa.String, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("transfer_messages")
