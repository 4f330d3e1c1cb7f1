"""Replication on the local store: ingest events of other replicas, vectors, cursors, blobs.

``ingest`` is the remote-apply path. Inside the caller's transaction it checks every
incoming event against what the store holds — contiguous per origin, ``prev_hash`` links
to the origin's head, hash recomputed, and the signature of the newest event of each
origin's run verified (a valid signature on the newest link vouches for the chain before
it) — then appends the new events, moves the hybrid clock past them and refreshes the
projections of the dossiers they touch. A duplicate (same origin, sequence and hash) is
skipped; anything else wrong raises and the whole batch rolls back.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from core.domain import authority, hlc, transfers
from core.domain.errors import N_, IntegrityError
from core.domain.events import Event, fold_order, vouched

from . import actors, event_store, meta, projection, quarantine
from . import schema as t
from .db import raw

DEVICE_ENROLLED = "device.enrolled"
DEVICE_REVOKED = "device.revoked"
# The reference events with projections, and the centre's device events that vouch for a
# desk's first admin: any of them refolds the users (``refold_reference``).
REFERENCE_PREFIXES = ("user.", "calendar.", "device.")
CLOCK_AHEAD = "clock-ahead"  # the rule a LAN peer's event dated too far ahead breaks

sync_cursors = Table(
    "sync_cursors",
    t.metadata,
    Column("scope", String, primary_key=True),
    Column("cursor", Integer, nullable=False),
)

# Dossiers whose events are in the log but not yet in their projection: a pull folds each
# once at its end (``settle``) instead of once per page; a crash in between leaves them
# here, and ``settle`` refolds them from the log when the store next opens.
stale_dossiers = Table(
    "stale_dossiers",
    t.metadata,
    Column("dossier_id", String, primary_key=True),
)

blobs = Table(
    "blobs",
    t.metadata,
    Column("num", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String, nullable=False, unique=True),
    Column("size", Integer, nullable=False),
    Column("present", Boolean, nullable=False),
    Column("durable", Boolean, nullable=False),
    # Prefix marks (``core.sync.blobs``) of a blob to upload; NULL once durable.
    Column("marks", LargeBinary, nullable=True),
)


@dataclass
class IngestResult:
    """``accepted``: the new events applied; ``quarantined``: new events logged (their chain
    goes on through them) but refused by the authority table, never applied."""

    accepted: list[Event] = field(default_factory=list)
    duplicates: int = 0
    dossiers: set[str] = field(default_factory=set)
    quarantined: list[tuple[Event, authority.AuthorityRefused | authority.MalformedEvent]] = field(
        default_factory=list
    )
    # From a LAN peer: the first event of each origin the table refuses (it and the rest of
    # its origin's events in the batch are not taken, as the server would not take them).
    refused: list[tuple[Event, authority.AuthorityRefused | authority.MalformedEvent]] = field(
        default_factory=list
    )
    # From the server: origins whose chain there leaves the one this desk holds (a device
    # that gave this desk, over the LAN, another event than the server's under the same
    # sequence), each with the event this desk holds under that sequence when the page
    # showed it: the proof, signed by that device, that it forked its chain.
    diverged: dict[str, Event | None] = field(default_factory=dict)


# --- vectors and cursors -----------------------------------------------------------------


def vector(conn: Connection) -> dict[str, int]:
    """``{origin: highest contiguous seq}`` of everything this store holds."""
    rows = conn.execute(select(t.device_heads.c.device_id, t.device_heads.c.last_seq))
    return {r.device_id: r.last_seq for r in rows if r.last_seq > 0}


def events_above(
    conn: Connection, theirs: dict[str, int], limit: int, branch: str | None = None
) -> list[Event]:
    """Events the other side lacks, oldest first per origin (at most `limit`); never those
    of an origin set aside (``diverged_origins``)."""
    found: list[Event] = []
    forked = diverged_origins(conn)
    for origin, seq in sorted(vector(conn).items()):
        if seq <= theirs.get(origin, 0) or len(found) >= limit or origin in forked:
            continue
        query = (
            select(t.events)
            .where(t.events.c.origin_device == origin)
            .where(t.events.c.origin_seq > theirs.get(origin, 0))
            .order_by(t.events.c.origin_seq)
            .limit(limit - len(found))
        )
        if branch is not None:
            query = query.where(t.events.c.branch == branch)
        found.extend(event_store._row_to_event(r) for r in conn.execute(query))
    return found


def _peer_order(origin: str) -> tuple[int, str]:
    """The centre's chains first: they carry the device keys the others' events need."""
    return (0 if origin.startswith("server:") else 1, origin)


def events_for_scopes(
    conn: Connection, theirs: dict[str, int], limit: int, scopes: Sequence[str]
) -> tuple[list[Event], bool]:
    """Events of `scopes` the other side lacks, per origin in sequence, the centre's
    chains first; and whether more remain beyond `limit` (the LAN exchange)."""
    found: list[Event] = []
    more = False
    forked = diverged_origins(conn)  # this desk's copy of their chain is not the server's
    for origin, seq in sorted(vector(conn).items(), key=lambda item: _peer_order(item[0])):
        start = theirs.get(origin, 0)
        if seq <= start or origin in forked:
            continue
        if len(found) >= limit:
            more = True
            break
        rows = conn.execute(_origin_query(origin, start, scopes).limit(limit - len(found) + 1))
        events = [event_store._row_to_event(r) for r in rows]
        if len(events) > limit - len(found):
            events = _signed_end(conn, events[: limit - len(found)], scopes)
            more = True
        found.extend(events)
    return found, more


def _origin_query(origin: str, after: int, scopes: Sequence[str]) -> Select[Any]:
    """`origin`'s events of `scopes` above sequence `after`, in chain order."""
    return (
        select(t.events)
        .where(t.events.c.origin_device == origin)
        .where(t.events.c.origin_seq > after)
        .where(t.events.c.branch.in_(list(scopes)))
        .order_by(t.events.c.origin_seq)
    )


def _signed_end(conn: Connection, events: list[Event], scopes: Sequence[str]) -> list[Event]:
    """An origin's events cut by a page limit, ending on one whose own signature verifies:
    the receiver checks the newest of each origin's run in its page, and a run taken from
    the centre may hold inner events vouched for only by the hash chain. Cut back to the
    last that verifies or, when none does, read on to the next (the origin's head, checked
    when it came in, always does)."""
    key = device_keys(conn).get(events[0].origin_device, "")
    for index in range(len(events) - 1, -1, -1):
        if events[index].signature_ok(key):
            return events[: index + 1]
    origin, start = events[-1].origin_device, events[-1].origin_seq
    for row in conn.execute(_origin_query(origin, start, scopes)):
        events.append(event_store._row_to_event(row))
        if events[-1].signature_ok(key):
            break
    return events


def cursor(conn: Connection, scope: str) -> int:
    row = conn.execute(select(sync_cursors.c.cursor).where(sync_cursors.c.scope == scope)).first()
    return int(row.cursor) if row else 0


def set_cursor(conn: Connection, scope: str, value: int) -> None:
    done = conn.execute(
        update(sync_cursors).where(sync_cursors.c.scope == scope).values(cursor=value)
    )
    if done.rowcount == 0:
        conn.execute(insert(sync_cursors).values(scope=scope, cursor=value))


# --- ingest ------------------------------------------------------------------------------------


def device_keys(conn: Connection) -> dict[str, str]:
    rows = conn.execute(select(t.devices.c.device_id, t.devices.c.public_key))
    return {r.device_id: r.public_key for r in rows}


def device_branches(conn: Connection) -> dict[str, str]:
    rows = conn.execute(select(t.devices.c.device_id, t.devices.c.branch))
    return {r.device_id: r.branch for r in rows}


def add_device(
    conn: Connection, device_id: str, branch: str, public_key: str, label: str = ""
) -> None:
    """Know (or re-know) a device's key; a revoked device stays revoked."""
    row = conn.execute(select(t.devices.c.device_id).where(t.devices.c.device_id == device_id))
    if row.first() is None:
        conn.execute(
            insert(t.devices).values(
                device_id=device_id,
                branch=branch,
                public_key=public_key,
                label=label,
                revoked=False,
            )
        )
    else:
        conn.execute(
            update(t.devices)
            .where(t.devices.c.device_id == device_id)
            .values(public_key=public_key, branch=branch, label=label)
        )


def _apply_device_event(conn: Connection, event: Event) -> None:
    """A device enrolled or revoked by the centre (the authority table admitted it)."""
    p = event.payload
    if event.type == DEVICE_ENROLLED:
        add_device(conn, p["device_id"], p["branch"], p["public_key"], p.get("label", ""))
    elif event.type == DEVICE_REVOKED:
        conn.execute(
            update(t.devices).where(t.devices.c.device_id == p["device_id"]).values(revoked=True)
        )


def _stored_hash(conn: Connection, origin: str, seq: int) -> str | None:
    row = conn.execute(
        select(t.events.c.hash)
        .where(t.events.c.origin_device == origin)
        .where(t.events.c.origin_seq == seq)
    ).first()
    return str(row.hash) if row else None


def event_at(conn: Connection, origin: str, seq: int) -> Event | None:
    row = conn.execute(
        select(t.events).where(t.events.c.origin_device == origin, t.events.c.origin_seq == seq)
    ).first()
    return event_store.decode(row) if row is not None else None


def _forks(event: Event, head: tuple[int, str]) -> bool:
    """Whether `event` is the next of its chain here but follows another event than ours."""
    return event.origin_seq == head[0] + 1 and event.prev_hash != head[1]


_DIVERGED = "sync_diverged_origins"
_EVIDENCE = "sync_fork_evidence"  # ids of held events that prove a fork, for the server


def _meta_list(conn: Connection, key: str) -> list[str]:
    value = meta.get(conn, key)
    return list(json.loads(value)) if value else []


def _set_meta_list(conn: Connection, key: str, values: Iterable[str]) -> None:
    meta.put(conn, key, json.dumps(sorted(set(values))))


def diverged_origins(conn: Connection) -> set[str]:
    """The origins whose chain elsewhere (at the server, at a LAN peer) left the one this
    desk holds: their events are set aside from then on, neither taken, served nor pushed
    (what follows elsewhere cannot link here, and what is here the others refuse)."""
    return set(_meta_list(conn, _DIVERGED))


def set_aside(conn: Connection, forks: Mapping[str, Event | None]) -> None:
    """Set these origins aside; the events held here under a forked sequence are kept as
    the proof to give the server (``fork_evidence``)."""
    _set_meta_list(conn, _DIVERGED, diverged_origins(conn) | set(forks))
    proofs = [e.event_id for e in forks.values() if e is not None]
    if proofs:
        _set_meta_list(conn, _EVIDENCE, _meta_list(conn, _EVIDENCE) + proofs)


def fork_evidence(conn: Connection) -> list[Event]:
    """The held events that prove a fork and are still to be given to the server."""
    ids = _meta_list(conn, _EVIDENCE)
    if not ids:
        return []
    rows = conn.execute(select(t.events).where(t.events.c.event_id.in_(ids)))
    return [event_store.decode(r) for r in rows]


# How far a proof may reach for its origin's signature: past the longest run a LAN push
# carries (5,000 events, ``core.sync.peer.MAX_PUSH_EVENTS``).
_PROOF_REACH = 10_000


def proof_of(conn: Connection, event: Event, key: str) -> list[Event] | None:
    """What proves that `event`'s origin wrote it: the event itself when its own signature
    verifies, else the event and the ones after it in its origin's chain held here, up to
    the first its origin signed (a run's inner event is signed only by the run's newest).
    None when nothing held here proves it."""
    if event.signature_ok(key):
        return [event]
    rows = conn.execute(
        select(t.events)
        .where(t.events.c.origin_device == event.origin_device)
        .where(t.events.c.origin_seq > event.origin_seq)
        .where(t.events.c.origin_seq <= event.origin_seq + _PROOF_REACH)
        .order_by(t.events.c.origin_seq)
    )
    run = [event]
    for row in rows:  # up to the first its origin signed (``vouched`` checks the links)
        run.append(event_store.decode(row))
        if run[-1].signature_ok(key):
            return run if vouched(event, run[1:], key) else None
    return None


def evidence_given(conn: Connection, ids: Iterable[str]) -> None:
    given = set(ids)
    _set_meta_list(conn, _EVIDENCE, [i for i in _meta_list(conn, _EVIDENCE) if i not in given])


def _check_link(event: Event, head: tuple[int, str]) -> None:
    if event.origin_seq != head[0] + 1:
        raise IntegrityError(
            N_("Event {event} leaves a gap: expected sequence {expected} of device {device}"),
            event=event.event_id,
            expected=head[0] + 1,
            device=event.origin_device,
        )
    if event.prev_hash != head[1]:
        raise IntegrityError(
            N_("Event {event} does not link to the chain of device {device}"),
            event=event.event_id,
            device=event.origin_device,
        )
    if not event.hash_ok():
        raise IntegrityError(
            N_("Event {event} was altered: its hash does not match"), event=event.event_id
        )


def _check_signature(event: Event, keys: dict[str, str]) -> None:
    key = keys.get(event.origin_device)
    if key is None or not event.signature_ok(key):
        raise IntegrityError(
            N_("Event {event} of device {device} has no valid signature"),
            event=event.event_id,
            device=event.origin_device,
        )


def _refusal(
    event: Event, branches: dict[str, str], keys: dict[str, str]
) -> authority.AuthorityRefused | authority.MalformedEvent | None:
    """Why the authority table refuses `event` (``None``: it may be applied); an event that
    carries another unit's message is checked against the centre's key too."""
    origin_branch = None if authority.is_centre_origin(event.origin_device) else ""
    if origin_branch is not None:
        origin_branch = branches.get(event.origin_device, "")
    try:
        authority.check(event, origin_branch)
        transfers.check_event(event, keys.get(authority.CENTRE_PREFIX + event.branch))
    except (authority.AuthorityRefused, authority.MalformedEvent) as err:
        return err
    return None


def _clock_ahead(event: Event) -> authority.AuthorityRefused:
    """A peer's event dated past what the centre takes (``hlc.MAX_AHEAD_MS``): not taken
    here either, as this desk would carry it to the centre's refusal."""
    return authority.AuthorityRefused(
        CLOCK_AHEAD,
        N_("Event {event} is dated more than a day past this computer's clock"),
        event=event.event_id,
    )


def _classify(
    conn: Connection,
    events: Sequence[Event],
    result: IngestResult,
    now_ms: int,
    from_peer: bool = False,
) -> list[Event]:
    """The new events, checked link by link; duplicates counted; device events applied.

    What the authority table refuses is, from the centre, logged but set aside in
    ``result.quarantined`` (the centre stored it: an older server did); from a LAN peer,
    not taken at all, with the rest of its origin's events in the batch
    (``result.refused``): the centre refuses it too, so this desk must never hold, nor
    relay, what its own pushes would then carry to a refusal.
    """
    heads: dict[str, tuple[int, str]] = {}
    keys = device_keys(conn)
    branches = device_branches(conn)
    newest: dict[str, Event] = {}
    fresh: list[Event] = []
    cut: set[str] = diverged_origins(conn)  # set aside here, from the server or a peer
    for index, event in enumerate(events):
        origin = event.origin_device
        if origin in cut:
            continue
        if origin not in heads:
            heads[origin] = event_store.device_head(conn, origin)
        same = event.origin_seq <= heads[origin][0]
        if same and _stored_hash(conn, origin, event.origin_seq) == event.hash:
            result.duplicates += 1
            continue
        if same or _forks(event, heads[origin]):
            # Another chain of this origin than the one held here. From the server, which
            # checked it, that is proof enough; from a peer, only when the origin's own
            # signature vouches for it (a peer cannot get an honest device set aside).
            later = [e for e in events[index + 1 :] if e.origin_device == origin]
            if from_peer and not vouched(event, later, keys.get(origin, "")):
                raise IntegrityError(
                    N_("Device {device} signed two different events as sequence {seq}")
                    if same
                    else N_("Event {event} does not link to the chain of device {device}"),
                    device=origin,
                    seq=event.origin_seq,
                    event=event.event_id,
                )
            # The event held here under the forked sequence: for a successor that does not
            # link, the one it should have followed (its sequence holds another at the source).
            held = event_at(conn, origin, event.origin_seq if same else heads[origin][0])
            result.diverged[origin] = result.diverged.get(origin) or held
            cut.add(origin)
            continue
        _check_link(event, heads[origin])
        refusal = _refusal(event, branches, keys)
        if from_peer and refusal is None and hlc.too_far_ahead(event.timestamp, now_ms):
            refusal = _clock_ahead(event)
        if refusal is not None and from_peer:
            result.refused.append((event, refusal))
            cut.add(origin)
            continue
        heads[origin] = (event.origin_seq, event.hash)
        newest[origin] = event
        fresh.append(event)
        if refusal is not None:
            result.quarantined.append((event, refusal))
        elif event.type in (DEVICE_ENROLLED, DEVICE_REVOKED):
            _apply_device_event(conn, event)
            keys, branches = device_keys(conn), device_branches(conn)
    for event in newest.values():
        _check_signature(event, keys)
    for origin, (seq, digest) in heads.items():
        if origin in newest:
            event_store.set_head(conn, origin, seq, digest)
    if result.diverged:
        set_aside(conn, result.diverged)
    return fresh


def _observe(conn: Connection, events: Iterable[Event], now_ms: int) -> None:
    clock = event_store.clock(conn)
    stamps = (e.timestamp for e in events)
    latest = max((s for s in stamps if not hlc.too_far_ahead(s, now_ms)), default=None)
    if latest is not None and latest > clock:
        event_store.set_clock(conn, hlc.observe(clock, latest, now_ms))


def ingest(
    conn: Connection,
    events: Sequence[Event],
    now_ms: int,
    *,
    defer: bool = False,
    from_peer: bool = False,
) -> IngestResult:
    """Check and append events from another replica, then refresh projections.

    The page is applied as a batch: its events grouped by dossier, each touched view read
    once and folded once (``projection.apply_dossier_batch``), before the events are
    appended in one statement, so a refold reads only what was stored before. With
    `defer`, the touched dossiers are only marked stale: the caller folds them once, with
    every page's events, in ``settle`` (a pull of many pages touches a dossier on many).
    """
    result = IngestResult()
    logged = _classify(conn, events, result, now_ms, from_peer)
    if not logged:
        return result
    for event, refusal in result.quarantined:
        quarantine.record(conn, event, refusal.rule, refusal)
    refused = {e.event_id for e, _ in result.quarantined}
    fresh = [e for e in logged if e.event_id not in refused]
    by_dossier: dict[str, list[Event]] = defaultdict(list)
    for event in fresh:
        if event.dossier_id is not None:
            by_dossier[event.dossier_id].append(event)
    db = raw(conn)
    if defer:
        db.executemany(_MARK_STALE, [(d,) for d in by_dossier])
        result.dossiers = set(by_dossier)
    else:
        result.dossiers = projection.apply_dossier_batch(conn, by_dossier)
    db.executemany(event_store.INSERT_EVENTS, [event_store.event_values(e) for e in logged])
    _observe(conn, logged, now_ms)
    result.accepted = fresh
    if any(e.dossier_id is None and e.type.startswith(REFERENCE_PREFIXES) for e in fresh):
        refold_reference(conn)
    return result


_MARK_STALE = "INSERT OR IGNORE INTO stale_dossiers (dossier_id) VALUES (?)"


def has_stale(conn: Connection) -> bool:
    return raw(conn).execute("SELECT 1 FROM stale_dossiers LIMIT 1").fetchone() is not None


def settle(conn: Connection, deferred: Mapping[str, Sequence[Event]]) -> set[str]:
    """Fold the stale dossiers: `deferred` holds the events ``ingest(defer=True)`` appended
    per dossier (applied to each view, or the dossier refolded, once); any other stale
    dossier (left by a crash) is refolded from the log. Returns the dossiers changed."""
    changed = set()
    if deferred:
        changed = projection.apply_dossier_batch(conn, deferred, logged=True)
    db = raw(conn)
    leftovers = [r[0] for r in db.execute("SELECT dossier_id FROM stale_dossiers")]
    leftovers = [d for d in leftovers if d not in deferred]
    if leftovers:
        from_log = projection.stored_dossier_events(conn, leftovers)
        changed |= projection.apply_dossier_batch(conn, from_log, logged=True)
    db.execute("DELETE FROM stale_dossiers")
    return changed


def refold_reference(conn: Connection) -> None:
    """Replay every reference event (users, calendar) in fold order, as ``rebuild`` does;
    the fold-time verdicts of the authority table (is the actor an admin then?) are made
    again from scratch, so a late event that changes them is honoured."""
    conn.execute(delete(t.users))
    conn.execute(delete(t.user_keys))
    conn.execute(delete(t.calendar_overrides))
    quarantine.forget_fold_verdicts(conn)
    skipped = quarantine.ids(conn)
    rows = conn.execute(
        select(t.events)
        .where(t.events.c.dossier_id.is_(None))
        .where(t.events.c.type.like("user.%") | t.events.c.type.like("calendar.%"))
    )
    events = (event_store._row_to_event(r) for r in rows)
    for event in sorted((e for e in events if e.event_id not in skipped), key=fold_order):
        projection.apply_reference_event(conn, event)
    unproven = actors.unproven_dossiers(conn)
    if unproven:  # the keys may have changed: judge their steps again
        projection.refold_dossiers(conn, unproven)


# --- blobs -------------------------------------------------------------------------------------


def add_blob(
    conn: Connection,
    sha256: str,
    size: int,
    *,
    present: bool,
    durable: bool,
    marks: bytes | None = None,
) -> None:
    row = conn.execute(
        select(blobs.c.present, blobs.c.durable).where(blobs.c.sha256 == sha256)
    ).first()
    if row is None:
        conn.execute(
            insert(blobs).values(
                sha256=sha256, size=size, present=present, durable=durable, marks=marks
            )
        )
    elif present and not row.present:
        kept = None if row.durable else marks
        conn.execute(update(blobs).where(blobs.c.sha256 == sha256).values(present=True, marks=kept))


def pending_blobs(conn: Connection) -> list[tuple[str, int, bytes]]:
    """Blobs held here that the server has not confirmed durable, oldest first, with their
    prefix marks (empty when none were taken)."""
    rows = conn.execute(
        select(blobs.c.sha256, blobs.c.size, blobs.c.marks)
        .where(blobs.c.present.is_(True))
        .where(blobs.c.durable.is_(False))
        .order_by(blobs.c.num)
    )
    return [(r.sha256, r.size, r.marks or b"") for r in rows]


def wanted_blobs(conn: Connection) -> list[str]:
    rows = conn.execute(
        select(blobs.c.sha256).where(blobs.c.present.is_(False)).order_by(blobs.c.num)
    )
    return [r.sha256 for r in rows]


def mark_blobs(conn: Connection, hashes: Sequence[str], **values: Any) -> None:
    if hashes:
        conn.execute(update(blobs).where(blobs.c.sha256.in_(list(hashes))).values(**values))


def count_events_of(conn: Connection, origin: str) -> int:
    query = select(func.count()).select_from(t.events).where(t.events.c.origin_device == origin)
    return int(conn.execute(query).scalar_one())


def search_rows(conn: Connection) -> list[tuple[int, str]]:
    """The search index, for comparing replicas in tests."""
    return [(r[0], r[1]) for r in conn.execute(text("SELECT rowid, body FROM dossier_search"))]
