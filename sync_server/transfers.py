"""Transfers between units at the centre (``core.domain.transfers``).

At ingest, in the push's transaction: a ``transfer-in`` or ``take-back`` whose carried
message does not verify is refused (403 naming the rule, nothing stored); a send-out or
send-back must name another known unit. Each send-out and send-back is kept for the unit
it is addressed to, with the centre's enrolment of its desk, and the scans it names become
readable by that unit (``blob_grants``). The desks of that unit pull these messages, and
nothing else of the sending unit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select

from core.domain import authority, transfers
from core.domain.errors import N_
from core.domain.events import Event
from core.sync.blobs import referenced_blobs

from . import schema as t
from .errors import Refusal, authority_refusal

MAX_PAGE = 200


def check(events: Sequence[Event], server_key: str) -> None:
    """Refuse the push if one of its transfer events does not hold."""
    for event in events:
        try:
            transfers.check_event(event, server_key)
        except (authority.AuthorityRefused, authority.MalformedEvent) as err:
            raise authority_refusal(err) from None
        # A unit code the centre does not know is kept for no one (the desk cannot check
        # codes offline, and refusing it would stop its sync); its own is never another.
        if transfers.relayed_to(event) == event.branch:
            raise Refusal(
                422,
                "unknown-unit",
                N_("Event {event} is sent to {unit}, which is not another unit of the centre"),
                extra={"rule": "transfer-unit"},
                event=event.event_id,
                unit=event.branch,
            )


def relay(conn: Connection, events: Sequence[Event], bodies: Mapping[str, str]) -> None:
    """Keep each send-out and send-back for its unit; grant it the scans they name."""
    for event in events:
        to_branch = transfers.relayed_to(event)
        if to_branch is None:
            continue
        conn.execute(
            insert(t.transfers).values(
                to_branch=to_branch,
                from_branch=event.branch,
                event_id=event.event_id,
                kind=transfers.RELAYED[event.type],
                body=bodies[event.event_id],
                enrolment=_enrolment(conn, event),
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        _grant(conn, to_branch, event.branch, referenced_blobs(event.payload))


def _enrolment(conn: Connection, event: Event) -> str:
    """The centre's newest ``device.enrolled`` of the desk that wrote `event`."""
    rows = conn.execute(
        select(t.events.c.body)
        .where(t.events.c.branch == event.branch)
        .where(t.events.c.origin_device == authority.CENTRE_PREFIX + event.branch)
        .where(t.events.c.type == transfers.DEVICE_ENROLLED)
        .order_by(t.events.c.server_seq.desc())
    )
    for row in rows:
        if json.loads(row.body)["payload"].get("device_id") == event.origin_device:
            return str(row.body)
    raise Refusal(
        403,
        "unknown-origin",
        N_("Device {device} has no enrolment at the centre to vouch for its transfer"),
        device=event.origin_device,
    )


def _grant(conn: Connection, branch: str, from_branch: str, shas: list[str]) -> None:
    if not shas:
        return
    known = set(
        conn.execute(
            select(t.blob_grants.c.sha256)
            .where(t.blob_grants.c.branch == branch)
            .where(t.blob_grants.c.from_branch == from_branch)
            .where(t.blob_grants.c.sha256.in_(shas))
        ).scalars()
    )
    fresh = [
        {"branch": branch, "sha256": sha, "from_branch": from_branch}
        for sha in sorted(set(shas) - known)
    ]
    if fresh:
        conn.execute(insert(t.blob_grants), fresh)


def page(engine: Engine, branch: str, after: int, limit: int) -> bytes:
    """The JSON of a TransfersResponse: the messages for `branch` above `after`."""
    limit = max(1, min(limit, MAX_PAGE))
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                select(t.transfers)
                .where(t.transfers.c.to_branch == branch)
                .where(t.transfers.c.num > after)
                .order_by(t.transfers.c.num)
                .limit(limit + 1)
            )
        )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        f'{{"num":{r.num},"kind":{json.dumps(r.kind)},"message":{r.body},'
        f'"enrolment":{r.enrolment}}}'
        for r in rows
    ]
    last = rows[-1].num if rows else after
    head = json.dumps({"next": last, "more": more})
    return (head[:-1] + ',"items":[' + ",".join(items) + "]}").encode()
