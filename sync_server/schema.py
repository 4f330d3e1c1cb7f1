"""Tables of the central store (SQLAlchemy Core). Changes go through Alembic migrations.

Citus-ready: ``branch`` leads the keys of every sharded table (events, heads, scopes), so
events shard by branch; devices, branches and blobs are small reference tables. The
global scope ``*`` (catalogue, calendar) is a branch like any other.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
GLOBAL_SCOPE = "*"

server_meta = Table(
    "server_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

branches = Table(
    "branches",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("branch", String(32), nullable=False, index=True),
    Column("public_key", String(64), nullable=False),
    Column("label", Text, nullable=False),
    Column("code_blocks", Text, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("flagged", Text, nullable=False),
    Column("enrolled_at", String(40), nullable=False),
)

enrol_codes = Table(
    "enrol_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("branch", String(32), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("used_by", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
)

scopes = Table(
    "scopes",
    metadata,
    Column("branch", String(32), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

heads = Table(
    "heads",
    metadata,
    Column("branch", String(32), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("last_hlc", String(24), nullable=False),
    PrimaryKeyConstraint("branch", "device_id"),
)

events = Table(
    "events",
    metadata,
    Column("branch", String(32), nullable=False),
    Column("server_seq", BigInteger, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("origin_device", String(64), nullable=False),
    Column("origin_seq", BigInteger, nullable=False),
    Column("dossier_id", String(64)),
    Column("type", String(64), nullable=False),
    Column("hlc", String(24), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    # Its own signature verified at ingest (``sync_server.reads`` cuts pages after these).
    Column("sealed", Boolean, nullable=True),
    PrimaryKeyConstraint("branch", "server_seq"),
    UniqueConstraint("branch", "origin_device", "origin_seq", name="uq_events_origin"),
    UniqueConstraint("branch", "event_id", name="uq_events_id"),
)

nonces = Table(
    "nonces",
    metadata,
    Column("device_id", String(64), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("device_id", "nonce"),
    Index("ix_nonces_at", "at_ms"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", String(40), nullable=False),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
    Column("transferred", BigInteger, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("created_at", String(40), nullable=False),
)

blob_uploads = Table(
    # Each device's uploads in progress, apart: one device's chunks (a wrong size, bytes
    # that will never hash right) can never stand in the way of another's upload.
    "blob_uploads",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
    Column("transferred", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
)

blob_holders = Table(
    # The branches that proved they hold a scan by uploading all of its bytes: the only
    # ones told the server has it, and the only ones that may read it.
    "blob_holders",
    metadata,
    Column("branch", String(32), primary_key=True),
    Column("sha256", String(64), primary_key=True),
)

blob_refs = Table(
    # Which branch's events reference which scan: a desk reads a blob only when an event
    # of its own branch names it (knowing a SHA-256 is not enough).
    "blob_refs",
    metadata,
    Column("branch", String(32), primary_key=True),
    Column("sha256", String(64), primary_key=True),
)

transfers = Table(
    # Messages between units (``core.domain.transfers``): a send-out (an offer) or a
    # send-back (a reply), with the centre's enrolment of the desk that wrote it, kept for
    # the unit it is addressed to. Its desks pull them by ``num``; nothing else of the
    # sending unit is ever served to them.
    "transfers",
    metadata,
    # A cursor up to 2**53 may be asked for: 64 bits on PostgreSQL (SQLite's rowid is).
    Column("num", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("to_branch", String(32), nullable=False, index=True),
    Column("from_branch", String(32), nullable=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("enrolment", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)

blob_grants = Table(
    # Scans a unit sent with a transfer: the receiving branch may read them while the
    # sending branch holds them (it proved it by uploading them).
    "blob_grants",
    metadata,
    Column("branch", String(32), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("from_branch", String(32), primary_key=True),
)
