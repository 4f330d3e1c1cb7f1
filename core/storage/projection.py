"""Projections: the tables the screens read, kept from the event log.

``apply_event`` is the incremental path; ``rebuild`` drops every projection and replays the
log. Both fold each dossier's events in the same order (``fold_order``), so they agree.
An event that arrives out of fold order (from another replica) refolds its dossier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, text, update

from core.domain import dossier as fold
from core.domain.dossier import DossierView, Handover
from core.domain.errors import N_, IntegrityError
from core.domain.events import Event, EventType, fold_order, sort_for_fold
from core.domain.text import fold as fold_text
from core.domain.workflow import State

from . import actors, event_store, quarantine
from . import schema as t
from .db import raw


def view_to_json(view: DossierView) -> str:
    # Shallow on purpose: the encoder walks the nested dicts; asdict would deep-copy them.
    # A view's __dict__ holds exactly its fields (its properties are computed).
    data = dict(view.__dict__)
    data["handovers"] = [vars(h) for h in view.handovers]
    return event_store.stored_json(data)


def view_from_json(doc: str) -> DossierView:
    data: dict[str, Any] = orjson.loads(doc)
    data["state"] = State(data["state"])
    data["handovers"] = tuple(Handover(**h) for h in data["handovers"])
    for name in ("components", "due_explanation", "notes", "heads", "conflicts"):
        data[name] = tuple(data[name])
    return DossierView(**data)


def search_body(view: DossierView) -> str:
    """What the search index holds for a dossier: folded code, names, numbers."""
    a = view.applicant
    parts = [view.code, view.code.replace("-", " "), a.get("full_name", ""), a.get("id_number", "")]
    parts += [a.get("phone", ""), a.get("email", ""), view.procedure_code]
    return fold_text(" ".join(p for p in parts if p))


def _row(view: DossierView) -> dict[str, Any]:
    return {
        "id": view.id,
        "code": view.code,
        "branch": view.branch,
        "procedure_code": view.procedure_code,
        "field": view.field,
        "applicant_name": view.applicant.get("full_name", ""),
        "id_number": view.applicant.get("id_number", ""),
        "phone": view.applicant.get("phone", ""),
        "state": view.state.value,
        "national_status": view.national_status,
        "received_at": view.received_at,
        "received_by": view.received_by,
        "due_at": view.due_at,
        "end_at": view.end_at,
        "holder": view.holder,
        "conflict": view.conflict,
        "last_event_hlc": view.last_event_hlc,
        "doc": view_to_json(view),
    }


_DOSSIER_COLUMNS = [c.name for c in t.dossiers.columns if c.name != "num"]
_INSERT_DOSSIER = (
    f"INSERT INTO dossiers ({', '.join(_DOSSIER_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _DOSSIER_COLUMNS)})"
)
_UPDATE_DOSSIER = (
    f"UPDATE dossiers SET {', '.join(f'{c} = :{c}' for c in _DOSSIER_COLUMNS)} "
    "WHERE id = :id RETURNING num"
)
# A refold never changes a dossier's identity: the batch path leaves the unique columns be.
_REFRESH_DOSSIER = (
    f"UPDATE dossiers SET "
    f"{', '.join(f'{c} = :{c}' for c in _DOSSIER_COLUMNS if c not in ('id', 'code'))} "
    "WHERE id = :id RETURNING num"
)
_INSERT_SEARCH = "INSERT INTO dossier_search (rowid, body) VALUES (?, ?)"
_UPDATE_SEARCH = "UPDATE dossier_search SET body = ? WHERE rowid = ?"
_LOAD_VIEW = "SELECT doc FROM dossiers WHERE id = ?"


def load_view(conn: Connection, dossier_id: str) -> DossierView | None:
    row = raw(conn).execute(_LOAD_VIEW, (dossier_id,)).fetchone()
    return view_from_json(row[0]) if row else None


def save_view(conn: Connection, view: DossierView, is_new: bool) -> None:
    """Write the dossier row and its search entry (hot path: straight to sqlite3)."""
    db = raw(conn)
    row = _row(view)
    body = search_body(view)
    if is_new:
        num = db.execute(_INSERT_DOSSIER, row).lastrowid
        db.execute(_INSERT_SEARCH, (num, body))
        return
    (num,) = db.execute(_UPDATE_DOSSIER, row).fetchone()
    db.execute(_UPDATE_SEARCH, (body, num))


def _is_next(view: DossierView, event: Event) -> bool:
    """True when `event` sorts after everything folded so far (ties refold, to be safe)."""
    return event.hlc > view.last_event_hlc


def apply_dossier_event(conn: Connection, event: Event) -> DossierView:
    assert event.dossier_id is not None
    view = load_view(conn, event.dossier_id)
    if view is None or _is_next(view, event):
        new_view = fold.apply(view, event)
    else:
        skipped = quarantine.ids(conn)
        logged = event_store.dossier_events(conn, event.dossier_id)
        refolded = fold_guarded(conn, [e for e in logged if e.event_id not in skipped])
        assert refolded is not None
        new_view = refolded
    save_view(conn, new_view, is_new=view is None)
    return new_view


def fold_guarded(
    conn: Connection,
    events: Sequence[Event],
    view: DossierView | None = None,
    verdicts: actors.Verdicts | None = None,
) -> DossierView | None:
    """Fold `events` (in fold order) onto `view`, quarantining any event the fold cannot
    apply instead of failing: one bad event never stops a dossier, nor a sync.
    `verdicts`: the batch's, when several dossiers are folded in a row."""
    verdicts = verdicts or actors.Verdicts(conn)
    for event in sort_for_fold(events):
        if view is None and not fold.starts(event):
            continue  # the dossier cannot start from this event: its creation is missing
        if not verdicts.proven(event):
            actors.refuse_unproven(conn, event)
            continue
        if not verdicts.role_held(event):
            actors.refuse_role(conn, event)
            continue
        try:
            view = fold.apply(view, event)
        except Exception as err:  # any failure of one event is contained, and named
            problem = IntegrityError(
                N_("Event {event} ({type}) could not be applied: {detail}"),
                event=event.event_id,
                type=event.type,
                detail=f"{type(err).__name__}: {err}",
            )
            quarantine.record(conn, event, "fold-failed", problem)
    return view


# --- batches of other replicas' events -------------------------------------------------------

_IN_CHUNK = 500
_EVENT_FIELDS = (
    "event_id, dossier_id, branch, type, payload, actor, origin_device, origin_seq, hlc, "
    "parents, prev_hash, hash, signature, schema_version"
)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def load_views(conn: Connection, dossier_ids: Sequence[str]) -> dict[str, DossierView]:
    """The stored views among `dossier_ids`, one query per 500."""
    db = raw(conn)
    found: dict[str, DossierView] = {}
    for start in range(0, len(dossier_ids), _IN_CHUNK):
        chunk = list(dossier_ids[start : start + _IN_CHUNK])
        query = f"SELECT id, doc FROM dossiers WHERE id IN ({_marks(len(chunk))})"
        for dossier_id, doc in db.execute(query, chunk):
            found[dossier_id] = view_from_json(doc)
    return found


def stored_dossier_events(conn: Connection, dossier_ids: Sequence[str]) -> dict[str, list[Event]]:
    """The logged events of `dossier_ids`, grouped by dossier, one query per 500."""
    db = raw(conn)
    found: dict[str, list[Event]] = {}
    loads = orjson.loads
    for start in range(0, len(dossier_ids), _IN_CHUNK):
        chunk = list(dossier_ids[start : start + _IN_CHUNK])
        query = f"SELECT {_EVENT_FIELDS} FROM events WHERE dossier_id IN ({_marks(len(chunk))})"
        for r in db.execute(query, chunk):
            event = Event(
                event_id=r[0],
                dossier_id=r[1],
                branch=r[2],
                type=r[3],
                payload=loads(r[4]),
                actor=r[5],
                origin_device=r[6],
                origin_seq=r[7],
                hlc=r[8],
                parents=tuple(loads(r[9])),
                prev_hash=r[10],
                hash=r[11],
                signature=r[12],
                schema_version=r[13],
            )
            found.setdefault(r[1], []).append(event)
    return found


def logged_counts(conn: Connection, dossier_ids: Sequence[str]) -> dict[str, int]:
    """How many events the log holds for each of `dossier_ids` (an index count)."""
    db = raw(conn)
    counts: dict[str, int] = {}
    for start in range(0, len(dossier_ids), _IN_CHUNK):
        chunk = list(dossier_ids[start : start + _IN_CHUNK])
        query = (
            f"SELECT dossier_id, count(*) FROM events "
            f"WHERE dossier_id IN ({_marks(len(chunk))}) GROUP BY dossier_id"
        )
        counts.update(db.execute(query, chunk))
    return counts


def apply_dossier_batch(
    conn: Connection, added: Mapping[str, Sequence[Event]], *, logged: bool = False
) -> set[str]:
    """Fold a batch of other replicas' events (grouped by dossier) into the projections.

    Each touched view is loaded once (one query per 500 dossiers) and folded once: when
    every added event sorts after what the view holds, they are applied to it in order
    (as ``apply_event``); otherwise — an event from the past, or a dossier not folded yet —
    the dossier is refolded from all its events (as ``rebuild``). The log is read for
    that (one query per 500 dossiers) only where it holds more than `added` (`logged`:
    the added events are in the log already; else none of them is). A dossier whose
    first event in fold order is not its creation (a receipt or a submission, which
    carries the code) is left unfolded until that creation arrives. Returns the dossiers
    whose projection changed.
    """
    views = load_views(conn, list(added))
    verdicts = actors.Verdicts(conn)
    verdicts.prove_all(event for events in added.values() for event in events)
    refold: list[str] = []
    changed: set[str] = set()
    for dossier_id, events in added.items():
        view = views.get(dossier_id)
        if view is None:
            if any(fold.starts(e) for e in events):
                refold.append(dossier_id)
            # else: its creation has not arrived (or is not first in fold order): the
            # fold cannot start, and these events cannot change that.
            continue
        ordered = sort_for_fold(events)
        if ordered[0].hlc > view.last_event_hlc:
            new_view = fold_guarded(conn, ordered, view, verdicts)
            assert new_view is not None
            refresh_view(conn, view, new_view)
            changed.add(dossier_id)
        else:
            refold.append(dossier_id)
    counts = logged_counts(conn, refold) if refold else {}
    unread = [d for d in refold if counts.get(d, 0) > (len(added[d]) if logged else 0)]
    stored_events = stored_dossier_events(conn, unread)
    skipped = quarantine.ids(conn) if refold else frozenset()
    for dossier_id in refold:
        every = {e.event_id: e for e in stored_events.get(dossier_id, ())}
        for event in added[dossier_id]:
            every.setdefault(event.event_id, event)
        ordered = sort_for_fold([e for e in every.values() if e.event_id not in skipped])
        if not ordered or not fold.starts(ordered[0]):
            continue
        refolded = fold_guarded(conn, ordered, verdicts=verdicts)
        if _keep_refold(conn, views.get(dossier_id), refolded):
            changed.add(dossier_id)
    return changed


def _keep_refold(conn: Connection, old: DossierView | None, refolded: DossierView | None) -> bool:
    """Store a dossier folded again from its log; False when it cannot start yet."""
    if refolded is None:
        return False
    if old is None or old.code != refolded.code:
        save_view(conn, refolded, is_new=old is None)
    else:
        refresh_view(conn, old, refolded)
    return True


def refold_dossiers(conn: Connection, dossier_ids: Sequence[str]) -> set[str]:
    """Fold `dossier_ids` again from the log (their verdicts may have changed)."""
    skipped = quarantine.ids(conn)
    stored = stored_dossier_events(conn, list(dossier_ids))
    views = load_views(conn, list(dossier_ids))
    verdicts = actors.Verdicts(conn)
    changed: set[str] = set()
    for dossier_id, events in stored.items():
        kept = [e for e in events if e.event_id not in skipped]
        refolded = fold_guarded(conn, kept, verdicts=verdicts)
        if _keep_refold(conn, views.get(dossier_id), refolded):
            changed.add(dossier_id)
    return changed


def refresh_view(conn: Connection, old: DossierView, view: DossierView) -> None:
    """``save_view`` of a stored dossier; its search entry is rewritten only if it changed."""
    db = raw(conn)
    (num,) = db.execute(_REFRESH_DOSSIER, _row(view)).fetchone()
    if (old.code, old.procedure_code, old.applicant) != (
        view.code,
        view.procedure_code,
        view.applicant,
    ):
        db.execute(_UPDATE_SEARCH, (search_body(view), num))


def apply_reference_event(conn: Connection, event: Event) -> None:
    """Users and calendar overrides: last writer in fold order wins per key, among the
    events the authority table admits when folded."""
    if not actors.admitted(conn, event):
        return
    p = event.payload
    if event.type == EventType.USER_ADDED:
        conn.execute(delete(t.users).where(t.users.c.username == p["username"]))
        conn.execute(
            insert(t.users).values(
                username=p["username"],
                full_name=p.get("full_name", p["username"]),
                role=p["role"],
                password_hash=p["password_hash"],
                disabled=False,
                public_key=p.get("public_key"),
                sealed_key=p.get("sealed_key"),
            )
        )
        if p.get("public_key"):
            actors.add_key(conn, p["username"], p["public_key"])
    elif event.type in (EventType.USER_PASSWORD, EventType.USER_ROLE, EventType.USER_DISABLED):
        password = {"password_hash": p.get("password_hash")}
        if p.get("public_key"):
            password |= {"public_key": p["public_key"], "sealed_key": p.get("sealed_key")}
            actors.add_key(conn, p["username"], p["public_key"])
        changes: dict[str, dict[str, Any]] = {
            EventType.USER_PASSWORD: password,
            EventType.USER_ROLE: {"role": p.get("role")},
            EventType.USER_DISABLED: {"disabled": bool(p.get("disabled", True))},
        }
        values = changes[event.type]
        conn.execute(update(t.users).where(t.users.c.username == p["username"]).values(**values))
    elif event.type == EventType.USER_UNLOCKED:
        conn.execute(delete(t.login_attempts).where(t.login_attempts.c.username == p["username"]))
    elif event.type == EventType.CALENDAR_OVERRIDE:
        conn.execute(delete(t.calendar_overrides).where(t.calendar_overrides.c.day == p["day"]))
        if p["kind"] != "none":
            conn.execute(
                insert(t.calendar_overrides).values(
                    day=p["day"], kind=p["kind"], reason=p["reason"]
                )
            )


def apply_event(conn: Connection, event: Event) -> DossierView | None:
    if event.dossier_id is not None:
        return apply_dossier_event(conn, event)
    apply_reference_event(conn, event)
    return None


def rebuild(conn: Connection) -> int:
    """Drop every projection and replay the log; returns the number of events replayed."""
    for table in (t.dossiers, t.users, t.user_keys, t.calendar_overrides):
        conn.execute(delete(table))
    conn.execute(text("DELETE FROM dossier_search"))
    by_dossier: dict[str, list[Event]] = {}
    reference: list[Event] = []
    replayed = 0
    for rule in quarantine.REJUDGED:
        conn.execute(text("DELETE FROM quarantine WHERE rule = :rule"), {"rule": rule})
    skipped = quarantine.ids(conn)
    for event in event_store.all_events(conn):
        replayed += 1
        if event.event_id in skipped:
            continue
        if event.dossier_id is None:
            reference.append(event)
        else:
            by_dossier.setdefault(event.dossier_id, []).append(event)
    for event in sorted(reference, key=fold_order):
        apply_reference_event(conn, event)
    firsts = sorted(by_dossier.values(), key=lambda evs: min(fold_order(e) for e in evs))
    verdicts = actors.Verdicts(conn)  # the users are folded: their verdicts hold from here
    for events in firsts:
        view = fold_guarded(conn, events, verdicts=verdicts)
        if view is not None:
            save_view(conn, view, is_new=True)
    return replayed
