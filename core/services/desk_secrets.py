"""Secrets of this desk's own configuration (the signing key file's passphrase, the
token's PIN), kept in the store's local ``meta`` table.

Not in ``desktop.json``, which sits in clear beside the store and is copied around when
a desk is set up; in the store they are encrypted with it (SQLCipher) and go into its
encrypted backups. They are never written into an event, so they never leave the desk
by sync. On a plain store they are as readable as the store itself: `doctor`'s
encryption check warns about that store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select

from core.storage import schema as t

from .branch import set_meta

if TYPE_CHECKING:
    from .branch import Branch

PREFIX = "secret."
NAMES = ("signing_key_passphrase", "signing_token_pin")


def read_all(branch: Branch) -> dict[str, str]:
    """Every secret this desk keeps, by name (absent ones are empty)."""
    with branch.store.read() as conn:
        rows = conn.execute(select(t.meta).where(t.meta.c.key.like(PREFIX + "%"))).all()
    kept = {str(r.key).removeprefix(PREFIX): str(r.value) for r in rows}
    return {name: kept.get(name, "") for name in NAMES}


def write(branch: Branch, values: Mapping[str, str]) -> None:
    """Keep `values` (an empty one removes the secret), in one transaction."""
    unknown = set(values) - set(NAMES)
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))

    def work(conn: Connection) -> None:
        for name, value in values.items():
            if value:
                set_meta(conn, PREFIX + name, value)
            else:
                conn.execute(delete(t.meta).where(t.meta.c.key == PREFIX + name))

    branch.store.write(work)
