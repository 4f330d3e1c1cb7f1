"""The store's small settings table (``meta``): one text value per name."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from . import schema as t


def get(conn: Connection, name: str) -> str | None:
    row = conn.execute(select(t.meta.c.value).where(t.meta.c.key == name)).first()
    return str(row.value) if row else None


def put(conn: Connection, name: str, value: str) -> None:
    if conn.execute(update(t.meta).where(t.meta.c.key == name).values(value=value)).rowcount == 0:
        conn.execute(insert(t.meta).values(key=name, value=value))
