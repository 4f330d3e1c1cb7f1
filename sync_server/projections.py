"""Server-side projections: each branch's dossiers, folded from its events.

The fold is the desktops' own (``core.domain.dossier.apply`` in ``fold_order``, the
record serialised by ``core.storage.projection.view_to_json`` and indexed by its
``search_body``), so a dossier's ``doc`` here is byte for byte the desktop's. What this
module adds is the server's bookkeeping, because ``core.storage.projection`` is written
against the desktop's schema (a SQLite FTS table, one branch, its quarantine):

- The log is the queue. ``projection_cursor`` holds, per branch, the ``server_seq`` up
  to which the branch is folded; ``catch_up`` folds the events past it, in chunks, and
  moves it, in one transaction that holds the cursor's row (``FOR UPDATE`` on
  PostgreSQL; SQLite's ``BEGIN IMMEDIATE``), so two folders of one branch queue.
- It runs in the background after pushes commit (``sync_server.folder``), not inside
  the push's transaction nor before its answer: the push keeps its speed and its lock on
  the branch short, and a fold that fails (or a process that dies) loses nothing — the
  folder's retry, a reader's ``settle`` or ``rebuild`` folds from the cursor again. The
  day's intake counts the events folded, with the cursor, so each is counted once.
- Per chunk, as the desktop's ``apply_dossier_batch``: a dossier whose new events all
  sort after what it holds has them applied; otherwise (an event from the past, or its
  creation arriving late) it is folded again from its events in the log up to the
  chunk's end. An event the fold cannot apply is skipped (and logged), the same way on
  both paths, so one bad event never stops a branch.
- ``rebuild`` deletes a branch's rows, sets its cursor to 0 and folds everything again:
  the same result as the incremental path (a property test holds them equal). The server
  does it by itself, once, for each branch an older edition of the fold made
  (``refold_outdated``, ``fold.FOLD_VERSION``).

The server folds every event its ingest accepted (stateless authority, chains,
signatures); it does not re-judge the acting users' proofs as a desktop's fold does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from core.domain import dossier as fold
from core.domain.authority import CENTRE_PREFIX
from core.domain.dossier import DossierView
from core.domain.errors import ValidationError
from core.domain.events import Event, sort_for_fold
from core.domain.timeutil import VIETNAM, parse_moment
from core.reports import GROUPS, Tally, readable_facts, timeline
from core.storage.projection import search_body, view_from_json, view_to_json

from . import schema as t

log = logging.getLogger(__name__)
CHUNK = 2000  # events folded per read of the log
_IN = 500  # dossier ids per IN (...) list

dossiers = Table(
    "dossiers",
    t.metadata,
    Column("branch", String(32), nullable=False),
    Column("dossier_id", String(64), nullable=False),
    Column("code", String(64), nullable=False, index=True),
    Column("procedure_code", String(64), nullable=False),
    Column("procedure_name", Text, nullable=False),
    Column("field", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("applicant_name", Text, nullable=False),
    Column("id_number", String(32), nullable=False, index=True),
    Column("phone", String(32), nullable=False, index=True),
    Column("state", String(32), nullable=False),
    Column("national_status", Integer, nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("due_at", String(40), nullable=False),
    Column("end_at", String(40), nullable=False),
    Column("holder", String(64), nullable=False),
    Column("conflict", Boolean, nullable=False),
    Column("lookup_token", String(32), nullable=False),
    Column("last_event_hlc", String(24), nullable=False),
    Column("search", Text, nullable=False),  # folded: no diacritics, no case
    Column("doc", Text, nullable=False),  # the DossierView, as the desktops store it
    PrimaryKeyConstraint("branch", "dossier_id"),
    Index("ix_dossiers_received", "branch", "received_at"),
    # The dossiers page lists the latest receipts of every branch.
    Index("ix_dossiers_received_at", "received_at"),
    # The overview counts each branch's conflicts: few rows among millions.
    Index(
        "ix_dossiers_conflict",
        "branch",
        postgresql_where=text("conflict"),
        sqlite_where=text("conflict"),
    ),
)
# Read when a dossier is folded again from its log (and for its timeline).
Index("ix_events_dossier", t.events.c.branch, t.events.c.dossier_id)

cursors = Table(
    "projection_cursor",
    t.metadata,
    Column("branch", String(32), primary_key=True),
    Column("folded_seq", BigInteger, nullable=False),
    # Every dossier of the branch has its row in ``dossier_facts`` (false for a branch
    # folded before that table existed, until ``backfill_facts`` has written them).
    Column("facts_ready", Boolean, nullable=False),
    # The edition of the fold the branch's rows were made with (``fold.FOLD_VERSION``): an
    # older one is folded again by ``refold_outdated``.
    Column("fold_version", Integer, nullable=False, server_default="0"),
)

# What the statistics read of each dossier (``core.reports``), in columns SQL can count:
# moments as epoch seconds, the dossier's column in any report made after its last event
# (``core.reports.timeline``: ``b_before`` up to ``switch_s``, ``b_after`` past it, the
# ``b_moment_*`` pair under early_by_moment), the rest of its ``Tally`` and its value for
# each grouping (``g_<name>``: ``GROUPS[name]`` of its facts).
facts = Table(
    "dossier_facts",
    t.metadata,
    Column("branch", String(32), nullable=False),
    Column("dossier_id", String(64), nullable=False),
    Column("received_s", BigInteger, nullable=False),
    Column("ended_s", BigInteger, nullable=True),
    Column("last_s", BigInteger, nullable=False),
    Column("switch_s", BigInteger, nullable=True),
    Column("refused", Boolean, nullable=False),
    Column("b_before", String(24), nullable=False),
    Column("b_after", String(24), nullable=False),
    Column("b_moment_before", String(24), nullable=False),
    Column("b_moment_after", String(24), nullable=False),
    Column("received_here", Boolean, nullable=False),
    Column("processed_here", Boolean, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("complaint", Boolean, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("has_result", Boolean, nullable=False),
    Column("digitised", Boolean, nullable=False),
    Column("payable", Boolean, nullable=False),
    Column("paid_online", Boolean, nullable=False),
    Column("g_field", String(64), nullable=False),
    Column("g_procedure", String(64), nullable=False),
    Column("g_clerk", String(64), nullable=False),
    Column("g_branch", String(32), nullable=False),
    Column("g_month", String(7), nullable=False),
    Column("g_channel", String(32), nullable=False),
    Column("g_received_unit", String(32), nullable=False),
    Column("g_processing_unit", String(32), nullable=False),
    PrimaryKeyConstraint("branch", "dossier_id"),
    Index("ix_dossier_facts_ended", "ended_s"),
    Index("ix_dossier_facts_received", "received_s"),
)

# Each dossier's facts as of the end of every month it went on past (``closed_months``).
closed = Table(
    "dossier_facts_closed",
    t.metadata,
    *[Column(c.name, c.type, nullable=c.nullable) for c in facts.columns],
    Column("month_end_s", BigInteger, nullable=False),
    PrimaryKeyConstraint("branch", "dossier_id", "month_end_s"),
    Index("ix_dossier_facts_closed_month", "month_end_s", "ended_s"),
)

intake_days = Table(
    "intake_days",
    t.metadata,
    Column("branch", String(32), nullable=False),
    Column("day", String(10), nullable=False),
    Column("events", BigInteger, nullable=False),
    PrimaryKeyConstraint("branch", "day"),
)


def _seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def facts_of(branch: str, view: DossierView) -> dict[str, Any] | None:
    """The dossier's ``dossier_facts`` row; None for a record the reports cannot read
    (no receipt moment), which the statistics leave out as the desktops do."""
    found = readable_facts(view)
    try:
        last_at = parse_moment(view.last_at) if view.last_at else None
    except ValidationError:
        return None
    if found is None:
        return None
    # A record folded before its last moment was kept: always read from its events.
    line = timeline(found, last_at or _NEVER)
    tally = Tally.of(found)
    row: dict[str, Any] = {
        "branch": branch,
        "dossier_id": view.id,
        "received_s": _seconds(found.received_at),
        "ended_s": _seconds(found.ended_at),
        "last_s": _seconds(last_at) if last_at else NEVER_S,
        "switch_s": _seconds(line.switch),
        "refused": found.refused,
        "b_before": line.before.value,
        "b_after": line.after.value,
        "b_moment_before": line.moment_before.value,
        "b_moment_after": line.moment_after.value,
        **{name: getattr(tally, name) for name in TALLY_COLUMNS},
    }
    row.update({f"g_{name}": str(group(found)) for name, group in GROUPS.items() if name != "all"})
    return row


_NEVER = datetime(9999, 12, 31, tzinfo=VIETNAM)
NEVER_S = int(_NEVER.timestamp())  # later than any report's moment

TALLY_COLUMNS = (
    "received_here",
    "processed_here",
    "channel",
    "complaint",
    "rating",
    "has_result",
    "digitised",
    "payable",
    "paid_online",
)


def row_of(branch: str, view: DossierView) -> dict[str, Any]:
    a = view.applicant
    return {
        "branch": branch,
        "dossier_id": view.id,
        "code": view.code,
        "procedure_code": view.procedure_code,
        "procedure_name": view.procedure_name,
        "field": view.field,
        "channel": view.channel,
        "applicant_name": a.get("full_name", ""),
        "id_number": a.get("id_number", ""),
        "phone": a.get("phone", ""),
        "state": view.state.value,
        "national_status": view.national_status,
        "received_at": view.received_at,
        "due_at": view.due_at,
        "end_at": view.end_at,
        "holder": view.holder,
        "conflict": view.conflict,
        "lookup_token": view.lookup_token,
        "last_event_hlc": view.last_event_hlc,
        "search": search_body(view),
        "doc": view_to_json(view),
    }


# --- reading the log -----------------------------------------------------------------------


def event_of(body: str) -> Event:
    """An event from its stored wire body (checked at ingest: not validated again)."""
    w = json.loads(body)
    return Event(
        event_id=w["event_id"],
        dossier_id=w["dossier_id"],
        branch=w["branch"],
        type=w["type"],
        payload=w["payload"],
        actor=w["actor"],
        origin_device=w["origin_device"],
        origin_seq=w["origin_seq"],
        hlc=w["hlc"],
        parents=tuple(w["parents"]),
        prev_hash=w["prev_hash"],
        hash=w["hash"],
        signature=w["signature"],
        schema_version=w["schema_version"],
    )


def id_chunks(items: Sequence[str]) -> Iterable[list[str]]:
    """`items` in lists of at most 500: one SQL `IN` each."""
    for start in range(0, len(items), _IN):
        yield list(items[start : start + _IN])


def logged_events(
    conn: Connection, branch: str, dossier_ids: Sequence[str], upto: int
) -> dict[str, list[Event]]:
    """The events of `dossier_ids` in the branch's log up to server_seq `upto`."""
    e = t.events.c
    found: dict[str, list[Event]] = {}
    for chunk in id_chunks(dossier_ids):
        rows = conn.execute(
            select(e.dossier_id, e.body)
            .where(e.branch == branch, e.dossier_id.in_(chunk), e.server_seq <= upto)
            .order_by(e.server_seq)
        )
        for dossier_id, body in rows:
            found.setdefault(dossier_id, []).append(event_of(body))
    return found


def logged_counts(
    conn: Connection, branch: str, dossier_ids: Sequence[str], upto: int
) -> dict[str, int]:
    """How many events of each of `dossier_ids` the log holds up to `upto`."""
    e = t.events.c
    counts: dict[str, int] = {}
    for chunk in id_chunks(dossier_ids):
        rows = conn.execute(
            select(e.dossier_id, func.count())
            .where(e.branch == branch, e.dossier_id.in_(chunk), e.server_seq <= upto)
            .group_by(e.dossier_id)
        )
        counts.update((dossier_id, int(n)) for dossier_id, n in rows)
    return counts


def load_views(conn: Connection, branch: str, dossier_ids: Sequence[str]) -> dict[str, DossierView]:
    d = dossiers.c
    found: dict[str, DossierView] = {}
    for chunk in id_chunks(dossier_ids):
        rows = conn.execute(
            select(d.dossier_id, d.doc).where(d.branch == branch, d.dossier_id.in_(chunk))
        )
        found.update((dossier_id, view_from_json(doc)) for dossier_id, doc in rows)
    return found


# --- folding ---------------------------------------------------------------------------------


def fold_guarded(events: Sequence[Event], view: DossierView | None = None) -> DossierView | None:
    """Fold `events` (sorted here) onto `view`; an event the fold cannot apply is skipped
    and logged, and events before the dossier's creation wait for it (as on a desktop)."""
    for event in sort_for_fold(events):
        if view is None and not fold.starts(event):
            continue
        try:
            view = fold.apply(view, event)
        except Exception as err:  # one bad event never stops a branch: skipped, and named
            log.warning(
                "event %s (%s) of dossier %s not folded: %s: %s",
                event.event_id,
                event.type,
                event.dossier_id,
                type(err).__name__,
                err,
            )
    return view


def fold_chunk(conn: Connection, branch: str, events: Sequence[Event], upto: int) -> int:
    """Fold a chunk of the branch's log (every event at most `upto`); returns the number
    of dossiers whose row was written."""
    from . import closed_months  # it reads this module's tables and folds

    added: dict[str, list[Event]] = {}
    for event in events:
        if event.dossier_id is not None:
            added.setdefault(event.dossier_id, []).append(event)
    if not added:
        return 0
    views = load_views(conn, branch, list(added))
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    refold: list[str] = []
    written: list[DossierView] = []
    crossed: list[closed_months.Written] = []
    for dossier_id, evs in added.items():
        view = views.get(dossier_id)
        ordered = sort_for_fold(evs)
        if view is not None and ordered[0].hlc > view.last_event_hlc:
            folded = fold_guarded(ordered, view)
            assert folded is not None
            changed.append(row_of(branch, folded))
            written.append(folded)
            crossed.append(closed_months.Written(view, folded, ordered, whole=False))
        elif view is not None or any(fold.starts(e) for e in evs):
            refold.append(dossier_id)
        # else: its creation has not arrived yet, and these events cannot start it
    # The log is read only for the dossiers it holds more events of than this chunk
    # brings (an index count): a dossier received in this chunk is folded from it alone.
    counts = logged_counts(conn, branch, refold, upto) if refold else {}
    unread = [d for d in refold if counts.get(d, 0) > len(added[d])]
    logged = logged_events(conn, branch, unread, upto) if unread else {}
    for dossier_id in refold:
        every = logged.get(dossier_id) or added[dossier_id]
        folded = fold_guarded(every)
        if folded is None:
            continue
        (changed if dossier_id in views else new).append(row_of(branch, folded))
        written.append(folded)
        crossed.append(closed_months.Written(views.get(dossier_id), folded, every, whole=True))
    _write(conn, new, changed)
    write_facts(conn, branch, written, [v.id for v in written if v.id in views])
    closed_months.write(conn, branch, crossed, upto)
    return len(new) + len(changed)


def write_facts(
    conn: Connection, branch: str, views: Sequence[DossierView], replaced: Sequence[str]
) -> None:
    """Write these dossiers' ``dossier_facts`` rows, in place of those of `replaced` (the
    dossiers that had a record: a new one has no facts yet)."""
    f = facts.c
    for ids in id_chunks(replaced):
        conn.execute(delete(facts).where(f.branch == branch, f.dossier_id.in_(ids)))
    rows = [row for v in views if (row := facts_of(branch, v)) is not None]
    if rows:
        conn.execute(insert(facts), rows)


def _write(conn: Connection, new: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    if new:
        conn.execute(insert(dossiers), new)
    if changed:
        # One UPDATE per row (an executemany): keyed by (branch, dossier_id).
        values: dict[str, Any] = {
            c.name: bindparam(f"v_{c.name}") for c in dossiers.columns if not c.primary_key
        }
        statement = (
            update(dossiers)
            .where(dossiers.c.branch == bindparam("k_branch"))
            .where(dossiers.c.dossier_id == bindparam("k_dossier_id"))
            .values(values)
        )
        params = [
            {
                "k_branch": row["branch"],
                "k_dossier_id": row["dossier_id"],
                **{f"v_{name}": value for name, value in row.items()},
            }
            for row in changed
        ]
        conn.execute(statement, params)


def _lock_cursor(conn: Connection, branch: str) -> int:
    """The branch's folded server_seq, its row held until the transaction ends."""
    query = select(cursors.c.folded_seq).where(cursors.c.branch == branch).with_for_update()
    found = conn.execute(query).scalar_one_or_none()
    if found is not None:
        return int(found)
    # A new branch is folded from its first event, by this edition of the fold.
    first = {
        "branch": branch,
        "folded_seq": 0,
        "facts_ready": True,
        "fold_version": fold.FOLD_VERSION,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(cursors).values(first).on_conflict_do_nothing())
    else:
        conn.execute(insert(cursors).prefix_with("OR IGNORE").values(first))
    return int(conn.execute(query).scalar_one())


def fold_from_cursor(conn: Connection, branch: str, chunk: int = CHUNK) -> tuple[int, int]:
    """Fold every event of the branch past its cursor, in chunks of `chunk`; returns how
    many events were read, and how many of them devices pushed (not the centre's own).
    The caller's transaction holds the cursor's row."""
    cursor = _lock_cursor(conn, branch)
    e = t.events.c
    read = pushed = 0
    while True:
        rows = conn.execute(
            select(e.server_seq, e.dossier_id, e.body, e.origin_device)
            .where(e.branch == branch, e.server_seq > cursor)
            .order_by(e.server_seq)
            .limit(chunk)
        ).all()
        if not rows:
            break
        upto = int(rows[-1].server_seq)
        dossier_events = [event_of(r.body) for r in rows if r.dossier_id is not None]
        fold_chunk(conn, branch, dossier_events, upto)
        cursor = upto
        read += len(rows)
        pushed += sum(1 for r in rows if not r.origin_device.startswith(CENTRE_PREFIX))
    if read:
        conn.execute(update(cursors).where(cursors.c.branch == branch).values(folded_seq=cursor))
    return read, pushed


def catch_up(engine: Engine, branch: str, chunk: int = CHUNK, *, count: bool = False) -> int:
    """Fold the branch's events past its cursor, in one transaction; `count`: add them to
    the day's intake (what devices pushed since the last fold, counted once with the
    cursor)."""
    with engine.begin() as conn:
        read, pushed = fold_from_cursor(conn, branch, chunk)
        if count and pushed:
            count_intake(conn, branch, pushed)
        return read


def pending(engine: Engine, branches: Iterable[str] | None = None) -> dict[str, int]:
    """Per branch (all, or those given), the events pushed and not folded yet."""
    s, c = t.scopes.c, cursors.c
    query = (
        select(s.branch, (s.last_seq - func.coalesce(c.folded_seq, 0)).label("behind"))
        .select_from(t.scopes.outerjoin(cursors, c.branch == s.branch))
        .where(s.branch != t.GLOBAL_SCOPE)
        .where(s.last_seq > func.coalesce(c.folded_seq, 0))
    )
    if branches is not None:
        query = query.where(s.branch.in_(list(branches)))
    with engine.connect() as conn:
        return {r.branch: int(r.behind) for r in conn.execute(query)}


def settle(engine: Engine, branches: Iterable[str] | None = None) -> int:
    """Fold now what is pending for these branches (all by default): a reader that must
    see every push so far (a console page, a command) calls it; the background folder
    does the same work otherwise. Returns the events folded."""
    return sum(catch_up(engine, b, count=True) for b in pending(engine, branches))


def branches_of(conn: Connection) -> list[str]:
    rows = conn.execute(select(t.scopes.c.branch).where(t.scopes.c.branch != t.GLOBAL_SCOPE))
    return sorted(r.branch for r in rows)


def rebuild(engine: Engine, branch: str | None = None, chunk: int = CHUNK) -> dict[str, int]:
    """Drop the projection of one branch (or of every branch) and fold it again from its
    log, each branch in one transaction; returns the events read per branch."""
    with engine.connect() as conn:
        known = branches_of(conn)
    chosen = [branch] if branch is not None else known
    done: dict[str, int] = {}
    for code in chosen:
        with engine.begin() as conn:
            done[code] = _fold_again(conn, code, chunk)
    return done


def refold_outdated(engine: Engine, chunk: int = CHUNK) -> dict[str, int]:
    """Fold again, from its log, each branch whose rows an older edition of the fold made
    (``fold.FOLD_VERSION``): the server does it once after an upgrade, in the background,
    branch by branch (each in one transaction; the console reads the old rows meanwhile).
    Returns the events read per branch."""
    with engine.connect() as conn:
        outdated = list(
            conn.execute(
                select(cursors.c.branch).where(cursors.c.fold_version < fold.FOLD_VERSION)
            ).scalars()
        )
    done: dict[str, int] = {}
    for branch in outdated:
        with engine.begin() as conn:
            _lock_cursor(conn, branch)
            edition = select(cursors.c.fold_version).where(cursors.c.branch == branch)
            if conn.execute(edition).scalar_one() >= fold.FOLD_VERSION:
                continue  # another server process did it meanwhile
            done[branch] = _fold_again(conn, branch, chunk)
        log.info("branch %s folded again (fold edition %d)", branch, fold.FOLD_VERSION)
    return done


def _fold_again(conn: Connection, branch: str, chunk: int) -> int:
    """Drop the branch's rows and fold its whole log again, with this edition of the fold.
    What devices pushed past the cursor is added to the day's intake first: folded here
    from 0, it would otherwise never be counted."""
    cursor = _lock_cursor(conn, branch)
    _count_unfolded_intake(conn, branch, cursor)
    conn.execute(delete(dossiers).where(dossiers.c.branch == branch))
    conn.execute(delete(facts).where(facts.c.branch == branch))
    conn.execute(delete(closed).where(closed.c.branch == branch))
    conn.execute(
        update(cursors)
        .where(cursors.c.branch == branch)
        .values(folded_seq=0, facts_ready=True, fold_version=fold.FOLD_VERSION)
    )
    return fold_from_cursor(conn, branch, chunk)[0]


def _count_unfolded_intake(conn: Connection, branch: str, cursor: int) -> None:
    e = t.events.c
    pushed = conn.execute(
        select(func.count())
        .select_from(t.events)
        .where(e.branch == branch, e.server_seq > cursor)
        .where(~e.origin_device.startswith(CENTRE_PREFIX, autoescape=True))
    ).scalar_one()
    if pushed:
        count_intake(conn, branch, int(pushed))


def backfill_facts(engine: Engine, chunk: int = CHUNK) -> dict[str, int]:
    """Write the ``dossier_facts`` of each branch folded before that table existed (its
    cursor's ``facts_ready`` false), from its dossiers' records, holding its cursor: the
    server does it once after the upgrade, in the background. Returns the rows per branch."""
    with engine.connect() as conn:
        waiting = list(
            conn.execute(select(cursors.c.branch).where(~cursors.c.facts_ready)).scalars()
        )
    done: dict[str, int] = {}
    for branch in waiting:
        with engine.begin() as conn:
            _lock_cursor(conn, branch)
            ready = select(cursors.c.facts_ready).where(cursors.c.branch == branch)
            if conn.execute(ready).scalar_one():
                continue  # another process did it meanwhile
            conn.execute(delete(facts).where(facts.c.branch == branch))
            done[branch] = _facts_from_records(conn, branch, chunk)
            conn.execute(update(cursors).where(cursors.c.branch == branch).values(facts_ready=True))
        log.info("statistics facts of branch %s written: %d dossiers", branch, done[branch])
    if done:
        order_facts(engine)
    return done


def order_facts(engine: Engine) -> None:
    """Lay ``dossier_facts`` out by end moment (PostgreSQL's CLUSTER; a no-op on SQLite),
    as the fold writes it over time: written branch by branch after an upgrade, a month's
    dossiers would be spread over the whole table and a period's statistics read all of
    it. Holds the table for the seconds it takes, once."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("CLUSTER dossier_facts USING ix_dossier_facts_ended")
        conn.exec_driver_sql("ANALYZE dossier_facts")
    log.info("statistics facts laid out by end moment")


def _facts_from_records(conn: Connection, branch: str, chunk: int) -> int:
    d = dossiers.c
    written, after = 0, ""
    while True:
        docs = conn.execute(
            select(d.dossier_id, d.doc)
            .where(d.branch == branch, d.dossier_id > after)
            .order_by(d.dossier_id)
            .limit(chunk)
        ).all()
        if not docs:
            return written
        rows = [r for doc in docs if (r := facts_of(branch, view_from_json(doc.doc)))]
        if rows:
            conn.execute(insert(facts), rows)
        written += len(rows)
        after = docs[-1].dossier_id


def facts_ready(conn: Connection, branches: Sequence[str]) -> set[str]:
    """Of these branches, those whose every dossier has its ``dossier_facts`` row (a
    branch never folded has none to have)."""
    c = cursors.c
    behind = set(
        conn.execute(select(c.branch).where(c.branch.in_(list(branches)), ~c.facts_ready)).scalars()
    )
    return {b for b in branches if b not in behind}


def today() -> str:
    return datetime.now(VIETNAM).date().isoformat()


def count_intake(conn: Connection, branch: str, events: int, day: str | None = None) -> None:
    """Add `events` received now to the branch's count of the day (Vietnam time)."""
    day = day or today()
    key = (intake_days.c.branch == branch, intake_days.c.day == day)
    done = conn.execute(
        update(intake_days).where(*key).values(events=intake_days.c.events + events)
    )
    if done.rowcount == 0:
        conn.execute(insert(intake_days).values(branch=branch, day=day, events=events))
