"""Alembic environment for the central store: runs on the connection the caller passes."""

from __future__ import annotations

from alembic import context

from sync_server.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=metadata, version_table="motcua_server_version"
)
with context.begin_transaction():
    context.run_migrations()
