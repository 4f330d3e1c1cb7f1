"""Every dossier refolded once: the records now keep the moment they began (their receipt
or online submission, ``core.domain.dossier.CREATED``), against which steps are judged.
The dossiers are marked stale; opening the store folds them again from the log, so a
record folded before and one folded after never differ (``motcua verify`` compares them).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT OR IGNORE INTO stale_dossiers (dossier_id) SELECT id FROM dossiers")


def downgrade() -> None:
    op.execute("DELETE FROM stale_dossiers")
