"""Alembic environment for the desktop store: runs on the connection the caller passes."""

from __future__ import annotations

from alembic import context

from core.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
