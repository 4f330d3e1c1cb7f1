"""The edition of the fold each branch's projection was made with
(``projection_cursor.fold_version``, against ``core.domain.dossier.FOLD_VERSION``).

Branches folded before this revision start at 0, older than every edition: the server
folds them again from their logs in the background once it runs
(``projections.refold_outdated``), so the console's records and statistics follow the
desks' fold (which bounds steps' moments by their clocks since store revision 0013).

Revision ID: s0009
Revises: s0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0009"
down_revision = "s0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projection_cursor") as batch:
        batch.add_column(
            sa.Column("fold_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("projection_cursor") as batch:
        batch.drop_column("fold_version")
