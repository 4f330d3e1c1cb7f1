"""The statistics page's figures (Decision 766): ``core.reports.ontime_report`` over the
branches' event logs as the server holds them, the same pure function ``motcua stats``
runs on a desktop, so a branch's figures here equal its desktops' once they have synced.

Each dossier's history is read from the ``events`` table (the wire body →
``core.sync.wire.event_from_wire``). The exports (CSV, XLSX) carry every column of
``Stats.as_dict``, one row per group, then the overall row.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, case, func, or_, select, tuple_

from core.domain.dossier import DossierView
from core.domain.errors import N_, ValidationError
from core.domain.events import Event
from core.domain.timeutil import VIETNAM, iso
from core.reports import (
    GROUPS,
    Bucket,
    DossierFacts,
    OnTimeReport,
    OnTimeRules,
    ReportBuilder,
    Stats,
    Tally,
    as_of_moment,
    check_period,
    complete_as_of,
    facts_as_of,
    judge,
    readable_facts,
)
from core.reports.ontime import in_period
from core.storage.projection import view_from_json
from core.sync.wire import event_from_wire
from sync_server import closed_months, projections
from sync_server import schema as t

from .accounts import Account
from .reference import parse_day

log = logging.getLogger(__name__)
_IN = 500  # dossier ids per IN (...) list


@dataclass(frozen=True)
class Query:
    """What the page asks: the branches (all the account sees when empty), the period
    (first and last day, both included), the grouping."""

    branch: str
    first: date
    last: date
    by: str
    early_by_moment: bool = False

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), VIETNAM)

    @property
    def end(self) -> datetime:
        following = datetime.combine(self.last + timedelta(days=1), time(0), VIETNAM)
        return following - timedelta(seconds=1)

    @property
    def rules(self) -> OnTimeRules:
        return OnTimeRules(early_by_moment=self.early_by_moment)


def this_month(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def parse_query(params: Any, today: date, account: Account, known: list[str]) -> Query:
    """The page's query from its parameters; a ValidationError names what is wrong."""
    default_first, default_last = this_month(today)
    first = _day(params.get("from", ""), default_first)
    last = _day(params.get("to", ""), default_last)
    by = params.get("by", "") or "all"
    branch = params.get("branch", "")[:32]
    if by not in GROUPS:
        raise ValidationError(
            N_("Cannot group by {by}: use {choices}"), by=by[:32], choices=", ".join(GROUPS)
        )
    if last < first:
        raise ValidationError(N_("The period ends before it starts"))
    if last - first > timedelta(days=3 * 366):
        raise ValidationError(N_("Choose a period of at most three years"))
    if branch and (branch not in known or not account.sees(branch)):
        raise ValidationError(N_("You may not see branch {branch}."), branch=branch)
    return Query(branch, first, last, by, params.get("early") == "1")


def _day(text: str, default: date) -> date:
    return parse_day(text) if text.strip() else default


def branches_for(engine: Engine, account: Account, branch: str = "") -> list[str]:
    with engine.connect() as conn:
        codes = [r.code for r in conn.execute(select(t.branches.c.code).order_by("code"))]
    return [c for c in codes if account.sees(c) and (not branch or c == branch)]


# Stored moments are compared as text to narrow the read (as the desktops' reports do); a
# day's margin keeps a moment written with another offset in, and the facts decide.
_MARGIN = timedelta(days=1)


def _candidates(engine: Engine, branch: str, start: datetime, as_of: datetime) -> list[DossierView]:
    """The branch's dossiers that may count in the period: received by its moment and not
    ended before it began (by their records, folded from every event)."""
    d = projections.dossiers.c
    query = select(d.doc).where(
        d.branch == branch,
        d.received_at <= iso(as_of + _MARGIN),
        or_(d.end_at == "", d.end_at >= iso(start - _MARGIN)),
    )
    with engine.connect() as conn:
        return [view_from_json(doc) for doc in conn.execute(query).scalars()]


def histories(engine: Engine, branch: str, dossier_ids: Sequence[str]) -> list[list[Event]]:
    """The events of these dossiers of a branch, one list per dossier."""
    return histories_of(engine, [(branch, d) for d in dossier_ids])


def histories_of(engine: Engine, dossiers: Sequence[tuple[str, str]]) -> list[list[Event]]:
    """The events of these (branch, dossier id) pairs, one list per dossier: a few
    queries on one connection, whatever the number of branches."""
    e = t.events.c
    found: dict[tuple[str, str], list[Event]] = {}
    with engine.connect() as conn:
        for at in range(0, len(dossiers), _IN):
            pairs = tuple_(e.branch, e.dossier_id).in_(dossiers[at : at + _IN])
            rows = conn.execute(
                select(e.branch, e.dossier_id, e.body).where(pairs).order_by(e.server_seq)
            )
            for branch, dossier_id, body in rows:
                key = (branch, dossier_id)
                found.setdefault(key, []).append(event_from_wire(json.loads(body)))
    return list(found.values())


def facts(
    engine: Engine,
    account: Account,
    query: Query,
    now: datetime,
    only: Sequence[str] | None = None,
) -> tuple[list[DossierFacts], list[str]]:
    """The dossiers' facts as of the report's moment, and the branches read (`only`:
    these of them). A dossier with no event dated after that moment is read from its
    record; only the others are folded again from their events up to the moment
    (``core.reports.facts``)."""
    codes = branches_for(engine, account, query.branch)
    if only is not None:
        codes = [c for c in codes if c in only]
    as_of = as_of_moment(query.end, now)
    found: list[DossierFacts] = []
    for branch in codes:
        views = _candidates(engine, branch, query.start, as_of)
        readable = (readable_facts(v) for v in views if complete_as_of(v, as_of))
        found += [f for f in readable if f is not None]
        later = [v.id for v in views if not complete_as_of(v, as_of)]
        found += _folded_as_of(engine, branch, later, as_of) if later else []
    return found, codes


def report(
    engine: Engine,
    account: Account,
    query: Query,
    now: datetime,
    only: Sequence[str] | None = None,
) -> OnTimeReport:
    """The page's report (`only`: of these of the branches). Dossiers of a branch whose
    facts are stored and that had no event after the report's moment are counted in SQL,
    alike ones together (``projections.facts``); the others are read one by one, as
    ``facts`` does."""
    builder = ReportBuilder(query.start, query.end, now, query.by, query.rules)
    if builder.empty:
        return builder.build()
    codes = branches_for(engine, account, query.branch)
    if only is not None:
        wanted = set(only)
        codes = [c for c in codes if c in wanted]
    with engine.connect() as conn:
        ready = projections.facts_ready(conn, codes)
        everything = (
            not query.branch and only is None and account.every_branch and len(ready) == len(codes)
        )
        for group, tally, bucket, received, n in counted(conn, query, builder, ready, everything):
            builder.count(group, tally, bucket, received, n)
        later = _later(conn, query, builder.as_of, ready, everything)
    pairs = [(branch, d) for branch, ids in later.items() for d in ids]
    for one in _as_of(histories_of(engine, pairs) if pairs else [], builder.as_of):
        builder.add(one)
    if len(ready) < len(codes):
        not_ready = [c for c in codes if c not in ready]
        for d in facts(engine, account, query, now, not_ready)[0]:
            builder.add(d)
    return builder.build()


Counted = tuple[str, Tally, Bucket, bool, int]
WORK_MEM = "64MB"  # for the counting query only (its transaction)


def _where(
    query: Query,
    as_of: datetime,
    ready: set[str],
    everything: bool,
    table: Table = projections.facts,
) -> list[Any]:
    """Rows of ``dossier_facts`` (or of `table`, alike) received by the report's moment,
    of the branches asked for; with one of ``ENDED`` they are those that count in the
    period (``core.reports.in_period``)."""
    f = table.c
    conditions = [~f.refused, f.received_s <= int(as_of.timestamp())]
    if not everything:
        conditions.append(f.branch.in_(sorted(ready)))
    return conditions


def _ended(query: Query, table: Table = projections.facts) -> tuple[Any, Any]:
    """Still open, or ended since the period began: apart, so that each is one range of
    the index by end moment (an OR of the two would read the table scattered)."""
    f = table.c
    return f.ended_s.is_(None), f.ended_s >= int(query.start.timestamp())


def counted(
    conn: Connection, query: Query, builder: ReportBuilder, ready: set[str], everything: bool
) -> list[Counted]:
    """The complete dossiers of the period (no event after the report's moment), counted
    by group, column and everything their ``Tally`` holds; at a month's end, with the
    others' facts as of then (``closed_months``)."""
    if not ready:
        return []
    as_of_s = int(builder.as_of.timestamp())
    f = projections.facts
    found = _count(conn, query, builder, f, [*_where(query, builder.as_of, ready, everything),
                                              f.c.last_s <= as_of_s])  # fmt: skip
    if closed_months.is_month_end(builder.as_of):
        c = projections.closed
        where = [*_where(query, builder.as_of, ready, everything, c), c.c.month_end_s == as_of_s]
        found += _count(conn, query, builder, c, where)
    return found


def _count(
    conn: Connection, query: Query, builder: ReportBuilder, table: Table, where: list[Any]
) -> list[Counted]:
    f = table.c
    as_of_s = int(builder.as_of.timestamp())
    before = or_(f.switch_s.is_(None), f.switch_s >= as_of_s)
    if query.rules.early_by_moment:
        bucket = case((before, f.b_moment_before), else_=f.b_moment_after)
    else:
        bucket = case((before, f.b_before), else_=f.b_after)
    received = f.received_s >= int(query.start.timestamp())
    tally = [f[name] for name in projections.TALLY_COLUMNS]
    keys: list[Any] = [bucket, received, *tally]
    if query.by != "all":
        keys.insert(0, f[f"g_{query.by}"])
    if conn.dialect.name == "postgresql":  # hash the groups in memory, not sort on disk
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
    found: list[Counted] = []
    for ended in _ended(query, table):
        rows = conn.execute(select(*keys, func.count()).where(*where, ended).group_by(*keys))
        for row in rows:
            values = list(row)
            group = str(values.pop(0)) if query.by != "all" else "all"
            bucket_value, got, *tallied, n = values
            found.append((group, _tally(tallied), Bucket(bucket_value), bool(got), int(n)))
    return found


def _tally(values: list[Any]) -> Tally:
    named = dict(zip(projections.TALLY_COLUMNS, values, strict=True))
    return Tally(
        received_here=bool(named["received_here"]),
        processed_here=bool(named["processed_here"]),
        channel=str(named["channel"]),
        complaint=bool(named["complaint"]),
        rating=int(named["rating"]),
        has_result=bool(named["has_result"]),
        digitised=bool(named["digitised"]),
        payable=bool(named["payable"]),
        paid_online=bool(named["paid_online"]),
    )


def _later(
    conn: Connection, query: Query, as_of: datetime, ready: set[str], everything: bool
) -> dict[str, list[str]]:
    """Per branch, the dossiers of the period with events dated after the report's
    moment: their facts as of then are folded again from their events."""
    if not ready:
        return {}
    f = projections.facts.c
    as_of_s = int(as_of.timestamp())
    where = [*_where(query, as_of, ready, everything), f.last_s > as_of_s]
    if closed_months.is_month_end(as_of):  # those with their facts as of then are counted
        c = projections.closed.c
        kept = select(c.dossier_id).where(
            c.branch == f.branch, c.dossier_id == f.dossier_id, c.month_end_s == as_of_s
        )
        where.append(~kept.exists())
    found: dict[str, list[str]] = {}
    for ended in _ended(query):
        for branch, dossier_id in conn.execute(select(f.branch, f.dossier_id).where(*where, ended)):
            found.setdefault(branch, []).append(dossier_id)
    return found


def _folded_as_of(
    engine: Engine, branch: str, dossier_ids: list[str], as_of: datetime
) -> list[DossierFacts]:
    return _as_of(histories(engine, branch, dossier_ids), as_of)


def _as_of(histories: list[list[Event]], as_of: datetime) -> list[DossierFacts]:
    """Each dossier's facts as of `as_of`, folded from its events."""
    found: list[DossierFacts] = []
    for events in histories:
        try:
            one = facts_as_of(events, as_of)
        except Exception as err:  # one dossier that cannot be folded never stops the page
            log.warning("dossier %s left out of the report: %s", events[0].dossier_id, err)
            continue
        if one is not None:
            found.append(one)
    return found


@dataclass(frozen=True)
class Row:
    """One dossier of a drill-down: its facts and how it is counted."""

    facts: DossierFacts
    bucket: str
    received_in_period: bool


def drill(engine: Engine, account: Account, query: Query, group: str, now: datetime) -> list[Row]:
    """The dossiers the report counts in one group (``*``: every group)."""
    check_period(query.start, query.end, query.by)
    found, _codes = facts(engine, account, query, now)
    as_of = as_of_moment(query.end, now)
    key = GROUPS[query.by]
    rows = [
        Row(d, judge(d, as_of, query.rules).value, d.received_at >= query.start)
        for d in found
        if not as_of < query.start
        and in_period(d, query.start, as_of)
        and (group == "*" or key(d) == group)
    ]
    return sorted(rows, key=lambda r: (r.facts.received_at, r.facts.code), reverse=True)


# --- exports --------------------------------------------------------------------------------

_SKIP = ("channels",)


def _channels(doc: dict[str, object]) -> dict[str, int]:
    """The ``channels`` entry of ``Stats.as_dict()``: received dossiers per channel."""
    channels = doc["channels"]
    if not isinstance(channels, dict):
        raise TypeError(f"channels is {type(channels).__name__}, not a dict")
    return channels


def table(result: OnTimeReport) -> tuple[list[str], list[list[Any]]]:
    """The report as a header and rows: one per group, then ``overall``."""
    overall = result.overall.as_dict()
    every_channel = _channels(overall)
    channels = list(every_channel)
    columns = [k for k in overall if k not in _SKIP]
    header = ["group", *columns, *(f"channel_{c}" for c in channels)]
    rows: list[list[Any]] = []
    named = [*sorted(result.groups.items()), ("overall", result.overall)]
    for name, stats in named:
        doc = stats.as_dict()
        chan = _channels(doc)
        rows.append([name, *(doc[c] for c in columns), *(chan.get(c, 0) for c in channels)])
    return header, rows


def preamble(result: OnTimeReport, branches: list[str]) -> list[list[Any]]:
    return [
        ["from", result.period_start.date().isoformat()],
        ["to", result.period_end.date().isoformat()],
        ["as_of", result.as_of.isoformat()],
        ["by", result.group_by],
        ["branches", " ".join(branches)],
    ]


def as_csv(result: OnTimeReport, branches: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header, rows = table(result)
    writer.writerows(preamble(result, branches))
    writer.writerow([])
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# Display formats of the XLSX cells: the values stay numbers and dates, and the
# spreadsheet shows them with the reader's own separators (1.234,50 in Vietnamese).
XLSX_DAY = "dd/mm/yyyy"
XLSX_MOMENT = "dd/mm/yyyy hh:mm"
XLSX_RATE = "#,##0.00"
XLSX_COUNT = "#,##0"


def as_xlsx(result: OnTimeReport, branches: list[str]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]  # openpyxl ships no types

    book = Workbook()
    sheet = book.active
    sheet.title = "Decision 766"
    for line in _xlsx_preamble(result, branches):
        sheet.append(line)
    sheet["B1"].number_format = sheet["B2"].number_format = XLSX_DAY
    sheet["B3"].number_format = XLSX_MOMENT
    sheet.append([])
    header, rows = table(result)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
        for cell, column in zip(sheet[sheet.max_row][1:], header[1:], strict=True):
            cell.number_format = XLSX_RATE if _is_rate(column) else XLSX_COUNT
    sheet.column_dimensions["A"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _is_rate(column: str) -> bool:
    return column.endswith("_rate") or column == "satisfaction"


def _xlsx_preamble(result: OnTimeReport, branches: list[str]) -> list[list[Any]]:
    """The CSV's preamble with real dates (a spreadsheet cell keeps no time zone: the
    moment is written as Vietnam's wall clock)."""
    lines = preamble(result, branches)
    lines[0][1] = result.period_start.date()
    lines[1][1] = result.period_end.date()
    lines[2][1] = result.as_of.astimezone(VIETNAM).replace(tzinfo=None, microsecond=0)
    return lines


def read_csv(text: str) -> dict[str, dict[str, str]]:
    """A CSV export read back: group → column → value (the tests compare with this)."""
    lines = text.split("\n\n", 1)[1]
    return {row["group"]: row for row in csv.DictReader(io.StringIO(lines))}


# --- the chart ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    name: str
    total: int
    on_time: float  # % of the judged
    late: float
    y: int
    on_time_w: float
    late_w: float


CHART_WIDTH = 360  # the bar area, in SVG units


GROUP_ROWS = 100  # rows of the groups' table per page (the exports have them all)


@dataclass(frozen=True)
class GroupPage:
    """One page of the groups' table: its rows, and the rows in all."""

    rows: list[tuple[str, Stats]]
    page: int
    pages: int
    first: int  # 1-based number of its first row
    total: int


def group_page(result: OnTimeReport, page: int, size: int = GROUP_ROWS) -> GroupPage:
    ordered = sorted(result.groups.items())
    pages = max(1, -(-len(ordered) // size))
    page = min(max(page, 1), pages)
    start = (page - 1) * size
    return GroupPage(ordered[start : start + size], page, pages, start + 1, len(ordered))


def bars(result: OnTimeReport, limit: int = 30) -> list[Bar]:
    """One bar per group (the busiest first): on-time and late shares of the judged."""
    ordered = sorted(result.groups.items(), key=lambda kv: (-kv[1].total, kv[0]))[:limit]
    found = []
    for index, (name, s) in enumerate(ordered):
        on_time = s.on_time_rate if s.judged else 0.0
        late = s.late_rate
        found.append(
            Bar(
                name,
                s.total,
                round(on_time, 1),
                round(late, 1),
                index * 28,
                round(CHART_WIDTH * on_time / 100, 1),
                round(CHART_WIDTH * late / 100, 1),
            )
        )
    return found
