"""The append-only event log: local appends with gap-free sequence and hash chain."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from core.domain import hlc
from core.domain.events import GENESIS_HASH, Event
from core.domain.signing import DeviceKey

from . import schema as t


def _row_to_event(row: Row[Any]) -> Event:
    return Event(
        event_id=row.event_id,
        dossier_id=row.dossier_id,
        branch=row.branch,
        type=row.type,
        payload=json.loads(row.payload),
        actor=row.actor,
        origin_device=row.origin_device,
        origin_seq=row.origin_seq,
        hlc=row.hlc,
        parents=tuple(json.loads(row.parents)),
        prev_hash=row.prev_hash,
        hash=row.hash,
        signature=row.signature,
        schema_version=row.schema_version,
    )


def event_row(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "dossier_id": event.dossier_id,
        "branch": event.branch,
        "type": event.type,
        "payload": json.dumps(event.payload, ensure_ascii=False, sort_keys=True),
        "actor": event.actor,
        "origin_device": event.origin_device,
        "origin_seq": event.origin_seq,
        "hlc": event.hlc,
        "parents": json.dumps(list(event.parents)),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "signature": event.signature,
        "schema_version": event.schema_version,
    }


def device_head(conn: Connection, device_id: str) -> tuple[int, str]:
    row = conn.execute(
        select(t.device_heads.c.last_seq, t.device_heads.c.last_hash).where(
            t.device_heads.c.device_id == device_id
        )
    ).first()
    return (row.last_seq, row.last_hash) if row else (0, GENESIS_HASH)


def _set_head(conn: Connection, device_id: str, seq: int, digest: str) -> None:
    values = {"last_seq": seq, "last_hash": digest}
    updated = conn.execute(
        update(t.device_heads).where(t.device_heads.c.device_id == device_id).values(**values)
    )
    if updated.rowcount == 0:
        conn.execute(insert(t.device_heads).values(device_id=device_id, **values))


def _clock(conn: Connection) -> hlc.Timestamp:
    row = conn.execute(select(t.meta.c.value).where(t.meta.c.key == "hlc")).first()
    return hlc.Timestamp.decode(row.value) if row else hlc.ZERO


def _set_clock(conn: Connection, stamp: hlc.Timestamp) -> None:
    updated = conn.execute(update(t.meta).where(t.meta.c.key == "hlc").values(value=stamp.encode()))
    if updated.rowcount == 0:
        conn.execute(insert(t.meta).values(key="hlc", value=stamp.encode()))


Draft = Callable[[int, str, str], Event]
"""Builds the unsealed event from (origin_seq, prev_hash, hlc)."""


def append_local(
    conn: Connection, device_id: str, key: DeviceKey, now_ms: int, draft: Draft
) -> Event:
    """Seal and append the next event of this device, inside the caller's transaction."""
    seq, prev = device_head(conn, device_id)
    stamp = hlc.tick(_clock(conn), now_ms)
    event = draft(seq + 1, prev, stamp.encode()).sealed(key)
    conn.execute(insert(t.events).values(**event_row(event)))
    _set_head(conn, device_id, event.origin_seq, event.hash)
    _set_clock(conn, stamp)
    return event


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
    rows = conn.execute(
        select(t.events)
        .where(t.events.c.origin_device == device_id)
        .order_by(t.events.c.origin_seq)
    )
    for row in rows:
        yield _row_to_event(row)


def origins(conn: Connection) -> Sequence[str]:
    rows = conn.execute(select(t.events.c.origin_device).distinct())
    return sorted(r.origin_device for r in rows)


def count(conn: Connection) -> int:
    from sqlalchemy import func

    return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())
