"""Partial index on dossiers in conflict: the dashboard counts them on every refresh.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_dossiers_in_conflict ON dossiers (num) WHERE conflict = 1")


def downgrade() -> None:
    op.execute("DROP INDEX ix_dossiers_in_conflict")
