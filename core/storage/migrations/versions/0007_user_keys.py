"""Users' own keys: the public key and the private key sealed under the password on each
user row, and every key a user has had (a proof made before a password reset still
verifies after it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("public_key", sa.String, nullable=True))
        batch.add_column(sa.Column("sealed_key", sa.Text, nullable=True))
    op.create_table(
        "user_keys",
        sa.Column("username", sa.String, primary_key=True),
        sa.Column("public_key", sa.String, primary_key=True),
    )
    # The projections are rebuilt from the log on the next refold; keys start empty.


def downgrade() -> None:
    op.drop_table("user_keys")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sealed_key")
        batch.drop_column("public_key")
