"""Reading the central log: pull by cursor (paged, long-poll) and the vector exchange.

Pull answers are assembled from the stored wire JSON of each event, without re-encoding.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import Connection, Engine, select

from core.sync.wire import MAX_PULL_EVENTS

from . import schema as t

POLL_S = 0.2


def scope_head(conn: Connection, scope: str) -> int:
    row = conn.execute(select(t.scopes.c.last_seq).where(t.scopes.c.branch == scope)).first()
    return int(row.last_seq) if row else 0


def _page(conn: Connection, scope: str, after: int, limit: int) -> list[tuple[int, str, str]]:
    rows = conn.execute(
        select(t.events.c.server_seq, t.events.c.origin_device, t.events.c.body)
        .where(t.events.c.branch == scope)
        .where(t.events.c.server_seq > after)
        .order_by(t.events.c.server_seq)
        .limit(limit)
    )
    return [(r.server_seq, r.origin_device, r.body) for r in rows]


def pull(engine: Engine, scope: str, after: int, limit: int, wait_s: float, me: str) -> bytes:
    """The JSON of a PullResponse; the requester's own events are left out."""
    limit = max(1, min(limit, MAX_PULL_EVENTS))
    deadline = time.monotonic() + wait_s
    while True:
        with engine.connect() as conn:
            rows = _page(conn, scope, after, limit)
            head = scope_head(conn, scope)
        if rows or time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    bodies = [body for _seq, origin, body in rows if origin != me]
    last = rows[-1][0] if rows else after
    more = len(rows) == limit and last < head
    head_json = json.dumps({"scope": scope, "next": last, "more": more, "head": head})
    return (head_json[:-1] + ',"events":[' + ",".join(bodies) + "]}").encode()


def vector(conn: Connection, scope: str) -> dict[str, int]:
    rows = conn.execute(
        select(t.heads.c.device_id, t.heads.c.last_seq).where(t.heads.c.branch == scope)
    )
    return {r.device_id: int(r.last_seq) for r in rows}


def exchange(engine: Engine, scope: str, theirs: dict[str, int], limit: int) -> bytes:
    """The JSON of a VectorResponse: my vector and the events above theirs."""
    bodies: list[str] = []
    more = False
    with engine.connect() as conn:
        mine = vector(conn, scope)
        for origin, seq in sorted(mine.items()):
            start = theirs.get(origin, 0)
            if seq <= start:
                continue
            if len(bodies) >= limit:
                more = True
                break
            rows = conn.execute(
                select(t.events.c.body)
                .where(t.events.c.branch == scope)
                .where(t.events.c.origin_device == origin)
                .where(t.events.c.origin_seq > start)
                .order_by(t.events.c.origin_seq)
                .limit(limit - len(bodies))
            )
            got = [r.body for r in rows]
            bodies.extend(got)
            more = more or start + len(got) < seq
    head_json = json.dumps({"scope": scope, "vector": mine, "more": more})
    return (head_json[:-1] + ',"events":[' + ",".join(bodies) + "]}").encode()
