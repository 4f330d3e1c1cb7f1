"""Server-side projections: the desktops' fold, run by the server on each branch's log,
incrementally after every push, and again from scratch by ``rebuild`` — the same rows."""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, select

from core.domain.dossier import FOLD_VERSION, event_moment
from core.domain.events import Event
from core.domain.hlc import Timestamp
from core.domain.timeutil import VIETNAM, epoch_ms, parse_moment
from core.domain.workflow import Action, State
from core.reports.facts import view_as_of
from core.reports.ontime import ontime_report
from core.storage import schema as desk_schema
from sync_server import cli, closed_months, identity, ingest, projections
from sync_server import schema as t
from sync_server.console import accounts, stats
from sync_server.db import make_engine, migrate
from tests.sync.fixtures import SPECIALIST, Net, act, receive
from tests.sync.live import database, start_server

BRANCH = "PT"
# The clocks that record these events: after every moment the events carry (the fold sets
# aside a step dated more than a day after its clock, docs/security.md).
RECORDED_MS = epoch_ms(datetime(2026, 12, 4, 9, tzinfo=VIETNAM))


def rows(engine: Engine, branch: str | None = None) -> list[tuple[Any, ...]]:
    """The projection's rows once every push so far is folded (as a console page sees)."""
    projections.settle(engine)
    d = projections.dossiers
    query = select(d).order_by(d.c.branch, d.c.dossier_id)
    if branch:
        query = query.where(d.c.branch == branch)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def sync_all(net: Net) -> None:
    for _ in range(2):
        for desk in net.desktops:
            net.agent(desk).sync_once()


def test_server_folds_pushed_dossiers_as_the_desktops_do(net: Net) -> None:
    """GIVEN two desktops of a branch working on dossiers, one of them offline for a while
    WHEN they sync through the server
    THEN the server holds each dossier folded exactly as the desktops hold it (the same
    document), and a rebuild from the log gives the same rows."""
    branch = net.branch()
    a, b = net.desktop(branch), net.desktop(branch)
    first, second = receive(a), receive(a)
    act(a, first.code, Action.TRANSFER)
    sync_all(net)
    act(b, first.code, Action.START, SPECIALIST)  # b offline: a's later steps arrive first
    act(a, second.code, Action.TRANSFER)
    net.agent(a).sync_once()
    net.agent(b).sync_once()
    sync_all(net)
    with a.store.read() as conn:
        desk_docs = {r.id: r.doc for r in conn.execute(select(desk_schema.dossiers))}
    d = projections.dossiers.c
    projections.settle(net.engine)
    with net.engine.connect() as conn:
        server_docs = {
            r.dossier_id: r.doc for r in conn.execute(select(d.dossier_id, d.doc, d.branch))
        }
    assert server_docs == desk_docs
    before = rows(net.engine, branch)
    assert projections.rebuild(net.engine, branch)[branch] == net.server_events(branch)
    assert rows(net.engine, branch) == before
    state = {r[1]: r[10] for r in before}
    assert state[first.id] == State.PROCESSING.value


def test_rebuild_command_folds_every_branch_again(net: Net, tmp_path: Path) -> None:
    """GIVEN a server whose projection was lost (rows deleted)
    WHEN the admin runs `motcua-server rebuild`, then `rebuild --branch` for one branch
    THEN the rows are back as they were, and an unknown branch is refused."""
    branch = net.branch()
    desk = net.desktop(branch)
    receive(desk)
    net.agent(desk).sync_once()
    before = rows(net.engine)
    assert before
    with net.engine.begin() as conn:
        conn.execute(projections.dossiers.delete())
    data = ["--data-dir", str(net.server.settings.data_dir)]
    env = {"DATABASE_URL": net.server.settings.database_url}
    with _env(env):
        assert cli.main([*data, "rebuild"]) == 0
        assert rows(net.engine) == before
        assert cli.main([*data, "rebuild", "--branch", branch]) == 0
        assert cli.main([*data, "rebuild", "--branch", "NOPE"]) == 2
    assert rows(net.engine) == before


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    import os

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- the property: rebuild equals incremental --------------------------------------------------

DEVICES = ("dev-a", "dev-b", "dev-c")
STEPS = ("transfer", "start", "note", "edit", "submit", "approve", "reappoint", "bad", "attach")


def receipt(dossier: int) -> dict[str, Any]:
    return {
        "at": "2026-11-23T09:00:00+07:00",
        "code": f"{BRANCH}-261123-{dossier:04d}",
        "procedure": {
            "code": "HT-KS",
            "version": 1,
            "name": "Đăng ký khai sinh",
            "field": "civil_status",
            "unit": "working_days",
        },
        "applicant": {
            "full_name": f"Nguyễn Văn Ân {dossier}",
            "id_number": f"0010900{dossier:05d}",
            "phone": "0912345678",
        },
        "channel": "counter",
        "components": [{"key": "to-khai", "name": "Tờ khai", "supplied": True}],
        "due": {"due_at": "2026-11-26T09:00:00+07:00", "steps": []},
        "lookup_token": f"TOKEN{dossier:03d}",
    }


def step_payload(kind: str, n: int) -> tuple[str, dict[str, Any]]:
    # Days from 28 Nov to 3 Dec: a dossier's steps cross the end of November.
    day = datetime(2026, 11, 28, 10, n % 60, tzinfo=VIETNAM) + timedelta(days=n % 6)
    at = {"at": day.isoformat()}
    if kind == "note":
        return "dossier.note", {**at, "text": f"ghi chú {n}"}
    if kind == "edit":
        return "dossier.edit", {"field": "applicant.phone", "value": f"09{n:08d}"}
    if kind == "reappoint":
        return "dossier.reappoint", {**at, "due_at": "2026-12-01T09:00:00+07:00"}
    if kind == "bad":
        return "dossier.reappoint", at  # no due_at: the fold cannot apply it
    if kind == "attach":
        return "dossier.attach", {"component": "to-khai", "file": {"sha256": f"{n:064d}"}}
    return f"dossier.{kind}", {**at, "to": "minh"}


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Event], list[int], int]:
    """Events of a few dossiers from three devices (clocks skewed, some steps before
    their dossier's receipt reaches the server), the order they reach the log (each
    device's own order kept), how they are cut into pushes, and a fold chunk size."""
    dossiers = draw(st.integers(1, 4))
    made: list[tuple[str, str | None, str, dict[str, Any], int]] = []
    for d in range(dossiers):
        made.append((draw(st.sampled_from(DEVICES)), f"d{d}", "dossier.receive", receipt(d), 0))
        for n in range(draw(st.integers(0, 6))):
            kind, payload = step_payload(draw(st.sampled_from(STEPS)), n)
            offset = draw(st.integers(-2, 40))  # a step may carry an earlier clock
            made.append((draw(st.sampled_from(DEVICES)), f"d{d}", kind, payload, offset))
    if draw(st.booleans()):
        made.append(("dev-a", None, "branch.setting_set", {"name": "x", "value": "y"}, 1))
    per_device: dict[str, list[Event]] = {}
    for i, (device, dossier, kind, payload, offset) in enumerate(made):
        chain = per_device.setdefault(device, [])
        base = RECORDED_MS + 1000 * int(dossier[1:]) if dossier else RECORDED_MS
        chain.append(
            Event(
                event_id=f"e{i:03d}",
                dossier_id=dossier,
                branch=BRANCH,
                type=kind,
                payload=payload,
                actor="lan",
                origin_device=device,
                origin_seq=len(chain) + 1,
                hlc=Timestamp(base + 10 * offset, i).encode(),
                hash=f"{i:064x}",
                signature="c2ln",  # read back as a wire event by the reports
            )
        )
    queues = {d: list(evs) for d, evs in per_device.items()}
    order: list[Event] = []
    while any(queues.values()):
        device = draw(st.sampled_from(sorted(d for d, q in queues.items() if q)))
        order.append(queues[device].pop(0))
    cuts = draw(st.lists(st.integers(1, len(order)), max_size=5))
    return order, sorted(set(cuts)), draw(st.integers(1, 7))


def append(engine: Engine, events: list[Event]) -> None:
    with engine.begin() as conn:
        last = ingest.lock_scope(conn, BRANCH)
        conn.execute(
            insert(t.events),
            [
                {
                    "branch": BRANCH,
                    "server_seq": last + i,
                    "event_id": e.event_id,
                    "origin_device": e.origin_device,
                    "origin_seq": e.origin_seq,
                    "dossier_id": e.dossier_id,
                    "type": e.type,
                    "hlc": e.hlc,
                    "hash": e.hash,
                    "body": ingest.event_body(e),
                    "sealed": True,
                }
                for i, e in enumerate(events, start=1)
            ],
        )
        conn.execute(
            t.scopes.update().where(t.scopes.c.branch == BRANCH).values(last_seq=last + len(events))
        )


def facts_rows(engine: Engine) -> list[tuple[Any, ...]]:
    f = projections.facts
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(f).order_by(f.c.branch, f.c.dossier_id))]


def closed_rows(engine: Engine) -> list[tuple[Any, ...]]:
    c = projections.closed
    order = (c.c.branch, c.c.dossier_id, c.c.month_end_s)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(c).order_by(*order))]


def closed_by_definition(engine: Engine) -> list[tuple[Any, ...]]:
    """What ``dossier_facts_closed`` must hold: for each dossier and each month end from
    its first event's moment to its last folded one (or the present, if earlier), its
    facts folded from the events dated up to that end (``core.reports.facts_as_of``, as
    a report folds them)."""
    with engine.connect() as conn:
        logged = projections.logged_events(conn, BRANCH, _dossier_ids(conn), 10**9)
        views = projections.load_views(conn, BRANCH, list(logged))
    expected = []
    for dossier_id, events in logged.items():
        view = views.get(dossier_id)
        if view is None or not view.last_at:
            continue
        first = min(event_moment(e) for e in events)
        until = min(parse_moment(view.last_at), datetime.now(VIETNAM))
        for end in closed_months.month_ends(first, until):
            as_of = view_as_of(events, end)
            row = projections.facts_of(BRANCH, as_of) if as_of is not None else None
            if row is not None:
                expected.append(tuple({**row, "month_end_s": int(end.timestamp())}.values()))
    return sorted(expected, key=lambda r: (r[0], r[1], r[-1]))


def _dossier_ids(conn: Any) -> list[str]:
    return list(conn.execute(select(projections.dossiers.c.dossier_id)).scalars())


def fresh(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (
            t.events,
            projections.dossiers,
            projections.facts,
            projections.closed,
            projections.cursors,
        ):
            conn.execute(table.delete())
        conn.execute(t.scopes.update().values(last_seq=0))


CENTRE = accounts.Account("root", "", accounts.CENTRAL_ADMIN, ())
NOVEMBER = stats.Query("", date(2026, 11, 1), date(2026, 11, 30), "procedure")
LATER = datetime(2026, 12, 10, 9, tzinfo=VIETNAM)


def check_closed_month_report(engine: Engine) -> None:
    """November's report, read in December, counted in SQL with the month-end facts
    equals the report folded from every dossier's events, and the same with the
    month-end facts gone (each such dossier folded again from its events)."""
    with engine.connect() as conn:
        logged = projections.logged_events(conn, BRANCH, _dossier_ids(conn), 10**9)
    q = NOVEMBER
    expected = ontime_report(logged.values(), q.start, q.end, LATER, q.by).as_dict()
    assert stats.report(engine, CENTRE, q, LATER).as_dict() == expected
    with engine.begin() as conn:
        kept = [dict(r._mapping) for r in conn.execute(select(projections.closed))]
        conn.execute(projections.closed.delete())
    assert stats.report(engine, CENTRE, q, LATER).as_dict() == expected
    if kept:
        with engine.begin() as conn:
            conn.execute(insert(projections.closed), kept)


def check_rebuild_equals_incremental(engine: Engine, history: Any) -> None:
    order, cuts, chunk = history
    fresh(engine)
    start = 0
    for cut in [*cuts, len(order)]:
        if cut > start:
            append(engine, order[start:cut])
            projections.catch_up(engine, BRANCH, chunk)
            start = cut
    incremental, incremental_facts = rows(engine), facts_rows(engine)
    incremental_closed = closed_rows(engine)
    assert incremental_closed == closed_by_definition(engine)
    check_closed_month_report(engine)
    projections.rebuild(engine, BRANCH, chunk=random.choice([1, 3, 1000]))
    assert rows(engine) == incremental
    assert facts_rows(engine) == incremental_facts
    assert closed_rows(engine) == incremental_closed
    # The statistics' facts written afresh from the records (after an upgrade) are the same.
    with engine.begin() as conn:
        conn.execute(projections.cursors.update().values(facts_ready=False))
        conn.execute(projections.facts.delete())
    assert projections.backfill_facts(engine, chunk=random.choice([1, 1000])) == {
        BRANCH: len(incremental_facts)
    }
    assert facts_rows(engine) == incremental_facts
    with engine.connect() as conn:
        stored = [json.loads(r.doc)["code"] for r in conn.execute(select(projections.dossiers))]
    assert len(stored) == len(set(stored))


@contextmanager
def server_engine(backend: str) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as folder, database(backend, Path(folder)) as url:
        engine = make_engine(url)
        migrate(engine)
        identity.add_branch(engine, BRANCH, "Chi nhánh PT")
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.mark.parametrize(("backend", "examples"), [("sqlite", 150), pytest.param("postgresql", 40)])
def test_rebuild_equals_incremental(backend: str, examples: int) -> None:
    """GIVEN any history of a branch's dossiers (steps from several devices, clocks out of
    arrival order, creations arriving after their steps, a step the fold cannot apply)
    WHEN it reaches the log in any interleaving and any cut into pushes, folded after each
    THEN a rebuild from the log gives exactly the rows the incremental fold left."""
    with server_engine(backend) as engine:

        @given(history=histories())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        def run(history: Any) -> None:
            check_rebuild_equals_incremental(engine, history)

        run()


def test_events_dated_far_away_keep_month_end_rows_bounded() -> None:
    """GIVEN a dossier received on 23/11/2026 and notes a desk dated 01/01/0001 and
    31/12/9999 (a wrong clock, or a hostile desk: the moment's grammar allows both)
    WHEN they are folded THEN the month-end rows are only those between the receipt and
    the present (not one per month until the year 9999), and the report still equals the
    report folded from the events."""
    far = [("0001-01-01T08:00:00+07:00", 1), ("9999-12-31T08:00:00+07:00", 2)]
    events = [
        Event(
            event_id=f"f{n}",
            dossier_id="d0",
            branch=BRANCH,
            type=kind,
            payload=payload,
            actor="lan",
            origin_device="dev-a",
            origin_seq=n + 1,
            hlc=Timestamp(RECORDED_MS + n, 0).encode(),
            hash=f"{n:064x}",
            signature="c2ln",
        )
        for n, (kind, payload) in enumerate(
            [("dossier.receive", receipt(0))]
            + [("dossier.note", {"at": at, "text": f"ghi chú {i}"}) for at, i in far]
        )
    ]
    with server_engine("sqlite") as engine:
        fresh(engine)
        append(engine, events[:1])
        projections.catch_up(engine, BRANCH)
        append(engine, events[1:])
        projections.catch_up(engine, BRANCH)
        kept = closed_rows(engine)
        ends = closed_months.month_ends(
            datetime(2026, 11, 23, 9, tzinfo=VIETNAM), datetime.now(VIETNAM)
        )
        assert 1 <= len(kept) == len(ends) < 24
        assert kept == closed_by_definition(engine)
        check_closed_month_report(engine)


def test_pushes_are_folded_in_the_background_and_counted_once(net: Net) -> None:
    """GIVEN a desktop that pushes dossiers
    WHEN its push is answered
    THEN the server's folder folds them in the background: the branch's pending count
    falls to 0 without any reader asking, and the day's intake counts each event once —
    also after a reader settles again and after a rebuild."""

    branch = net.branch()
    desk = net.desktop(branch)
    receive(desk)
    receive(desk)
    net.agent(desk).sync_once()
    deadline = time.monotonic() + 30
    while projections.pending(net.engine, [branch]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert projections.pending(net.engine, [branch]) == {}
    assert len(rows(net.engine, branch)) == 2
    with net.engine.connect() as conn:  # the desk's own: the centre's events are not intake
        pushed = conn.execute(
            select(func.count())
            .select_from(t.events)
            .where(t.events.c.origin_device == desk.device_id)
        ).scalar_one()
    assert pushed >= 2

    def intake() -> int:
        d = projections.intake_days.c
        with net.engine.connect() as conn:
            return int(
                conn.execute(select(func.sum(d.events)).where(d.branch == branch)).scalar_one()
            )

    assert intake() == pushed
    assert projections.settle(net.engine, [branch]) == 0
    projections.rebuild(net.engine, branch)
    assert intake() == pushed
    assert len(rows(net.engine, branch)) == 2


def _intake(engine: Engine, branch: str) -> int:
    d = projections.intake_days.c
    with engine.connect() as conn:
        found = conn.execute(select(func.sum(d.events)).where(d.branch == branch)).scalar_one()
    return int(found or 0)


def _pushed_by(engine: Engine, device_id: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(t.events)
        return int(conn.execute(query.where(t.events.c.origin_device == device_id)).scalar_one())


def _edition(engine: Engine, branch: str) -> int:
    c = projections.cursors.c
    with engine.connect() as conn:
        return int(conn.execute(select(c.fold_version).where(c.branch == branch)).scalar_one())


def _unfolded_push(net: Net, branch: str) -> Any:
    """A desk of `branch` pushes a receipt the server's folder does not fold (stopped)."""
    net.server.app_server.folder.stop()  # type: ignore[attr-defined]
    desk = net.desktop(branch)
    view = receive(desk)
    net.agent(desk).sync_once()
    assert projections.pending(net.engine, [branch])
    return desk, view


def test_a_rebuild_counts_the_pushes_not_folded_yet_in_the_intake(net: Net) -> None:
    """GIVEN a desk's pushes the server has not folded yet (its folder stopped)
    WHEN the admin rebuilds the branch's projection
    THEN its dossier is folded and the day's intake counts each pushed event once: a
    rebuild folds them from 0, and before it they were never counted at all."""
    branch = net.branch()
    desk, view = _unfolded_push(net, branch)
    assert _intake(net.engine, branch) == 0
    projections.rebuild(net.engine, branch)
    assert _intake(net.engine, branch) == _pushed_by(net.engine, desk.device_id) > 0
    assert [r[1] for r in rows(net.engine, branch)] == [view.id]
    projections.rebuild(net.engine, branch)  # counted once
    assert _intake(net.engine, branch) == _pushed_by(net.engine, desk.device_id)


def test_the_server_folds_again_once_what_an_older_fold_made(net: Net) -> None:
    """GIVEN a branch folded by an older edition of the fold (its cursor's edition 0, as
    every branch after the upgrade to migration s0009; a record it folded otherwise than
    this fold does) and a push not folded yet
    WHEN a server process starts on that database
    THEN in the background it folds the branch again from its log: the records are this
    fold's, the edition is current, the intake counts every pushed event once; a branch
    already at this edition is left alone, and a later start does nothing."""
    branch, current = net.branch(), net.branch()
    early = net.desktop(branch)
    first = receive(early)
    net.agent(early).sync_once()
    net.desktop(current)
    settled = rows(net.engine)
    assert _edition(net.engine, branch) == _edition(net.engine, current) == FOLD_VERSION
    late, second = _unfolded_push(net, branch)
    d, c = projections.dossiers.c, projections.cursors.c
    with net.engine.begin() as conn:  # what an older fold left: another state
        altered = projections.dossiers.update().where(d.dossier_id == first.id)
        conn.execute(altered.values(state="x"))
        conn.execute(projections.cursors.update().where(c.branch == branch).values(fold_version=0))
    other = start_server(net.server.settings.data_dir, net.server.settings.database_url)
    try:
        deadline = time.monotonic() + 30
        while _edition(net.engine, branch) < FOLD_VERSION and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _edition(net.engine, branch) == FOLD_VERSION
        again = rows(net.engine)
        assert {r[1]: r[10] for r in again}[first.id] == State.RECEIVED.value
        assert [r for r in again if r[1] != second.id] == settled
        assert second.id in {r[1] for r in again}
        pushed = _pushed_by(net.engine, early.device_id) + _pushed_by(net.engine, late.device_id)
        assert _intake(net.engine, branch) == pushed
        assert projections.refold_outdated(net.engine) == {}
    finally:
        other.stop()
