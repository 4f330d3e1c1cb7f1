"""A closed month's statistics counted in SQL: each dossier's facts as of the end of every
month it went on past (``dossier_facts_closed``).

A month's report (and a quarter's, a year's) judges each dossier as of the month's last
second. The dossiers with no event after it are counted from ``dossier_facts``; the
others — still in progress then, or rated, noted, returned since — were folded again
from their events for every such report, which over a country's branches is a large
share of a month's dossiers. When the fold moves a dossier past the end of a month, its
facts as of that end are written here once, the same as the report's fold computes them
(``core.reports.facts_as_of``):

- the events added all come after that end (the usual case, as the days go by): the
  dossier's facts before them are its facts as of the end;
- otherwise (a chunk's events on both sides of an end, an event dated before an end
  already kept, a dossier folded again from its log): the dossier's rows are all written
  again from its events in the log up to the chunk.

A report whose moment is not a month's end (a period ending inside a month, or today)
folds those dossiers again, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert

from core.domain import dossier as fold
from core.domain.dossier import DossierView
from core.domain.events import Event
from core.domain.timeutil import VIETNAM, parse_moment, to_vietnam
from core.reports.facts import view_as_of

from .projections import closed, facts_of, id_chunks, logged_events


def month_end(moment: datetime) -> datetime:
    """The last second (Vietnam time) of the month of `moment`: a month's report's moment."""
    local = to_vietnam(moment)
    following = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(following.date(), time(0), VIETNAM) - timedelta(seconds=1)


def is_month_end(moment: datetime) -> bool:
    return to_vietnam(moment) == month_end(moment)


def month_ends(after: datetime, before: datetime) -> list[datetime]:
    """The month ends M with `after` <= M < `before`."""
    found: list[datetime] = []
    end = month_end(after)
    while end < before:
        if end >= after:
            found.append(end)
        end = month_end(end + timedelta(seconds=1))
    return found


@dataclass(frozen=True)
class Written:
    """One dossier the fold wrote: what it held before (None: new, or folded again from its
    log) and the events it was given."""

    old: DossierView | None
    new: DossierView
    added: Sequence[Event]
    whole: bool  # `added` is every event of the dossier up to the chunk


def write(
    conn: Connection,
    branch: str,
    written: Sequence[Written],
    upto: int,
) -> None:
    """Keep the month-end facts of the dossiers this chunk moved past a month's end."""
    rows: list[dict[str, Any]] = []
    again: dict[str, Written] = {}
    for one in written:
        kept = _kept_as_is(branch, one)
        if kept is None:
            again[one.new.id] = one
        else:
            rows += kept
    if again:
        logged = _events_of(conn, branch, again, upto)
        for ids in id_chunks(list(again)):
            conn.execute(
                delete(closed).where(closed.c.branch == branch, closed.c.dossier_id.in_(ids))
            )
        for dossier_id, events in logged.items():
            rows += _from_events(branch, again[dossier_id].new, events)
    if rows:
        conn.execute(insert(closed), rows)


def _kept_as_is(branch: str, one: Written) -> list[dict[str, Any]] | None:
    """The rows the dossier's facts before this chunk make (none when it crossed no month
    end); None when its rows must be written again from its events."""
    until = _until(one.new)
    if until is None:
        return []  # a record with no moments: the report folds it again, as before
    if one.whole or one.old is None:
        start = _start(one.added)
        return None if start is not None and month_ends(start, until) else []
    old_last, received = _moment(one.old.last_at), _moment(one.old.received_at)
    if old_last is None or received is None:
        return None
    first_new = _first(one.added)
    # No row lies before the receipt: an event dated earlier still changes every row.
    touched = month_ends(max(min(first_new, old_last), received), until)
    if not touched:
        return []
    if first_new <= touched[-1]:
        return None  # an added event dated before an end it reaches: from the log
    before = facts_of(branch, one.old)
    if before is None:
        return []
    return [{**before, "month_end_s": int(end.timestamp())} for end in touched]


def _from_events(branch: str, new: DossierView, events: Sequence[Event]) -> list[dict[str, Any]]:
    until, start = _until(new), _start(events)
    if until is None or start is None:
        return []
    rows: list[dict[str, Any]] = []
    for end in month_ends(start, until):
        view = view_as_of(events, end)
        row = facts_of(branch, view) if view is not None else None
        if row is not None:
            rows.append({**row, "month_end_s": int(end.timestamp())})
    return rows


def _events_of(
    conn: Connection,
    branch: str,
    again: dict[str, Written],
    upto: int,
) -> dict[str, list[Event]]:
    """Every event of these dossiers up to the chunk: those given when they are all, else
    the log's (which holds the chunk's own events too)."""
    found = {d: list(w.added) for d, w in again.items() if w.whole}
    unread = [d for d in again if d not in found]
    if unread:
        found.update(logged_events(conn, branch, unread, upto))
    return found


def _first(events: Sequence[Event]) -> datetime:
    return min(fold.event_moment(e) for e in events)


def _start(events: Sequence[Event]) -> datetime | None:
    """The earliest moment the dossier can start from (a receipt, a submission, a
    transfer in): before it, there are no facts to keep."""
    return min((fold.event_moment(e) for e in events if fold.starts(e)), default=None)


def _until(view: DossierView) -> datetime | None:
    """Rows are kept for the month ends up to the dossier's last moment and never past
    the present: only a month that is over has a closed report (and an event dated in
    the far future, by a wrong clock or a hostile desk, must not write a row per month
    until then)."""
    last = _moment(view.last_at)
    return min(last, datetime.now(VIETNAM)) if last is not None else None


def _moment(text: str) -> datetime | None:
    try:
        return parse_moment(text) if text else None
    except ValueError:
        return None
