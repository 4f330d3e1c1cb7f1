"""Prefix marks of the blobs this desktop holds but the server does not yet: the SHA-256
of each whole MiB prefix, taken when the blob is stored, so an upload signs its chunks
without hashing the file again (``core.sync.blobs.MARK_SPAN``). Cleared once durable.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("marks", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("marks")
