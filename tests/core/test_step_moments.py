"""The bounds the fold sets on the moments an event carries (core/domain/step_moments.py):
whatever an honest desk computes falls within them, whatever the calendar; moments no
honest desk could write fall outside. The attacks themselves, through the real server
and desks, are in tests/server/test_dates_clocks_forks.py."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain import dossier as fold
from core.domain.calendar import DayKind, Override, WorkCalendar
from core.domain.catalogue import ProcessingUnit
from core.domain.due import compute_due, resume_after_wait
from core.domain.errors import TransitionRefused, ValidationError
from core.domain.events import Event
from core.domain.hlc import Timestamp
from core.domain.ids import new_uuid7
from core.domain.step_moments import HORIZON, check_entry_appointment, check_entry_moment
from core.domain.timeutil import VIETNAM, epoch_ms, iso, parse_moment, to_vietnam
from core.domain.transfers import snapshot
from core.domain.workflow import State
from core.services.branch import Branch
from core.services.online import SUBMITTED, OnlineService
from core.storage import event_store, projection
from sync_server.projections import fold_guarded as server_fold

from .conftest import FrozenClock, World

PLAIN = WorkCalendar()
# Offices closed for eight weeks, declared ahead (as in the 2021 lockdowns).
CLOSED = WorkCalendar.with_overrides(
    Override(date(2026, 7, 1) + timedelta(days=n), DayKind.HOLIDAY, "giãn cách xã hội")
    for n in range(56)
)


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from([PLAIN, CLOSED]),
    unit=st.sampled_from(list(ProcessingUnit)),
    amount=st.integers(1, 45),
    received=st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 1)),
    pause_start=st.timedeltas(timedelta(0), timedelta(days=40)),
    pause_length=st.timedeltas(timedelta(0), timedelta(days=200)),
)
def test_what_an_honest_desk_computes_after_a_wait_is_within_measure(
    calendar: WorkCalendar,
    unit: ProcessingUnit,
    amount: int,
    received: datetime,
    pause_start: timedelta,
    pause_length: timedelta,
) -> None:
    """GIVEN any procedure, receipt and wait, on a plain calendar or one with a long
    closure WHEN the wait ends THEN each appointment moves within the fold's bound."""
    due = compute_due(calendar, received.replace(tzinfo=VIETNAM), amount, unit)
    paused = due.due_at - timedelta(days=5) + pause_start
    resumed = paused + pause_length
    after = resume_after_wait(
        calendar,
        unit,
        due=due.due_at,
        deadline=due.due_at,
        nominal=due.nominal,
        paused_from=paused,
        resumed_at=resumed,
    )
    assert after.deadline_at >= due.due_at and after.due_at >= due.due_at  # never shorter
    for appointment in (after.due_at, after.deadline_at, after.nominal):
        assert appointment is None or appointment <= resumed + HORIZON


@pytest.mark.parametrize("change", ["closure lifted", "make-up Saturday"])
def test_a_wait_never_shortens_the_time_when_the_calendar_changed(
    world: World, change: str
) -> None:
    """GIVEN a calendar-day procedure (XD-GPNO, 15 days) whose promised day fell on a day
    off, so that its deadline moved to the next working day, and a calendar changed
    since (the closure lifted, or that Saturday made a working day)
    WHEN the citizen brings a supplement the day it was asked for
    THEN the wait ends, and the deadline stays (it was settled earlier from the promised
    day on today's calendar, and a desk's own step was refused)."""
    admin, branch = world.users["admin"], world.branch
    if change == "closure lifted":
        closed = (date(2026, 12, 10), date(2026, 12, 11))
        for day in closed:
            branch.admin.set_override(admin, day, "holiday", "đóng cửa (quyết định 1)")
        world.clock.set("2026-11-25T09:00")  # 15 days on: Thursday 10/12, closed
    else:
        world.clock.set("2026-11-27T09:00")  # 15 days on: Saturday 12/12
    view = world.receive("XD-GPNO")
    assert view.deadline == "2026-12-14T17:00:00+07:00"
    if change == "closure lifted":
        for day in closed:
            branch.admin.remove_override(admin, day, "quyết định 2: mở cửa lại")
    else:
        branch.admin.set_override(admin, date(2026, 12, 12), "workday", "làm bù")
    world.clock.set("2026-11-30T09:00")
    world.act("lan", view.code, "request-supplement", note="thiếu bản vẽ")
    world.clock.set("2026-11-30T15:00")
    resumed = world.act("lan", view.code, "supplement")
    assert resumed.deadline == view.deadline and not resumed.paused_since


@pytest.mark.parametrize(
    ("entered", "taken"),
    [("2026-12-04T09:00", True), ("2026-12-04T09:05", True), ("2026-12-04T09:06", False)],
)
def test_a_clerk_cannot_enter_a_moment_ahead_of_the_desks_clock(entered: str, taken: bool) -> None:
    now = parse_moment("2026-12-04T09:00")
    if taken:
        check_entry_moment(parse_moment(entered), now)
    else:
        with pytest.raises(ValidationError, match="in the future"):
            check_entry_moment(parse_moment(entered), now)


def test_a_clerk_cannot_enter_a_moment_or_an_appointment_beyond_two_years() -> None:
    now = parse_moment("2026-12-04T09:00")
    check_entry_moment(parse_moment("2025-01-04T09:00"), now)
    with pytest.raises(ValidationError, match="more than two years ago"):
        check_entry_moment(parse_moment("2024-12-01T09:00"), now)
    check_entry_appointment(parse_moment("2028-11-30T09:00"), now)
    with pytest.raises(ValidationError, match="more than two years ahead"):
        check_entry_appointment(parse_moment("9998-12-31T09:00"), now)


# --- found by the second review (each failed before its fix) ----------------------------

NOW = parse_moment("2026-12-04T09:00")


def _event(type_: str, payload: dict[str, Any], dossier: str, minutes: int, **more: Any) -> Event:
    """An event recorded `minutes` after NOW (its clock: the moment it was recorded)."""
    stamp = Timestamp(epoch_ms(NOW + timedelta(minutes=minutes)), 0).encode()
    base = Event(new_uuid7(), dossier, "UA", type_, payload, "lan", "desk-a", 1, stamp, ())
    return replace(base, **more)


def _receipt(**due: str) -> dict[str, Any]:
    return {
        "at": iso(NOW),
        "code": "UA-261204-0001",
        "procedure": {"code": "HT-XNHN", "version": 1, "name": "x", "field": "civil_status"},
        "applicant": {"full_name": "Nguyễn Văn An"},
        "components": [],
        "due": {"due_at": "2026-12-09T09:00:00+07:00", "steps": [], **due},
        "lookup_token": "t",
    }


def test_a_promised_day_after_its_appointment_is_set_aside() -> None:
    """The appointment is the promised day or the working day after it: a receipt whose
    hidden promised day lies later (a wait's end counts from it) is refused."""
    honest = _event("dossier.receive", _receipt(nominal_at="2026-12-08T17:00:00+07:00"), "d", 0)
    assert fold.apply(None, honest).extra["nominal"] == "2026-12-08T17:00:00+07:00"
    poisoned = _event("dossier.receive", _receipt(nominal_at="2027-06-01T17:00:00+07:00"), "d", 0)
    with pytest.raises(TransitionRefused, match="promised day"):
        fold.apply(None, poisoned)


def test_an_appointment_near_the_horizon_does_not_hold_an_honest_wait(world: World) -> None:
    """GIVEN a calendar-day dossier whose appointment another desk put an hour short of
    the two years the fold allows (within the bound)
    WHEN the citizen brings a supplement the day it was asked for
    THEN the honest desk records it (the deadline its calendar computes, that day's
    closing, would lie past the bound: it is kept within it), where every attempt was
    refused until the clock had moved on by days."""
    honest = world.receive("XD-GPNO")
    first = dict(world.branch.dossiers.events(honest.code)[0].payload)
    edge = iso(parse_moment(honest.received_at) + HORIZON - timedelta(hours=1))
    first.update(
        code=honest.code[:-1] + "9", due={**first["due"], "due_at": edge, "nominal_at": edge}
    )

    def receive(conn: Any) -> Any:
        return world.branch.append(conn, new_uuid7(), "lan", "dossier.receive", first)[1]

    view = world.branch.store.write(receive)
    world.act("lan", view.code, "request-supplement", note="thiếu bản vẽ")
    resumed = world.act("lan", view.code, "supplement")
    assert not resumed.paused_since and resumed.deadline >= view.deadline


@pytest.mark.parametrize("end", ["1912-01-02T09:00:00+07:00", "9998-12-30T09:00:00+07:00"])
def test_an_end_another_unit_reports_far_from_the_dossiers_time_is_set_aside(end: str) -> None:
    """A unit's desk sends a dossier back, or another unit's reply is taken back, with
    the dossier ended in 1912 (out of every period) or 9998 (in progress for ever): set
    aside. The same with honest moments is taken."""
    received = fold.apply(None, _event("dossier.receive", _receipt(), "a", 0))
    out = _event(
        "dossier.send-out",
        {
            "at": iso(NOW + timedelta(minutes=5)),
            "to_branch": "UB",
            "return_at": "origin",
            "snapshot": snapshot(received),
        },
        "a",
        5,
        parents=received.heads,
    )
    sent = fold.apply(received, out)
    offer = {
        "event_id": out.event_id,
        "dossier_id": "a",
        "branch": "UA",
        "actor": "lan",
        "payload": dict(out.payload),
    }
    taken_in = _event(
        "dossier.transfer-in",
        {"at": iso(NOW + timedelta(minutes=10)), "offer": offer, "enrolment": {}},
        "b",
        10,
        branch="UB",
    )
    there = fold.apply(None, taken_in)
    for moment, refused in ((iso(NOW + timedelta(minutes=15)), False), (end, True)):
        back = _event(
            "dossier.send-back",
            {
                "at": iso(NOW + timedelta(minutes=20)),
                "to_branch": "UA",
                "origin_dossier": "a",
                "outcome": "finished",
                "end_at": moment,
                "note": "",
            },
            "b",
            20,
            branch="UB",
            parents=there.heads,
        )
        reply = {
            "event_id": back.event_id,
            "branch": "UB",
            "actor": "lan",
            "dossier_id": "b",
            "payload": {**back.payload},
        }
        take = _event(
            "dossier.take-back",
            {"at": iso(NOW + timedelta(minutes=40)), "reply": reply, "enrolment": {}},
            "a",
            40,
            parents=sent.heads,
        )
        for view, event in ((there, back), (sent, take)):
            if refused:
                with pytest.raises(TransitionRefused, match="other unit"):
                    fold.apply(view, event)
            else:
                assert fold.apply(view, event).end_at == moment


def _arrive(branch: Branch, dossier: str, *events: Event) -> Any:
    """Events reaching a desk from elsewhere, folded as a pull folds them."""

    def work(conn: Any) -> Any:
        for event in events:
            event_store.insert_event(conn, event)
        projection.apply_dossier_batch(conn, {dossier: list(events)}, logged=True)
        return projection.load_view(conn, dossier)

    return branch.store.write(work)


def _from(
    world: World,
    dossier: str,
    type_: str,
    payload: dict[str, Any],
    device: str,
    wall: datetime,
    parents: tuple[str, ...] = (),
) -> Event:
    """An event another desk of the world's branch recorded at `wall` (its clock)."""
    stamp = Timestamp(epoch_ms(wall), 0).encode()
    branch = world.branch.branch_code
    return Event(new_uuid7(), dossier, branch, type_, payload, "lan", device, 1, stamp, parents)


def _submitted(world: World, moment: datetime) -> dict[str, Any]:
    """An online submission's payload at `moment`: a counter receipt's, its code changed."""
    base = dict(world.branch.dossiers.events(world.receive().code)[0].payload)
    return {**base, "code": base["code"][:-1] + "7", "channel": "online", "at": iso(moment)}


def test_an_online_receipt_is_judged_alike_whether_it_arrives_first_or_second(
    world: World,
) -> None:
    """GIVEN an online submission and a receipt of it whose appointment lies before the
    receipt (between the submission and the receipt)
    WHEN a desk gets the receipt before the submission, and the centre folds both
    THEN both set the receipt aside: a desk never folds an event again once set aside, so
    a check a start passes and a step fails (or the reverse) would part the desks."""
    now = to_vietnam(world.clock())
    dossier, submitted = new_uuid7(), _submitted(world, now - timedelta(days=3))
    submitted["due"] = {**submitted["due"], "due_at": iso(now + timedelta(days=2))}
    submission = _from(world, dossier, SUBMITTED, submitted, "desk-x", now)
    due = {"due_at": iso(now - timedelta(days=2)), "steps": []}
    receipt = _from(
        world,
        dossier,
        "dossier.receive",
        {**submitted, "at": iso(now), "due": due},
        "desk-y",
        now + timedelta(hours=1),
        (submission.event_id,),
    )
    assert server_fold([receipt, submission]).state is State.SUBMITTED

    _arrive(world.branch, dossier, receipt)
    assert _arrive(world.branch, dossier, submission).state is State.SUBMITTED


# --- found by the third review (each failed before its fix) -----------------------------


def test_a_step_after_an_online_receipt_folds_alike_whatever_arrives_first(
    world: World, template_store: Path, tmp_path: Path
) -> None:
    """GIVEN an online dossier submitted four days ago, received now, and a supplement
    asked two days ago (entered from paper: after the submission, so the desk takes it)
    WHEN another desk gets the receipt and the step before the submission
    THEN it folds the record the centre folds: it waits for the submission (the record
    began then), where it began the record at the receipt and set the step aside for good."""
    now = to_vietnam(world.clock())
    dossier, submitted = new_uuid7(), _submitted(world, now - timedelta(days=4))
    submission = _from(world, dossier, SUBMITTED, submitted, "desk-x", now - timedelta(hours=1))
    _arrive(world.branch, dossier, submission)
    OnlineService(world.branch).receive(world.users["lan"], submitted["code"])
    world.act(
        "lan",
        submitted["code"],
        "request-supplement",
        at=iso(now - timedelta(days=2)),
        note="thiếu giấy tờ",
    )
    events = world.branch.dossiers.events(submitted["code"])
    centre = server_fold(events)
    assert centre is not None and centre.state is State.SUPPLEMENT_REQUESTED

    shutil.copytree(template_store, tmp_path / "other")
    other = Branch.open(tmp_path / "other", clock=FrozenClock(iso(now)))
    try:
        assert _arrive(other, dossier, *events[1:]) is None  # waits for the submission
        here = _arrive(other, dossier, events[0])
        assert (here.state, here.paused_since, here.deadline) == (
            centre.state,
            centre.paused_since,
            centre.deadline,
        )
    finally:
        other.close()


def test_a_step_on_a_dossier_clocked_far_ahead_is_refused_not_lost(world: World) -> None:
    """GIVEN a desk whose clock runs behind, and a receipt from a desk clocked 30 h past it
    (the centre, whose clock is right, takes up to a day ahead of its own), which this
    desk's clock does not follow (more than a day ahead of it)
    WHEN its clerk asks for a supplement
    THEN the step is refused, naming the clocks to check: written, it would have sorted
    before the receipt it follows, and every fold would have dropped it without a word.
    Once the clocks agree, the clerk takes the step."""
    now = to_vietnam(world.clock())
    base = dict(world.branch.dossiers.events(world.receive().code)[0].payload)
    dossier = new_uuid7()
    ahead = now + timedelta(hours=30)
    payload = {**base, "code": base["code"][:-1] + "8", "at": iso(now)}
    receipt = _from(world, dossier, "dossier.receive", payload, "desk-h", ahead)
    view = _arrive(world.branch, dossier, receipt)
    with pytest.raises(TransitionRefused, match="date and time"):
        world.act("lan", view.code, "request-supplement", note="thiếu")
    assert [e.type for e in world.branch.dossiers.events(view.code)] == ["dossier.receive"]
    world.clock.set(iso(ahead + timedelta(minutes=1)))
    asked = world.act("lan", view.code, "request-supplement", note="thiếu")
    assert asked.state is State.SUPPLEMENT_REQUESTED
