"""The bounds the fold sets on the moments a step carries (core/domain/step_moments.py):
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
from core.domain.step_moments import (
    check_entry_not_ahead,
    wait_moves_within_measure,
)
from core.domain.timeutil import VIETNAM, parse_moment

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
    moves = [after.due_at - due.due_at, after.deadline_at - due.due_at]
    if after.nominal is not None and due.nominal is not None:
        moves.append(after.nominal - due.nominal)
    for moved in moves:
        assert wait_moves_within_measure(moved, pause_length), (moved, pause_length)


@pytest.mark.parametrize(
    ("moved", "waited", "within"),
    [
        (timedelta(0), timedelta(0), True),
        (timedelta(hours=-23), timedelta(0), True),  # clocks that disagree
        (timedelta(days=-2), timedelta(days=1), False),  # a wait never shortens the time
        (timedelta(days=92), timedelta(0), True),
        (timedelta(days=93), timedelta(0), False),
        (timedelta(days=5 * 10 + 92), timedelta(days=10), True),
        (timedelta(days=5 * 10 + 93), timedelta(days=10), False),
        (parse_moment("9998-12-31T20:00") - parse_moment("2026-12-04T09:00"), timedelta(1), False),
    ],
)
def test_how_far_a_wait_may_move_an_appointment(
    moved: timedelta, waited: timedelta, within: bool
) -> None:
    assert wait_moves_within_measure(moved, waited) is within


@pytest.mark.parametrize(
    ("entered", "taken"),
    [("2026-12-04T09:00", True), ("2026-12-04T09:05", True), ("2026-12-04T09:06", False)],
)
def test_a_clerk_cannot_enter_a_moment_ahead_of_the_desks_clock(entered: str, taken: bool) -> None:
    now = parse_moment("2026-12-04T09:00")
    if taken:
        check_entry_not_ahead(parse_moment(entered), now)
    else:
        with pytest.raises(ValidationError, match="in the future"):
            check_entry_not_ahead(parse_moment(entered), now)
