"""Every dossier refolded once: the fold now sets aside a step dated more than a day after
the clock that recorded it, and a wait's end or an online receipt that moves an
appointment out of all measure (``core.domain.step_moments``). A record folded before
from such a step would differ from the log; the dossiers are marked stale, and opening
the store folds them again (``motcua verify`` compares the two).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT OR IGNORE INTO stale_dossiers (dossier_id) SELECT id FROM dossiers")


def downgrade() -> None:
    op.execute("DELETE FROM stale_dossiers")
