"""Intake keys: each intake form's idempotency key and the dossier it recorded, written in
the receipt's own transaction, so a repeated click or a retry after an error returns that
dossier instead of recording a second one. Local to this desk (never synced).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_keys",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("dossier_id", sa.String, nullable=False),
        sa.Column("at", sa.String, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_keys")
