"""What `verify` checks beyond the chains: the SQLite file itself, the projections
against a rebuild from the log, and this desk's chain against what the server holds.

The rebuild runs on an online-backup copy of the store (in the data dir, owner-only,
deleted after), so the desk keeps working and nothing of the real store is rewritten.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.domain.errors import N_
from core.storage import event_store, projection
from core.storage.db import Store, connect_file, private_file, raw

if TYPE_CHECKING:
    from .branch import Branch

# Table → the columns that identify a row; surrogate keys (``num``) are left out.
PROJECTIONS: dict[str, tuple[str, ...]] = {
    "dossiers": ("id",),
    "users": ("username",),
    "calendar_overrides": ("day",),
}
SURROGATES = frozenset({"num"})
DAMAGED_FILE = N_("SQLite integrity check: {detail}")
ROW_DIFFERS = N_("{table} row {key} differs from what the event log gives")
ROW_MISSING = N_("{table} row {key} is missing: the event log has it")
ROW_EXTRA = N_("{table} row {key} is not in the event log")
SERVER_AHEAD = N_(
    "the server holds {server} events of this desk but this store only {local}: events "
    "were lost here; restore the store from a backup"
)


def integrity(branch: Branch) -> list[dict[str, Any]]:
    """SQLite's own check of the file: pages, indexes, constraints."""
    with branch.store.read() as conn:
        rows = raw(conn).execute("PRAGMA integrity_check(20)").fetchall()
    details = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    return [
        {"check": "integrity", "message": DAMAGED_FILE, "params": {"detail": d}} for d in details
    ]


def projection_drift(branch: Branch, limit: int = 20) -> list[dict[str, Any]]:
    """Rows of the projections that a rebuild from the event log would not give."""
    with _rebuilt_copy(branch) as copy, branch.store.read() as live, copy.read() as fresh:
        found: list[dict[str, Any]] = []
        for table, key in PROJECTIONS.items():
            found += _compare(
                table, key, _rows(raw(live), table, key), _rows(raw(fresh), table, key)
            )
            if len(found) >= limit:
                break
    return found[:limit]


@contextlib.contextmanager
def _rebuilt_copy(branch: Branch) -> Iterator[Store]:
    with tempfile.TemporaryDirectory(dir=branch.data_dir, prefix=".verify-") as folder:
        path = Path(folder) / "copy.db"
        private_file(path)
        key = branch.store.key  # an encrypted store's copy is encrypted too
        target = connect_file(path, key, branch.store.cipher)
        try:
            with branch.store.read() as conn:
                raw(conn).backup(target)
        finally:
            target.close()
        copy = Store(path, key, branch.store.cipher)
        try:
            copy.write(projection.rebuild)
            yield copy
        finally:
            copy.close()


def _rows(db: sqlite3.Connection, table: str, key: tuple[str, ...]) -> dict[tuple[Any, ...], Any]:
    cursor = db.execute(f"SELECT * FROM {table}")  # table names from PROJECTIONS only
    names = [d[0] for d in cursor.description]
    rows: dict[tuple[Any, ...], Any] = {}
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        rows[tuple(row[k] for k in key)] = {k: v for k, v in row.items() if k not in SURROGATES}
    return rows


def _compare(
    table: str, key: tuple[str, ...], live: dict[Any, Any], fresh: dict[Any, Any]
) -> list[dict[str, Any]]:
    found = []
    for ident in sorted(live.keys() | fresh.keys(), key=str):
        shown = "/".join(str(part) for part in ident)
        if ident not in fresh:
            message = ROW_EXTRA
        elif ident not in live:
            message = ROW_MISSING
        elif _normal(live[ident]) != _normal(fresh[ident]):
            message = ROW_DIFFERS
        else:
            continue
        found.append(
            {"check": "projection", "message": message, "params": {"table": table, "key": shown}}
        )
    return found


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    """JSON columns compared as values, not as text (key order may differ)."""
    normal = dict(row)
    for name, value in row.items():
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(ValueError):
                normal[name] = json.loads(value)
    return normal


def behind_server(branch: Branch, server_vector: dict[str, int]) -> list[dict[str, Any]]:
    """This desk's chain against the head the server last acknowledged for it."""
    server = server_vector.get(branch.device_id, 0)
    with branch.store.read() as conn:
        local, _ = event_store.device_head(conn, branch.device_id)
    if server <= local:
        return []
    return [
        {"check": "server", "message": SERVER_AHEAD, "params": {"server": server, "local": local}}
    ]
