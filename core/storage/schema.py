"""Tables of the local store (SQLAlchemy Core). Changes go through Alembic migrations.

``events`` is append-only and the source of truth; ``dossiers``, ``dossier_search``,
``users`` and ``calendar_overrides`` are projections rebuilt from it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String, primary_key=True),
    Column("branch", String, nullable=False),
    Column("public_key", String, nullable=False),
    Column("label", String, nullable=False, default=""),
    Column("revoked", Boolean, nullable=False, default=False),
)

device_heads = Table(
    "device_heads",
    metadata,
    Column("device_id", String, primary_key=True),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String, nullable=False, unique=True),
    Column("dossier_id", String, index=True),
    Column("branch", String, nullable=False),
    Column("type", String, nullable=False),
    Column("payload", Text, nullable=False),
    Column("actor", String, nullable=False),
    Column("origin_device", String, nullable=False),
    Column("origin_seq", Integer, nullable=False),
    Column("hlc", String, nullable=False),
    Column("parents", Text, nullable=False),
    Column("prev_hash", String, nullable=False),
    Column("hash", String, nullable=False),
    Column("signature", String, nullable=False),
    Column("schema_version", Integer, nullable=False),
    UniqueConstraint("origin_device", "origin_seq", name="uq_events_origin_seq"),
)

dossiers = Table(
    "dossiers",
    metadata,
    Column("num", Integer, primary_key=True, autoincrement=True),
    Column("id", String, nullable=False, unique=True),
    Column("code", String, nullable=False, unique=True),
    Column("branch", String, nullable=False),
    Column("procedure_code", String, nullable=False, index=True),
    Column("field", String, nullable=False),
    Column("applicant_name", String, nullable=False),
    Column("id_number", String, nullable=False, index=True),
    Column("phone", String, nullable=False),
    Column("state", String, nullable=False, index=True),
    Column("national_status", Integer, nullable=False),
    Column("received_at", String, nullable=False, index=True),
    Column("received_by", String, nullable=False),
    Column("due_at", String, nullable=False, index=True),
    Column("end_at", String, nullable=False),
    Column("holder", String, nullable=False),
    Column("conflict", Boolean, nullable=False),
    Column("last_event_hlc", String, nullable=False),
    Column("doc", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String, primary_key=True),
    Column("full_name", String, nullable=False),
    Column("role", String, nullable=False),
    Column("password_hash", String, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # The user's key (``core.domain.userkeys``): NULL for users made before keys existed.
    Column("public_key", String, nullable=True),
    Column("sealed_key", Text, nullable=True),
)

# Every key each user has had, in the users' fold: proofs made before a reset still verify.
user_keys = Table(
    "user_keys",
    metadata,
    Column("username", String, primary_key=True),
    Column("public_key", String, primary_key=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("username", String, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", String, nullable=False),
)

calendar_overrides = Table(
    "calendar_overrides",
    metadata,
    Column("day", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("reason", Text, nullable=False),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", String, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("field", String, nullable=False),
    Column("data", Text, nullable=False),
)

code_counters = Table(
    "code_counters",
    metadata,
    Column("day", String, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

# Each intake form's idempotency key and the dossier it recorded (local, never synced).
intake_keys = Table(
    "intake_keys",
    metadata,
    Column("key", String, primary_key=True),
    Column("dossier_id", String, nullable=False),
    Column("at", String, nullable=False),
)

# Messages other units sent this branch (``core.domain.transfers``), checked on arrival:
# offers to accept and replies to take back. Local to this desk (each desk pulls them).
transfer_messages = Table(
    "transfer_messages",
    metadata,
    Column("event_id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("from_branch", String, nullable=False),
    Column("dossier_id", String, nullable=False),  # the dossier of the unit it came from
    Column("code", String, nullable=False),
    Column("message", String, nullable=False),
    Column("enrolment", String, nullable=False),
    Column("received_at", String, nullable=False),
)

SEARCH_DDL = (
    "CREATE VIRTUAL TABLE dossier_search USING fts5("
    "body, tokenize = \"unicode61 remove_diacritics 2 tokenchars '-'\")"
)
