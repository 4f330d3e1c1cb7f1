"""Dossiers whose pulled events are logged but not folded yet: a pull folds them once at
its end; a crash in between leaves them here, refolded when the store next opens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("stale_dossiers", sa.Column("dossier_id", sa.String, primary_key=True))


def downgrade() -> None:
    op.drop_table("stale_dossiers")
