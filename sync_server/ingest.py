"""Appending events to the central log: pushed by devices, or authored by the server.

One transaction per push. It first takes the branch's row in ``scopes`` (a row lock on
PostgreSQL, the write lock on SQLite), so ``server_seq`` is assigned and committed in
order: a pull can never see seq n+1 before seq n. Every event is checked — branch in the
device's scope, origin a known unrevoked device of that branch, hash, link to the origin's
head, contiguity — and the newest event of each origin's run has its signature verified
(the hash chain vouches for the rest). Any failure refuses the whole batch: nothing is
stored. A different event under a known (origin, seq) flags the origin as equivocating.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from core.domain import authority, hlc
from core.domain.errors import N_, ValidationError
from core.domain.events import GENESIS_HASH, Event, canonical_json, check_json_subset, vouched

from . import logs
from . import schema as t
from . import transfers as between_units
from .errors import Refusal, authority_refusal


@dataclass
class Head:
    seq: int = 0
    hash: str = GENESIS_HASH
    hlc: str = ""
    known: bool = False


@dataclass
class PushOutcome:
    results: list[dict[str, Any]] = field(default_factory=list)  # PushResult fields
    accepted: int = 0
    duplicates: int = 0


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def event_body(event: Event) -> str:
    return json.dumps(event.to_wire(), ensure_ascii=False, separators=(",", ":"))


def _wire_body(event: Event, canonical: bytes) -> str:
    """The stored wire JSON from the canonical encoding the hash check already wrote."""
    tail = f',"hash":{_STRING.encode(event.hash)},"signature":{_STRING.encode(event.signature)}}}'
    return canonical.decode()[:-1] + tail


_STRING = json.JSONEncoder()  # one encoder, not one per json.dumps call


def lock_scope(conn: Connection, branch: str) -> int:
    """Take the scope's row lock and return its last server_seq."""
    done = conn.execute(
        update(t.scopes).where(t.scopes.c.branch == branch).values(last_seq=t.scopes.c.last_seq)
    )
    if done.rowcount == 0:
        raise Refusal(404, "unknown-scope", N_("Unknown branch {branch}"), branch=branch)
    return int(
        conn.execute(select(t.scopes.c.last_seq).where(t.scopes.c.branch == branch)).scalar_one()
    )


def load_heads(conn: Connection, branch: str, origins: Sequence[str]) -> dict[str, Head]:
    rows = conn.execute(
        select(t.heads).where(t.heads.c.branch == branch).where(t.heads.c.device_id.in_(origins))
    )
    found = {r.device_id: Head(r.last_seq, r.last_hash, r.last_hlc, True) for r in rows}
    return {o: found.get(o, Head()) for o in origins}


def note_blob_refs(conn: Connection, branch: str, events: Sequence[Event]) -> None:
    """Record the scans this branch's attachments name (what its desks may download)."""
    shas = {
        str(e.payload["file"]["sha256"])
        for e in events
        if e.type == "dossier.attach" and isinstance(e.payload.get("file"), dict)
    }
    if not shas:
        return
    known = set(
        conn.execute(
            select(t.blob_refs.c.sha256)
            .where(t.blob_refs.c.branch == branch)
            .where(t.blob_refs.c.sha256.in_(shas))
        ).scalars()
    )
    fresh = [{"branch": branch, "sha256": sha} for sha in sorted(shas - known)]
    if fresh:
        conn.execute(insert(t.blob_refs), fresh)


def append(
    conn: Connection,
    branch: str,
    last_seq: int,
    events: Sequence[Event],
    heads: dict[str, Head],
    bodies: dict[str, str] | None = None,
    sealed: set[str] | None = None,
) -> int:
    """Insert checked events with the next server_seqs; move heads and the scope.
    `sealed`: the events whose own signature was verified (``None``: all of them)."""
    rows: list[dict[str, Any]] = []
    bodies = bodies or {}
    for offset, event in enumerate(events, start=1):
        rows.append(
            {
                "branch": branch,
                "server_seq": last_seq + offset,
                "event_id": event.event_id,
                "origin_device": event.origin_device,
                "origin_seq": event.origin_seq,
                "dossier_id": event.dossier_id,
                "type": event.type,
                "hlc": event.hlc,
                "hash": event.hash,
                "body": bodies.get(event.event_id) or event_body(event),
                "sealed": sealed is None or event.event_id in sealed,
            }
        )
        heads[event.origin_device] = Head(
            event.origin_seq, event.hash, event.hlc, heads[event.origin_device].known
        )
    if rows:
        insert_events(conn, rows)
        note_blob_refs(conn, branch, events)
    for origin in {e.origin_device for e in events}:
        head = heads[origin]
        values = {"last_seq": head.seq, "last_hash": head.hash, "last_hlc": head.hlc}
        if head.known:
            conn.execute(
                update(t.heads)
                .where(t.heads.c.branch == branch)
                .where(t.heads.c.device_id == origin)
                .values(**values)
            )
        else:
            conn.execute(insert(t.heads).values(branch=branch, device_id=origin, **values))
    new_last = last_seq + len(rows)
    conn.execute(update(t.scopes).where(t.scopes.c.branch == branch).values(last_seq=new_last))
    return new_last


_EVENT_COLUMNS = [c.name for c in t.events.columns]


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append rows to ``events``: COPY on PostgreSQL (about twice the rate of a multi-row
    INSERT), an executemany elsewhere. Inside the caller's transaction either way."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(t.events), rows)
        return
    driver: Any = conn.connection.driver_connection
    statement = f"COPY events ({', '.join(_EVENT_COLUMNS)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in _EVENT_COLUMNS])


# --- pushed by a device ------------------------------------------------------------------


@dataclass(frozen=True)
class Pusher:
    device_id: str
    branch: str
    server_key: str = ""  # relayed events of the centre's chain for this branch verify with it


def check_authority(event: Event) -> None:
    """The authority table's stateless rules, and the payload subset the hash covers."""
    try:
        check_json_subset(event.payload)
        authority.check(event)
    except (authority.AuthorityRefused, authority.MalformedEvent) as err:
        raise authority_refusal(err) from None
    except ValidationError as err:
        raise Refusal(
            422, "malformed-event", err.message, extra={"rule": "payload-subset"}, **err.params
        ) from None


def _precheck(pusher: Pusher, events: Sequence[Event], now_ms: int) -> dict[str, str]:
    """Branch, authority, date and hash of every event; returns their stored wire bodies."""
    bodies: dict[str, str] = {}
    for event in events:
        if event.branch != pusher.branch:
            raise Refusal(
                403,
                "wrong-branch",
                N_("Event {event} belongs to branch {branch}, outside this device's scope"),
                event=event.event_id,
                branch=event.branch,
            )
        check_authority(event)
        if hlc.too_far_ahead(event.timestamp, now_ms):
            raise Refusal(
                422,
                "clock-ahead",
                N_(
                    "Event {event} is dated more than a day past the centre's clock: check "
                    "the date and time of device {device}"
                ),
                event=event.event_id,
                device=event.origin_device,
            )
        canonical = canonical_json(event.hashed_fields())
        if hashlib.sha256(canonical).hexdigest() != event.hash:
            raise Refusal(
                422, "bad-hash", N_("Event {event}: the hash does not match"), event=event.event_id
            )
        bodies[event.event_id] = _wire_body(event, canonical)
    return bodies


def _origin_keys(conn: Connection, pusher: Pusher, origins: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(select(t.devices).where(t.devices.c.device_id.in_(origins)))
    found = {r.device_id: r for r in rows}
    keys: dict[str, str] = {}
    for origin in origins:
        if origin == f"server:{pusher.branch}" and pusher.server_key:
            keys[origin] = pusher.server_key
            continue
        row = found.get(origin)
        if row is None or row.branch != pusher.branch:
            raise Refusal(
                403,
                "unknown-origin",
                N_("Events of device {device} cannot be relayed: it is not of this branch"),
                device=origin,
            )
        if row.revoked:
            raise Refusal(403, "revoked-origin", N_("Device {device} is revoked"), device=origin)
        keys[origin] = row.public_key
    return keys


class Equivocation(Refusal):
    def __init__(self, device: str, seq: int) -> None:
        self.device = device
        self.seq = seq
        super().__init__(
            409,
            "equivocation",
            N_("Device {device} sent a different event as sequence {seq}: the device is flagged"),
            extra={"origin_device": device, "origin_seq": seq},
            device=device,
            seq=seq,
        )


def _stored_hashes(conn: Connection, branch: str, pairs: set[tuple[str, int]]) -> dict[Any, str]:
    found: dict[Any, str] = {}
    for origin in {o for o, _ in pairs}:
        seqs = [s for o, s in pairs if o == origin]
        rows = conn.execute(
            select(t.events.c.origin_seq, t.events.c.hash)
            .where(t.events.c.branch == branch)
            .where(t.events.c.origin_device == origin)
            .where(t.events.c.origin_seq.in_(seqs))
        )
        found.update({(origin, r.origin_seq): r.hash for r in rows})
    return found


def _classify(
    conn: Connection,
    branch: str,
    events: Sequence[Event],
    heads: dict[str, Head],
    keys: dict[str, str],
) -> tuple[list[Event], list[dict[str, Any]], dict[str, Event]]:
    tips = {o: (h.seq, h.hash) for o, h in heads.items()}
    old = {
        (e.origin_device, e.origin_seq) for e in events if e.origin_seq <= tips[e.origin_device][0]
    }
    stored = _stored_hashes(conn, branch, old) if old else {}
    fresh: list[Event] = []
    results: list[dict[str, Any]] = []
    newest: dict[str, Event] = {}
    for index, event in enumerate(events):
        origin, seq = event.origin_device, event.origin_seq
        if (origin, seq) in old:
            if stored.get((origin, seq)) != event.hash:
                # Only the origin can equivocate: a forged copy is a bad signature, and
                # never gets an innocent device flagged. The origin's signature may be on
                # a later event of the push that the chain binds to this one.
                later = [e for e in events[index + 1 :] if e.origin_device == origin]
                if not vouched(event, later, keys[origin]):
                    _require_signature(event, keys[origin])
                raise Equivocation(origin, seq)
            results.append(_result(event, "duplicate"))
            continue
        _check_link(event, tips[origin])
        tips[origin] = (seq, event.hash)
        newest[origin] = event
        fresh.append(event)
        results.append(_result(event, "accepted"))
    return fresh, results, newest


def _result(event: Event, status: str) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "origin_device": event.origin_device,
        "origin_seq": event.origin_seq,
        "status": status,
        "reason": None,
    }


def _check_link(event: Event, tip: tuple[int, str]) -> None:
    if event.origin_seq != tip[0] + 1:
        raise Refusal(
            409,
            "gap",
            N_("Event {event} leaves a gap: device {device} must send sequence {expected} next"),
            extra={"origin_device": event.origin_device, "expected_seq": tip[0] + 1},
            event=event.event_id,
            device=event.origin_device,
            expected=tip[0] + 1,
        )
    if event.prev_hash != tip[1]:
        raise Refusal(
            409,
            "broken-chain",
            N_("Event {event} does not link to the previous event of device {device}"),
            extra={"origin_device": event.origin_device, "origin_seq": event.origin_seq},
            event=event.event_id,
            device=event.origin_device,
        )


def push(
    engine: Engine,
    admit: Callable[[Connection], tuple[Pusher, Sequence[Event]]],
) -> PushOutcome:
    """One push in one transaction: `admit` authenticates the request on the connection
    (the device, the signature, the nonce — one round of the pool, one commit) and
    returns the pusher and its events; then they are checked and appended."""
    try:
        with engine.begin() as conn:
            pusher, events = admit(conn)
            results, fresh = _append_checked(conn, pusher, events)
    except Equivocation as err:
        flag(engine, err.device, "equivocation", f"sequence {err.seq}")
        raise
    outcome = PushOutcome(results=results, accepted=len(fresh))
    outcome.duplicates = len(results) - outcome.accepted
    return outcome


def _append_checked(
    conn: Connection, pusher: Pusher, events: Sequence[Event]
) -> tuple[list[dict[str, Any]], list[Event]]:
    bodies = _precheck(pusher, events, int(time.time() * 1000))
    between_units.check(events, pusher.server_key)
    ordered = sorted(events, key=lambda e: (e.origin_device, e.origin_seq))
    origins = sorted({e.origin_device for e in ordered})
    keys = _origin_keys(conn, pusher, origins)
    last = lock_scope(conn, pusher.branch)
    heads = load_heads(conn, pusher.branch, origins)
    fresh, results, newest = _classify(conn, pusher.branch, ordered, heads, keys)
    for origin, event in newest.items():
        _require_signature(event, keys[origin])
    sealed = {event.event_id for event in newest.values()}
    append(conn, pusher.branch, last, fresh, heads, bodies, sealed)
    between_units.relay(conn, fresh, bodies)
    return results, fresh


def _require_signature(event: Event, public_key: str) -> None:
    if not event.signature_ok(public_key):
        raise Refusal(
            422,
            "bad-signature",
            N_("Event {event}: the signature does not verify"),
            event=event.event_id,
        )


def answer(outcome: PushOutcome) -> bytes:
    """The push answer as JSON (``PushResponse``), written without building models."""
    return json.dumps(
        {
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "results": outcome.results,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def flag(engine: Engine, device_id: str, kind: str, detail: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(t.devices)
            .where(t.devices.c.device_id == device_id)
            .values(flagged=f"{kind}: {detail}")
        )
        conn.execute(
            insert(t.incidents).values(device_id=device_id, kind=kind, detail=detail, at=now_iso())
        )
    logs.security(kind, 403, device=device_id, detail=detail, flagged=True)
