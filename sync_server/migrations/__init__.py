"""Alembic history of the central store (separate from the desktop store's)."""
