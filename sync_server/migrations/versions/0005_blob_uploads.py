"""Uploads per device, and the branches that hold each scan.

``blob_uploads`` (device_id, sha256): each device's upload in progress, apart from every
other device's, so no device can squat an upload another one needs. ``blob_holders``
(branch, sha256): the branches that uploaded a scan's bytes; only they are told the
server has it and may read it. Filled here from the complete scans that a branch's
events reference (what ``blob_refs`` allowed before). Uploads in progress are dropped:
the desktops resume them from the first byte.

Revision ID: s0005
Revises: s0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0005"
down_revision = "s0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blob_uploads",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received", sa.BigInteger, nullable=False),
        sa.Column("transferred", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "sha256"),
    )
    op.create_table(
        "blob_holders",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("branch", "sha256"),
    )
    op.execute(
        "INSERT INTO blob_holders (branch, sha256) SELECT r.branch, r.sha256 "
        "FROM blob_refs r JOIN blobs b ON b.sha256 = r.sha256 WHERE b.complete"
    )
    op.execute("DELETE FROM blobs WHERE NOT complete")


def downgrade() -> None:
    op.drop_table("blob_holders")
    op.drop_table("blob_uploads")
