"""The bounds the fold sets on the moments an event carries (core/domain/step_moments.py):
whatever an honest desk computes falls within them, whatever the calendar; moments no
honest desk could write fall outside. The attacks themselves, through the real server
and desks, are in tests/server/test_dates_clocks_forks.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.calendar import DayKind, Override, WorkCalendar
from core.domain.catalogue import ProcessingUnit
from core.domain.due import compute_due, resume_after_wait
from core.domain.errors import ValidationError
from core.domain.step_moments import HORIZON, check_entry_appointment, check_entry_moment
from core.domain.timeutil import VIETNAM, parse_moment

from .conftest import World

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
