"""Which events had their own signature verified at ingest (the newest of each origin's
run in a push, and the centre's own): pull pages end only where every origin's last event
is one of them, so a receiver that checks the newest of each origin's run in its page
always checks a signature the server verified, whatever the run's inner events hold.
NULL for events stored before: taken as before, as sealed.

Revision ID: s0002
Revises: s0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("sealed", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("sealed")
