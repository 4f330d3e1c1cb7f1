"""The append-only event log: local appends with gap-free sequence and hash chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Row, func, select

from core.domain import hlc
from core.domain.events import GENESIS_HASH, Event, canonical_json
from core.domain.signing import DeviceKey

from . import schema as t
from .db import raw


def _row_to_event(row: Row[Any]) -> Event:
    return Event(
        event_id=row.event_id,
        dossier_id=row.dossier_id,
        branch=row.branch,
        type=row.type,
        payload=orjson.loads(row.payload),
        actor=row.actor,
        origin_device=row.origin_device,
        origin_seq=row.origin_seq,
        hlc=row.hlc,
        parents=tuple(orjson.loads(row.parents)),
        prev_hash=row.prev_hash,
        hash=row.hash,
        signature=row.signature,
        schema_version=row.schema_version,
    )


def stored_json(value: Any) -> str:
    """Payloads and views are stored as text in the events' canonical form."""
    return canonical_json(value).decode()


# The stored columns in table order, as ``event_values`` gives them.
EVENT_COLUMNS = (
    "event_id",
    "dossier_id",
    "branch",
    "type",
    "payload",
    "actor",
    "origin_device",
    "origin_seq",
    "hlc",
    "parents",
    "prev_hash",
    "hash",
    "signature",
    "schema_version",
)
assert tuple(c.name for c in t.events.columns if c.name != "seq") == EVENT_COLUMNS
# Positional: binding a batch of tuples is cheaper than looking up each row's names.
INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)


def event_values(event: Event) -> tuple[Any, ...]:
    """An event's stored values, in ``EVENT_COLUMNS`` order."""
    return (
        event.event_id,
        event.dossier_id,
        event.branch,
        event.type,
        stored_json(event.payload),
        event.actor,
        event.origin_device,
        event.origin_seq,
        event.hlc,
        stored_json(event.parents),
        event.prev_hash,
        event.hash,
        event.signature,
        event.schema_version,
    )


def event_row(event: Event) -> dict[str, Any]:
    return dict(zip(EVENT_COLUMNS, event_values(event), strict=True))


# The receive path runs these for every dossier, so they go straight to the sqlite3
# connection inside the caller's SQLAlchemy transaction (about 20x less overhead each).
_INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(c.name for c in t.events.columns if c.name != 'seq')}) "
    f"VALUES ({', '.join(':' + c.name for c in t.events.columns if c.name != 'seq')})"
)
_GET_HEAD = "SELECT last_seq, last_hash FROM device_heads WHERE device_id = ?"
_SET_HEAD = (
    "INSERT INTO device_heads (device_id, last_seq, last_hash) VALUES (?, ?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET last_seq = excluded.last_seq, "
    "last_hash = excluded.last_hash"
)
_GET_META = "SELECT value FROM meta WHERE key = ?"
_SET_META = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def device_head(conn: Connection, device_id: str) -> tuple[int, str]:
    row = raw(conn).execute(_GET_HEAD, (device_id,)).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def set_head(conn: Connection, device_id: str, seq: int, digest: str) -> None:
    raw(conn).execute(_SET_HEAD, (device_id, seq, digest))


def clock(conn: Connection) -> hlc.Timestamp:
    row = raw(conn).execute(_GET_META, ("hlc",)).fetchone()
    return hlc.Timestamp.decode(row[0]) if row else hlc.ZERO


def set_clock(conn: Connection, stamp: hlc.Timestamp) -> None:
    raw(conn).execute(_SET_META, ("hlc", stamp.encode()))


def insert_event(conn: Connection, event: Event) -> None:
    raw(conn).execute(_INSERT_EVENT, event_row(event))


Draft = Callable[[int, str, str], Event]
"""Builds the unsealed event from (origin_seq, prev_hash, hlc)."""


def append_local(
    conn: Connection, device_id: str, key: DeviceKey, now_ms: int, draft: Draft
) -> Event:
    """Seal and append the next event of this device, inside the caller's transaction."""
    seq, prev = device_head(conn, device_id)
    stamp = hlc.tick(clock(conn), now_ms)
    event = draft(seq + 1, prev, stamp.encode()).sealed(key)
    insert_event(conn, event)
    set_head(conn, device_id, event.origin_seq, event.hash)
    set_clock(conn, stamp)
    return event


def latest_clock(conn: Connection, event_ids: Sequence[str]) -> str | None:
    """The latest HLC among the stored events named (an event's parents)."""
    if not event_ids:
        return None
    query = select(func.max(t.events.c.hlc)).where(t.events.c.event_id.in_(list(event_ids)))
    latest = conn.execute(query).scalar()
    return str(latest) if latest is not None else None


def dossier_events(conn: Connection, dossier_id: str) -> list[Event]:
    rows = conn.execute(select(t.events).where(t.events.c.dossier_id == dossier_id))
    return [_row_to_event(r) for r in rows]


def all_events(conn: Connection, batch: int = 5000) -> Iterator[Event]:
    """Every stored event in storage order, streamed."""
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(
        select(t.events).order_by(t.events.c.seq)
    )
    for row in result:
        yield _row_to_event(row)


def chain(conn: Connection, device_id: str) -> Iterator[Event]:
    for row in chain_rows(conn, device_id):
        yield _row_to_event(row)


def chain_rows(conn: Connection, device_id: str) -> Iterator[Row[Any]]:
    """One device's stored rows in chain order, undecoded (the audit reads damaged ones)."""
    yield from conn.execute(
        select(t.events)
        .where(t.events.c.origin_device == device_id)
        .order_by(t.events.c.origin_seq)
    )


def all_rows(conn: Connection, batch: int = 5000) -> Iterator[Row[Any]]:
    yield from conn.execution_options(stream_results=True, yield_per=batch).execute(
        select(t.events).order_by(t.events.c.seq)
    )


def decode(row: Row[Any]) -> Event:
    """A stored row as an event; raises ValueError/TypeError when it was damaged."""
    return _row_to_event(row)


def origins(conn: Connection) -> Sequence[str]:
    rows = conn.execute(select(t.events.c.origin_device).distinct())
    return sorted(r.origin_device for r in rows)


def count(conn: Connection) -> int:
    from sqlalchemy import func

    return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())
