"""Events this desktop holds but does not apply: refused by the authority table
(``core.domain.authority``) or failing when folded. Kept for the admin's report; the
events stay in the log, so the origin's chain goes on and every later event applies.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("event_id", sa.String, primary_key=True),
        sa.Column("origin_device", sa.String, nullable=False),
        sa.Column("origin_seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("at", sa.String, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quarantine")
