"""Replication: pull cursors per scope, local blobs and their durability on the server.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_cursors",
        sa.Column("scope", sa.String, primary_key=True),
        sa.Column("cursor", sa.Integer, nullable=False),
    )
    op.create_table(
        "blobs",
        sa.Column("num", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String, nullable=False, unique=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("present", sa.Boolean, nullable=False),
        sa.Column("durable", sa.Boolean, nullable=False),
    )
    op.create_index("ix_blobs_pending", "blobs", ["durable", "num"])


def downgrade() -> None:
    op.drop_index("ix_blobs_pending", "blobs")
    op.drop_table("blobs")
    op.drop_table("sync_cursors")
