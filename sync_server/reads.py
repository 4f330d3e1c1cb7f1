"""Reading the central log: pull by cursor (paged, long-poll) and the vector exchange.

A long-poll waits on the event loop and reads in the thread pool, one short read at a
time: however many devices wait, they hold no thread.

Pull answers are assembled from the stored wire JSON of each event, without re-encoding.

Pages end only where a verified signature covers every event before it. A receiver checks
every hash and link, and the signature of the newest event of each origin in its page;
the server verified, at ingest, only the newest of each origin's run in a push (its hash
chain vouches for the rest). So a page must not end inside a run: it is cut back to the
last row after which every origin's latest event is ``sealed`` (its own signature verified
at ingest), or, when no such row is in it, read on until one is — a run is at most one
push long. A device that forged the signatures of its inner events can thus never make a
page that an honest receiver refuses.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, Engine, select
from starlette.concurrency import run_in_threadpool

from core.sync.wire import MAX_PULL_EVENTS, MAX_PUSH_EVENTS

from . import schema as t

POLL_S = 0.2


def scope_head(conn: Connection, scope: str) -> int:
    row = conn.execute(select(t.scopes.c.last_seq).where(t.scopes.c.branch == scope)).first()
    return int(row.last_seq) if row else 0


Row = tuple[int, str, str, bool | None]  # server_seq, origin, body, sealed


def _page(conn: Connection, scope: str, after: int, limit: int) -> list[Row]:
    rows = conn.execute(
        select(t.events.c.server_seq, t.events.c.origin_device, t.events.c.body, t.events.c.sealed)
        .where(t.events.c.branch == scope)
        .where(t.events.c.server_seq > after)
        .order_by(t.events.c.server_seq)
        .limit(limit)
    )
    return [(r.server_seq, r.origin_device, r.body, r.sealed) for r in rows]


def sealed_prefix(rows: list[Row]) -> int:
    """How many of `rows` end where every origin's latest event is sealed (0: nowhere).
    Rows stored before ``sealed`` was kept (NULL) count as sealed."""
    unsealed: set[str] = set()
    cut = 0
    for index, (_seq, origin, _body, sealed) in enumerate(rows, start=1):
        if sealed is False:
            unsealed.add(origin)
        else:
            unsealed.discard(origin)
        if not unsealed:
            cut = index
    return cut


def _aligned(conn: Connection, scope: str, rows: list[Row], limit: int) -> list[Row]:
    """`rows` (a full page) cut back to its last sealed boundary, or read on to the next."""
    cut = sealed_prefix(rows)
    if cut:
        return rows[:cut]
    while len(rows) < limit + 2 * MAX_PUSH_EVENTS:
        more = _page(conn, scope, rows[-1][0], MAX_PUSH_EVENTS)
        if not more:
            return rows
        rows = rows + more
        cut = sealed_prefix(rows)
        if cut:
            return rows[:cut]
    return rows


def read_page(engine: Engine, scope: str, after: int, limit: int) -> tuple[list[Row], int]:
    """One read: the rows above `after` (a page ending on a sealed boundary) and the head."""
    limit = max(1, min(limit, MAX_PULL_EVENTS))
    with engine.connect() as conn:
        rows = _page(conn, scope, after, limit)
        if len(rows) == limit:
            rows = _aligned(conn, scope, rows, limit)
        head = scope_head(conn, scope)
    return rows, head


def answer(scope: str, after: int, rows: list[Row], head: int, me: str) -> bytes:
    """The JSON of a PullResponse; the requester's own events are left out."""
    bodies = [body for _seq, origin, body, _sealed in rows if origin != me]
    last = rows[-1][0] if rows else after
    more = last < head
    head_json = json.dumps({"scope": scope, "next": last, "more": more, "head": head})
    return (head_json[:-1] + ',"events":[' + ",".join(bodies) + "]}").encode()


class Polls:
    """The long-polls of this process waiting for an event (read on the event loop)."""

    def __init__(self) -> None:
        self.waiting = 0


async def pull(
    engine: Engine,
    scope: str,
    after: int,
    limit: int,
    wait_s: float,
    me: str,
    *,
    polls: Polls | None = None,
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> bytes:
    """The JSON of a PullResponse, waiting up to `wait_s` for an event (a long-poll).

    Each read runs in the thread pool; between reads the wait is on the event loop, so a
    waiting poll holds no thread and any number of them leave the pool to the pushes. A
    poll whose client went away (`gone`) stops reading."""
    deadline = time.monotonic() + wait_s
    rows, head = await run_in_threadpool(read_page, engine, scope, after, limit)
    if rows or wait_s <= 0:
        return answer(scope, after, rows, head, me)
    if polls is not None:
        polls.waiting += 1
    try:
        while not rows and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(POLL_S, left))
            if gone is not None and await gone():
                break
            rows, head = await run_in_threadpool(read_page, engine, scope, after, limit)
    finally:
        if polls is not None:
            polls.waiting -= 1
    return answer(scope, after, rows, head, me)


def vector(conn: Connection, scope: str) -> dict[str, int]:
    rows = conn.execute(
        select(t.heads.c.device_id, t.heads.c.last_seq).where(t.heads.c.branch == scope)
    )
    return {r.device_id: int(r.last_seq) for r in rows}


def _origin_rows(
    conn: Connection, scope: str, origin: str, start: int, limit: int
) -> list[tuple[str, bool | None]]:
    rows = conn.execute(
        select(t.events.c.body, t.events.c.sealed)
        .where(t.events.c.branch == scope)
        .where(t.events.c.origin_device == origin)
        .where(t.events.c.origin_seq > start)
        .order_by(t.events.c.origin_seq)
        .limit(limit)
    )
    return [(r.body, r.sealed) for r in rows]


def _sealed_run(
    conn: Connection, scope: str, origin: str, start: int, limit: int, head: int
) -> list[str]:
    """The bodies of `origin` above `start`, at most about `limit`, ending on a sealed one
    (or on the origin's head): cut back to the last sealed, or read on to the next."""
    rows = _origin_rows(conn, scope, origin, start, limit)
    if start + len(rows) >= head:
        return [body for body, _sealed in rows]
    ends = [i for i, (_body, sealed) in enumerate(rows, start=1) if sealed is not False]
    if ends:
        return [body for body, _sealed in rows[: ends[-1]]]
    more = _origin_rows(conn, scope, origin, start + len(rows), MAX_PUSH_EVENTS)
    ends = [i for i, (_body, sealed) in enumerate(more, start=1) if sealed is not False]
    return [body for body, _sealed in rows + more[: ends[0] if ends else len(more)]]


def exchange(engine: Engine, scope: str, theirs: dict[str, int], limit: int) -> bytes:
    """The JSON of a VectorResponse: my vector and the events above theirs, each origin's
    part ending where a verified signature covers it."""
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
            got = _sealed_run(conn, scope, origin, start, limit - len(bodies), seq)
            bodies.extend(got)
            more = more or start + len(got) < seq
    head_json = json.dumps({"scope": scope, "vector": mine, "more": more})
    return (head_json[:-1] + ',"events":[' + ",".join(bodies) + "]}").encode()
