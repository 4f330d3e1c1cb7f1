"""Initial desktop store: events, devices, projections, catalogue, counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String, primary_key=True),
        sa.Column("branch", sa.String, nullable=False),
        sa.Column("public_key", sa.String, nullable=False),
        sa.Column("label", sa.String, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "device_heads",
        sa.Column("device_id", sa.String, primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String, nullable=False, unique=True),
        sa.Column("dossier_id", sa.String, index=True),
        sa.Column("branch", sa.String, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("origin_device", sa.String, nullable=False),
        sa.Column("origin_seq", sa.Integer, nullable=False),
        sa.Column("hlc", sa.String, nullable=False),
        sa.Column("parents", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
        sa.Column("signature", sa.String, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.UniqueConstraint("origin_device", "origin_seq", name="uq_events_origin_seq"),
    )
    op.create_table(
        "dossiers",
        sa.Column("num", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String, nullable=False, unique=True),
        sa.Column("code", sa.String, nullable=False, unique=True),
        sa.Column("branch", sa.String, nullable=False),
        sa.Column("procedure_code", sa.String, nullable=False, index=True),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("applicant_name", sa.String, nullable=False),
        sa.Column("id_number", sa.String, nullable=False, index=True),
        sa.Column("phone", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False, index=True),
        sa.Column("national_status", sa.Integer, nullable=False),
        sa.Column("received_at", sa.String, nullable=False, index=True),
        sa.Column("received_by", sa.String, nullable=False),
        sa.Column("due_at", sa.String, nullable=False, index=True),
        sa.Column("end_at", sa.String, nullable=False),
        sa.Column("holder", sa.String, nullable=False),
        sa.Column("conflict", sa.Boolean, nullable=False),
        sa.Column("last_event_hlc", sa.String, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    op.execute(
        "CREATE VIRTUAL TABLE dossier_search USING fts5("
        "body, tokenize = \"unicode61 remove_diacritics 2 tokenchars '-'\")"
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String, primary_key=True),
        sa.Column("full_name", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("password_hash", sa.String, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "login_attempts",
        sa.Column("username", sa.String, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String, nullable=False),
    )
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "procedures",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "code_counters",
        sa.Column("day", sa.String, primary_key=True),
        sa.Column("last_number", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "code_counters",
        "procedures",
        "calendar_overrides",
        "login_attempts",
        "users",
        "dossier_search",
        "dossiers",
        "events",
        "device_heads",
        "devices",
        "meta",
    ):
        op.drop_table(table)
