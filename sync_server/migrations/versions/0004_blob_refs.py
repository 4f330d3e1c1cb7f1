"""Scans readable by the branches whose events reference them.

``blob_refs`` (branch, sha256): filled at ingest from ``dossier.attach`` events, and here
from the events already stored. ``GET /v1/blobs/{sha}`` answers a desk only when its own
branch references the scan.

Revision ID: s0004
Revises: s0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    refs = op.create_table(
        "blob_refs",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("branch", "sha256"),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT branch, body FROM events WHERE type = 'dossier.attach'"))
    found: set[tuple[str, str]] = set()
    for branch, body in rows:
        sha = json.loads(body).get("payload", {}).get("file", {}).get("sha256")
        if isinstance(sha, str):
            found.add((branch, sha))
    if found:
        op.bulk_insert(refs, [{"branch": b, "sha256": s} for b, s in sorted(found)])


def downgrade() -> None:
    op.drop_table("blob_refs")
