"""The console's tables (migration s0003), on the central store's metadata."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, PrimaryKeyConstraint, String, Table, Text

from sync_server.schema import metadata

accounts = Table(
    "console_accounts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("full_name", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("branches", Text, nullable=False),  # JSON list: a branch manager's branches
    Column("password_hash", Text, nullable=False),  # Argon2id
    Column("disabled", Boolean, nullable=False),
    Column("failures", Integer, nullable=False),  # failed logins since the last success
    Column("locked_until", String(40), nullable=False),  # ISO moment, "" when not locked
    Column("created_at", String(40), nullable=False),
)

sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie's token
    Column("username", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False, index=True),
)

device_seen = Table(
    "device_seen",
    metadata,
    Column("branch", String(32), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("seen_at", String(40), nullable=False),  # last signed request answered 2xx
    Column("protocol", Integer, nullable=True),  # as the desktop reports it, if it does
    PrimaryKeyConstraint("branch", "device_id"),
)
