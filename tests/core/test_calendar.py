"""The due moment, on the dated cases of reference/one-stop-vn.md."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from core.domain.calendar import DayKind, Override, Period, WorkCalendar
from core.domain.catalogue import ProcessingUnit
from core.domain.due import compute_due, shift_for_pause
from core.domain.errors import ValidationError
from core.domain.timeutil import parse_moment

from .conftest import at

WD, WH, CD = ProcessingUnit.WORKING_DAYS, ProcessingUnit.WORKING_HOURS, ProcessingUnit.CALENDAR_DAYS


def due(
    received: str,
    amount: int,
    unit: ProcessingUnit = WD,
    cutoff: time | None = None,
    calendar: WorkCalendar | None = None,
) -> str:
    result = compute_due(calendar or WorkCalendar(), parse_moment(received), amount, unit, cutoff)
    return result.due_at.isoformat(timespec="minutes")


def test_worked_example_across_tet_2027() -> None:
    """GIVEN Wednesday 03/02/2027 09:00 and 3 working days
    WHEN the due moment is computed
    THEN Tết (4–10 Feb) is skipped and it ends Monday 15/02/2027 09:00 (the reference)."""
    assert due("2027-02-03T09:00", 3) == "2027-02-15T09:00+07:00"


def test_explanation_names_the_skipped_holidays() -> None:
    result = compute_due(WorkCalendar(), at("2027-02-03T09:00"), 3, WD)
    skipped = [s.params["day"] for s in result.steps if "day" in s.params]
    assert skipped == [f"{d:02d}/02/2027" for d in range(4, 11)]
    assert result.steps[-1].params["moment"] == "09:00 15/02/2027"


@pytest.mark.parametrize(
    ("received", "days", "expected"),
    [
        # 30/4 and 1/5/2026 (Thu, Fri): received Wed 29/4 08:00, 2 days → Mon 4/5 + Tue 5/5.
        ("2026-04-29T08:00", 2, "2026-05-05T08:00+07:00"),
        # Hùng Kings 2026 falls on Sunday 26/4 and is observed Monday 27/4.
        ("2026-04-24T16:00", 1, "2026-04-28T16:00+07:00"),
        # 2/9/2026: 31/8 (substituted for the make-up Saturday), 1/9 and 2/9 are off.
        ("2026-08-28T09:00", 2, "2026-09-04T09:00+07:00"),
        # 24/11 (Vietnam Culture Day) is a holiday from 2026.
        ("2026-11-23T09:00", 1, "2026-11-25T09:00+07:00"),
        # The make-up working Saturday 22/08/2026 counts.
        ("2026-08-21T16:00", 1, "2026-08-22T16:00+07:00"),
        # An ordinary Saturday does not.
        ("2026-08-28T16:00", 1, "2026-09-03T16:00+07:00"),
        # Tết 2026 (16–20/2): received Friday 13/2 10:00.
        ("2026-02-13T10:00", 1, "2026-02-23T10:00+07:00"),
    ],
)
def test_holidays_and_make_up_days(received: str, days: int, expected: str) -> None:
    assert due(received, days) == expected


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("2026-11-25T06:15", "2026-11-25T17:00+07:00"),  # before opening → from 07:00
        ("2026-11-25T12:10", "2026-11-26T11:30+07:00"),  # lunch → from 13:30
        ("2026-11-25T17:40", "2026-11-26T17:00+07:00"),  # after closing → next morning
        ("2026-11-28T10:00", "2026-11-30T17:00+07:00"),  # Saturday → Monday opening
        ("2026-11-25T11:30", "2026-11-26T11:30+07:00"),  # at lunch start → from 13:30
    ],
)
def test_start_of_counting(received: str, expected: str) -> None:
    """One working day from a moment outside working hours counts from the next opening."""
    assert due(received, 1) == expected


def test_working_hours_end_exactly_at_a_period_end() -> None:
    assert due("2026-11-25T07:00", 4, WH) == "2026-11-25T11:00+07:00"
    assert due("2026-11-25T13:30", 7, WH) == "2026-11-26T10:30+07:00"
    assert due("2026-11-25T07:00", 8, WH) == "2026-11-25T17:00+07:00"


def test_same_day_cutoff() -> None:
    """GIVEN a same-day procedure (4 working hours, cut-off 15:00)
    THEN before the cut-off it ends today, after it it counts from tomorrow's opening."""
    assert due("2026-11-25T09:00", 4, WH, time(15, 0)) == "2026-11-25T15:00+07:00"
    assert due("2026-11-25T15:20", 4, WH, time(15, 0)) == "2026-11-26T11:00+07:00"
    assert due("2026-11-27T15:20", 4, WH, time(15, 0)) == "2026-11-30T11:00+07:00"


def test_cutoff_is_explained() -> None:
    result = compute_due(WorkCalendar(), at("2026-11-25T15:20"), 4, WH, time(15, 0))
    assert any("cut-off" in s.message for s in result.steps)


@pytest.mark.parametrize(
    ("received", "days", "expected"),
    [
        ("2026-11-02T09:00", 15, "2026-11-17T17:00+07:00"),  # ends on a Tuesday
        ("2026-11-06T09:00", 15, "2026-11-23T17:00+07:00"),  # Saturday 21/11 → Monday 23/11
        ("2026-11-09T09:00", 15, "2026-11-25T17:00+07:00"),  # Tuesday 24/11 holiday → 25/11
        ("2027-01-24T09:00", 15, "2027-02-11T17:00+07:00"),  # lands in Tết → after it
    ],
)
def test_calendar_days_never_end_on_a_day_off(received: str, days: int, expected: str) -> None:
    assert due(received, days, CD) == expected


def test_override_adds_a_holiday_and_a_workday() -> None:
    """GIVEN a government decision making Friday 27/11/2026 a day off and Saturday 5/12 a
    working day THEN both change the due moment."""
    calendar = WorkCalendar.with_overrides(
        [
            Override(date(2026, 11, 27), DayKind.HOLIDAY, "Quyết định nghỉ bù"),
            Override(date(2026, 12, 5), DayKind.WORKDAY, "Làm bù"),
        ]
    )
    assert due("2026-11-26T09:00", 1, calendar=calendar) == "2026-11-30T09:00+07:00"
    assert due("2026-12-04T09:00", 1, calendar=calendar) == "2026-12-05T09:00+07:00"
    assert calendar.day_off_reason(date(2026, 11, 27)) == "Quyết định nghỉ bù"


def test_override_can_cancel_a_library_holiday() -> None:
    calendar = WorkCalendar.with_overrides([Override(date(2026, 11, 24), DayKind.WORKDAY, "test")])
    assert calendar.is_working_day(date(2026, 11, 24))


def test_custom_working_hours() -> None:
    calendar = WorkCalendar(
        periods=(Period(time(7, 30), time(11, 30)), Period(time(13, 0), time(17, 0)))
    )
    assert due("2026-11-25T07:30", 1, calendar=calendar) == "2026-11-25T17:00+07:00"


def test_invalid_working_hours_are_refused() -> None:
    with pytest.raises(ValidationError):
        WorkCalendar(periods=(Period(time(11, 0), time(7, 0)),))


def test_negative_processing_time_is_refused() -> None:
    with pytest.raises(ValidationError):
        compute_due(WorkCalendar(), at("2026-11-25T09:00"), -1, WD)


def test_supplement_pause_moves_the_due_moment_by_the_working_time_taken() -> None:
    """GIVEN a due moment of Fri 27/11 09:00 and a pause from Wed 25/11 15:00 to Thu 26/11
    09:00 (2 + 2 working hours) THEN the due moment moves 4 working hours later:
    2.5 hours before lunch and 1.5 after, ending at 15:00."""
    calendar = WorkCalendar()
    moved = shift_for_pause(
        calendar, at("2026-11-27T09:00"), at("2026-11-25T15:00"), at("2026-11-26T09:00")
    )
    assert moved == at("2026-11-27T15:00")


def test_pause_over_a_weekend_counts_no_weekend_time() -> None:
    calendar = WorkCalendar()
    taken = calendar.working_time_between(at("2026-11-27T16:00"), at("2026-11-30T08:00"))
    assert taken == timedelta(hours=2)


def test_holidays_of_a_year_lists_tet_and_make_up_saturdays() -> None:
    calendar = WorkCalendar()
    days = dict(calendar.holidays_of(2027))
    assert date(2027, 2, 6) in days and date(2027, 9, 2) in days and date(2027, 11, 24) in days
    assert calendar.workday_saturdays(2026) == [date(2026, 8, 22)]
