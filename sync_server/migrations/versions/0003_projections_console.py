"""Server-side projections and the central console.

``dossiers``: each branch's dossiers folded from its events by the desktops' fold
(``sync_server.projections``), ``branch`` leading the key; ``projection_cursor``: the
server_seq up to which each branch is folded. ``events`` gains an index on
(branch, dossier_id), read when a dossier is folded again from its log.
``console_accounts`` and ``console_sessions``: the web console's own accounts; ``device_seen``
and ``intake_days``: when each device last synchronised, and how many events each branch
sent each day (the overview).

Revision ID: s0003
Revises: s0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_dossier", "events", ["branch", "dossier_id"])
    op.create_table(
        "dossiers",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("dossier_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("procedure_code", sa.String(64), nullable=False),
        sa.Column("procedure_name", sa.Text, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("applicant_name", sa.Text, nullable=False),
        sa.Column("id_number", sa.String(32), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("national_status", sa.Integer, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("due_at", sa.String(40), nullable=False),
        sa.Column("end_at", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("conflict", sa.Boolean, nullable=False),
        sa.Column("lookup_token", sa.String(32), nullable=False),
        sa.Column("last_event_hlc", sa.String(24), nullable=False),
        sa.Column("search", sa.Text, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("branch", "dossier_id"),
    )
    op.create_index("ix_dossiers_code", "dossiers", ["code"])
    op.create_index("ix_dossiers_id_number", "dossiers", ["id_number"])
    op.create_index("ix_dossiers_phone", "dossiers", ["phone"])
    op.create_index("ix_dossiers_received", "dossiers", ["branch", "received_at"])
    op.create_table(
        "projection_cursor",
        sa.Column("branch", sa.String(32), primary_key=True),
        sa.Column("folded_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "intake_days",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("branch", "day"),
    )
    op.create_table(
        "device_seen",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.String(40), nullable=False),
        sa.Column("protocol", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("branch", "device_id"),
    )
    op.create_table(
        "console_accounts",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("full_name", sa.Text, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("branches", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires", "console_sessions")
    for table in (
        "console_sessions",
        "console_accounts",
        "device_seen",
        "intake_days",
        "projection_cursor",
    ):
        op.drop_table(table)
    for index in ("ix_dossiers_received", "ix_dossiers_phone", "ix_dossiers_id_number"):
        op.drop_index(index, "dossiers")
    op.drop_index("ix_dossiers_code", "dossiers")
    op.drop_table("dossiers")
    op.drop_index("ix_events_dossier", "events")
