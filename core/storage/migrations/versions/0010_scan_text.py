"""Scan text: the words OCR read in each recorded scan, in an FTS5 table tokenised as the
dossier search is, so a dossier is found by a word of its scans. Local to this desk
(never synced): each desk reads the scans it wants searchable.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE scan_search USING fts5("
        "body, sha256 UNINDEXED, dossier_id UNINDEXED, "
        "tokenize = \"unicode61 remove_diacritics 2 tokenchars '-'\")"
    )


def downgrade() -> None:
    op.execute("DROP TABLE scan_search")
