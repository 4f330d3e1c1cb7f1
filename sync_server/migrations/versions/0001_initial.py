"""Initial central store: branches, devices, enrolment codes, scopes, events, blobs.

Revision ID: s0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "branches",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("branch", sa.String(32), nullable=False, index=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("code_blocks", sa.Text, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("flagged", sa.Text, nullable=False),
        sa.Column("enrolled_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "enrol_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("used_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "scopes",
        sa.Column("branch", sa.String(32), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "heads",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("last_hlc", sa.String(24), nullable=False),
        sa.PrimaryKeyConstraint("branch", "device_id"),
    )
    op.create_table(
        "events",
        sa.Column("branch", sa.String(32), nullable=False),
        sa.Column("server_seq", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("origin_device", sa.String(64), nullable=False),
        sa.Column("origin_seq", sa.BigInteger, nullable=False),
        sa.Column("dossier_id", sa.String(64)),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("hlc", sa.String(24), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("branch", "server_seq"),
        sa.UniqueConstraint("branch", "origin_device", "origin_seq", name="uq_events_origin"),
        sa.UniqueConstraint("branch", "event_id", name="uq_events_id"),
    )
    op.create_table(
        "nonces",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "nonce"),
    )
    op.create_index("ix_nonces_at", "nonces", ["at_ms"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received", sa.BigInteger, nullable=False),
        sa.Column("transferred", sa.BigInteger, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_nonces_at", "nonces")
    for table in (
        "blobs",
        "incidents",
        "nonces",
        "events",
        "heads",
        "scopes",
        "enrol_codes",
        "devices",
        "branches",
        "server_meta",
    ):
        op.drop_table(table)
