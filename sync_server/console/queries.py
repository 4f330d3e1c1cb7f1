"""What the console's pages read: the overview of branches and devices, the dossier
search across branches, one dossier with its timeline, and the citizens' lookup. Every
query is limited to the branches the account may see."""

from __future__ import annotations

import hmac
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, true

from core.domain.codes import looks_like_code
from core.domain.dossier import DossierView
from core.domain.events import Event, sort_for_fold
from core.domain.text import digits, words
from core.domain.timeutil import VIETNAM, from_epoch_ms, iso, parse_moment
from core.storage.projection import view_from_json
from sync_server import blobstore, projections
from sync_server import schema as t

from .accounts import Account
from .tables import device_seen

SILENT = timedelta(hours=24)
DISK_FREE_RATIO = 0.10  # below a tenth free, or …
DISK_FREE_BYTES = 2 << 30  # … below 2 GiB free: nearly full
SEARCH_LIMIT = 50
DiskUsage = Callable[[Path], Any]


@dataclass
class DeviceLine:
    device_id: str
    label: str
    enrolled_at: str
    seen_at: str
    protocol: int | None
    revoked: bool
    flagged: str
    silent: bool
    events: int


@dataclass
class BranchLine:
    code: str
    name: str
    events_today: int
    dossiers_month: int
    devices: list[DeviceLine] = field(default_factory=list)
    conflicts: int = 0  # dossiers in conflict now
    on_time_rate: float | None = None  # this month, None when nothing was judged

    @property
    def alerts(self) -> int:
        return sum(1 for d in self.devices if d.silent or d.revoked or d.flagged)


@dataclass
class Disk:
    total: int
    free: int

    @property
    def nearly_full(self) -> bool:
        return self.free < DISK_FREE_BYTES or self.free < self.total * DISK_FREE_RATIO

    @property
    def free_gib(self) -> float:
        return round(self.free / (1 << 30), 1)

    @property
    def free_percent(self) -> int:
        return round(100 * self.free / self.total) if self.total else 0


def now() -> datetime:
    return datetime.now(VIETNAM)


def month_bounds(today: date) -> tuple[str, str]:
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first.isoformat(), following.isoformat()


def branch_names(engine: Engine, account: Account) -> list[tuple[str, str]]:
    """The branches the account sees, by code: (code, name)."""
    b = t.branches.c
    query = select(b.code, b.name).order_by(b.code)
    if not account.every_branch:
        query = query.where(b.code.in_(account.branches))
    with engine.connect() as conn:
        return [(r.code, r.name) for r in conn.execute(query)]


PAGE_SIZE = 50  # branches per overview page


@dataclass
class Overview:
    """One page of the overview: its branches (those needing attention first), how many
    branches match in all, how many of them need attention, and the page's place."""

    lines: list[BranchLine]
    matching: int
    attention: int
    page: int
    pages: int


def overview(
    engine: Engine,
    account: Account,
    moment: datetime | None = None,
    *,
    page: int = 1,
    search: str = "",
    size: int = PAGE_SIZE,
) -> Overview:
    """The branches the account sees whose code or name holds `search`, with their
    devices; those with a device needing attention first, then by code; the figures of
    the `page`-th `size` of them."""
    moment = moment or now()
    with engine.connect() as conn:
        lines = _branch_lines(conn, account, search)
        _add_devices(conn, lines, moment)
    ordered = sorted(lines.values(), key=lambda b: (b.alerts == 0, b.code))
    pages = max(1, -(-len(ordered) // size))
    page = min(max(page, 1), pages)
    shown = {b.code: b for b in ordered[(page - 1) * size : page * size]}
    with engine.connect() as conn:
        _add_figures(conn, shown, moment)
    for branch, rate in month_rates(engine, account, moment, list(shown)).items():
        shown[branch].on_time_rate = rate
    attention = sum(1 for b in ordered if b.alerts)
    return Overview(list(shown.values()), len(ordered), attention, page, pages)


def _branch_lines(conn: Connection, account: Account, search: str) -> dict[str, BranchLine]:
    b = t.branches.c
    query = select(b.code, b.name).order_by(b.code)
    if not account.every_branch:
        query = query.where(b.code.in_(account.branches))
    wanted = words(search)
    lines: dict[str, BranchLine] = {}
    for r in conn.execute(query):
        if all(w in " ".join(words(f"{r.code} {r.name}")) for w in wanted):
            lines[r.code] = BranchLine(r.code, r.name, 0, 0)
    return lines


def _add_devices(conn: Connection, lines: dict[str, BranchLine], moment: datetime) -> None:
    seen = {r.device_id: r for r in conn.execute(select(device_seen))}
    heads = {
        r.device_id: int(r.last_seq)
        for r in conn.execute(select(t.heads.c.device_id, t.heads.c.last_seq))
    }
    for r in conn.execute(select(t.devices).order_by(t.devices.c.enrolled_at)):
        if r.branch in lines:
            lines[r.branch].devices.append(_device(r, seen.get(r.device_id), heads, moment))


def _add_figures(conn: Connection, lines: dict[str, BranchLine], moment: datetime) -> None:
    """Events today, dossiers this month and conflicts of these branches."""
    codes = list(lines)
    start, end = month_bounds(moment.date())
    d, days = projections.dossiers.c, projections.intake_days.c
    today = select(days.branch, days.events).where(
        days.day == moment.date().isoformat(), days.branch.in_(codes)
    )
    for branch, events in conn.execute(today):
        lines[branch].events_today = int(events)
    month = (
        select(d.branch, func.count())
        .where(d.branch.in_(codes), d.received_at >= start, d.received_at < end)
        .group_by(d.branch)
    )
    for branch, count in conn.execute(month):
        lines[branch].dossiers_month = int(count)
    conflicts = (
        select(d.branch, func.count()).where(d.conflict, d.branch.in_(codes)).group_by(d.branch)
    )
    for branch, count in conn.execute(conflicts):
        lines[branch].conflicts = int(count)


def month_rates(
    engine: Engine, account: Account, moment: datetime, codes: Sequence[str]
) -> dict[str, float]:
    """The on-time rate this month (Decision 766) of these branches, where something was
    judged."""
    from .stats import Query, report, this_month

    first, last = this_month(moment.astimezone(VIETNAM).date())
    figures = report(engine, account, Query("", first, last, "branch"), moment, codes)
    return {code: s.on_time_rate for code, s in figures.groups.items() if s.judged}


def _device(row: Any, seen: Any, heads: dict[str, int], moment: datetime) -> DeviceLine:
    seen_at = seen.seen_at if seen is not None else ""
    last = parse_moment(seen_at or row.enrolled_at)
    return DeviceLine(
        device_id=row.device_id,
        label=row.label,
        enrolled_at=row.enrolled_at,
        seen_at=seen_at,
        protocol=seen.protocol if seen is not None else None,
        revoked=bool(row.revoked),
        flagged=row.flagged,
        silent=not row.revoked and moment - last > SILENT,
        events=heads.get(row.device_id, 0),
    )


def disk(data_dir: Path, usage: DiskUsage = shutil.disk_usage) -> Disk:
    measured = usage(data_dir)
    return Disk(total=int(measured.total), free=int(measured.free))


# --- dossiers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    branch: str
    dossier_id: str
    code: str
    applicant_name: str
    procedure_name: str
    state: str
    received_at: str
    due_at: str
    conflict: bool


def _visible(account: Account, branch: str) -> Any:
    d = projections.dossiers.c
    conditions: list[Any] = []
    if not account.every_branch:
        conditions.append(d.branch.in_(account.branches))
    if branch:
        conditions.append(d.branch == branch)
    return and_(true(), *conditions)


def _matching(query: str) -> Any:
    """Code, citizen ID or phone exactly (indexed), else every folded word of the name,
    code or numbers (no diacritics: 'nguyen van an' finds 'Nguyễn Văn An')."""
    d = projections.dossiers.c
    text = query.strip()
    if looks_like_code(text.upper()):
        return d.code == text.upper()
    number = digits(text)
    if number and len(number) >= 9 and len(number) == len(re.sub(r"[\s.+-]", "", text)):
        return or_(d.id_number == number, d.phone == number)
    terms = words(text)[:8]
    if not terms:
        return None
    return and_(*(d.search.like(f"%{term}%") for term in terms))


def search(engine: Engine, account: Account, query: str, branch: str = "") -> list[Found]:
    d = projections.dossiers.c
    statement = select(
        d.branch,
        d.dossier_id,
        d.code,
        d.applicant_name,
        d.procedure_name,
        d.state,
        d.received_at,
        d.due_at,
        d.conflict,
    ).where(_visible(account, branch))
    if query.strip():
        matching = _matching(query)
        if matching is None:
            return []
        statement = statement.where(matching)
    statement = statement.order_by(d.received_at.desc(), d.code).limit(SEARCH_LIMIT)
    with engine.connect() as conn:
        return [Found(*r) for r in conn.execute(statement)]


@dataclass(frozen=True)
class Step:
    at: str
    type: str
    actor: str
    device: str
    detail: str


@dataclass(frozen=True)
class Scan:
    """A file attached to the dossier; ``held``: the server has its bytes for the branch."""

    component: str
    name: str
    sha256: str
    pages: int
    held: bool


@dataclass(frozen=True)
class ControlRow:
    """One row of the control slip (form 06), judged against the dossier's deadline."""

    action: str
    at: str
    giver: str
    receiver: str
    result: str  # "early", "on-time", "late"


@dataclass(frozen=True)
class Detail:
    view: DossierView
    steps: list[Step]
    scans: list[Scan]
    control: list[ControlRow]


def dossier(engine: Engine, account: Account, branch: str, dossier_id: str) -> Detail | None:
    """A dossier of a branch the account sees: its record, timeline, files and control
    slip; None when there is none (or the account may not see it)."""
    if not account.sees(branch):
        return None
    d = projections.dossiers.c
    e = t.events.c
    with engine.connect() as conn:
        doc = conn.execute(
            select(d.doc).where(d.branch == branch, d.dossier_id == dossier_id)
        ).scalar_one_or_none()
        if doc is None:
            return None
        bodies = conn.execute(
            select(e.body).where(e.branch == branch, e.dossier_id == dossier_id)
        ).scalars()
        events = sort_for_fold([projections.event_of(b) for b in bodies])
        labels = {
            r.device_id: r.label
            for r in conn.execute(select(t.devices.c.device_id, t.devices.c.label))
        }
    view = view_from_json(doc)
    steps = [_step(ev, labels) for ev in events]
    return Detail(view, steps, _scans(engine, branch, events), control_rows(view))


def _scans(engine: Engine, branch: str, events: list[Event]) -> list[Scan]:
    found: list[Scan] = []
    for event in events:
        file = event.payload.get("file") if event.type == "dossier.attach" else None
        if not isinstance(file, dict) or not isinstance(file.get("sha256"), str):
            continue
        sha = str(file["sha256"])
        name = str(file.get("name") or f"{sha[:12]}.pdf")
        pages = file.get("pages") if isinstance(file.get("pages"), int) else 0
        component = str(event.payload.get("component", ""))
        held = blobstore.readable_by(engine, branch, sha)
        found.append(Scan(component, name, sha, int(pages or 0), held))
    return found


def attached(engine: Engine, account: Account, branch: str, dossier_id: str, sha: str) -> bool:
    """Whether `sha` is a file of this dossier, which the account may see."""
    found = dossier(engine, account, branch, dossier_id)
    return found is not None and any(s.sha256 == sha and s.held for s in found.scans)


def control_rows(view: DossierView) -> list[ControlRow]:
    """The receipt, then each hand-over (form 06's rows), judged against the deadline the
    dossier is judged on (a re-appointment does not move it)."""
    deadline = parse_moment(view.deadline)

    def judged(at: str) -> str:
        moment = parse_moment(at)
        if moment > deadline:
            return "late"
        return "early" if moment.date() < deadline.date() else "on-time"

    rows = [ControlRow("receive", view.received_at, "", view.received_by, judged(view.received_at))]
    for h in view.handovers:
        if h.action in ("receive", "resolve", "reappoint"):
            continue
        rows.append(ControlRow(h.action, h.at, h.giver, h.receiver, judged(h.at)))
    return rows


def _step(event: Event, labels: dict[str, str]) -> Step:
    p = event.payload
    at = p.get("at") if isinstance(p.get("at"), str) else ""
    if not at:
        at = iso(from_epoch_ms(event.timestamp.wall_ms))
    detail = next((str(p[k]) for k in ("note", "text", "to", "value", "due_at") if p.get(k)), "")
    return Step(at, event.type, event.actor, labels.get(event.origin_device, ""), detail[:300])


# --- the citizens' lookup ------------------------------------------------------------------


def for_citizen(engine: Engine, code: str, secret: str) -> DossierView | None:
    """The dossier with this code whose slip token, or applicant's citizen ID, is
    `secret`; None otherwise — the same work whether the code exists or not."""
    d = projections.dossiers.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.lookup_token, d.id_number, d.doc).where(d.code == code).limit(4)
        ).all()
    wanted = secret.encode()
    found = None
    candidates: list[tuple[str, str, str | None]] = [(r[0], r[1], r[2]) for r in rows]
    for token, id_number, doc in candidates or [("-" * 8, "-" * 12, None)]:
        token_ok = hmac.compare_digest(token.upper().encode(), wanted)
        id_ok = hmac.compare_digest(id_number.encode(), wanted)
        if (token_ok or id_ok) and doc is not None:
            found = doc
    return view_from_json(found) if found is not None else None
