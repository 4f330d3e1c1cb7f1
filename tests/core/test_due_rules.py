"""Due moments (docs/calendar.md): the unit "within the working day", calendar days after
a wait, and the appointment and explanation after a wait for the citizen.

Dates used (2026): Tuesday 24/11 is Vietnam Culture Day (a holiday from 2026); 30/4 and
1/5 fall on Thursday and Friday; Saturday 22/8 is a make-up working day. Working hours
07:00–11:30 and 13:30–17:00.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.calendar import WorkCalendar
from core.domain.catalogue import ProcessingUnit
from core.domain.dossier import DossierView
from core.domain.due import DEFAULT_CUTOFF, Wait, compute_due, resume_after_wait
from core.domain.timeutil import VIETNAM, parse_moment
from core.services.slips import processing_time_text

from .conftest import World, at

WITHIN, CD = ProcessingUnit.WITHIN_DAY, ProcessingUnit.CALENDAR_DAYS
CALENDAR = WorkCalendar()


def within(received: str, cutoff: time | None = None) -> str:
    due = compute_due(CALENDAR, parse_moment(received), 1, WITHIN, cutoff)
    return due.due_at.isoformat(timespec="minutes")


@pytest.mark.parametrize(
    ("received", "cutoff", "expected"),
    [
        # Wednesday 09:00, before the 15:00 cut-off → that day's closing.
        ("2026-11-25T09:00", None, "2026-11-25T17:00+07:00"),
        # 14:59 is still before the cut-off: 17:00 the same day, not "8 hours later".
        ("2026-11-25T14:59", None, "2026-11-25T17:00+07:00"),
        # At 15:00 it is no longer before the cut-off → Thursday's closing.
        ("2026-11-25T15:00", None, "2026-11-26T17:00+07:00"),
        # Before opening (an online submission at 06:30) → that day's closing.
        ("2026-11-25T06:30", None, "2026-11-25T17:00+07:00"),
        # Friday 15:20 → the next working day is Monday 30/11.
        ("2026-11-27T15:20", None, "2026-11-30T17:00+07:00"),
        # Saturday 28/11 is not a working day → Monday 30/11's closing.
        ("2026-11-28T10:00", None, "2026-11-30T17:00+07:00"),
        # Monday 23/11 16:00 → Tuesday 24/11 is a holiday → Wednesday 25/11.
        ("2026-11-23T16:00", None, "2026-11-25T17:00+07:00"),
        # Wednesday 29/4 15:30 → 30/4, 1/5 off, then the weekend → Monday 4/5.
        ("2026-04-29T15:30", None, "2026-05-04T17:00+07:00"),
        # Friday 21/8 15:30 → the make-up Saturday 22/8 is the next working day.
        ("2026-08-21T15:30", None, "2026-08-22T17:00+07:00"),
        # A procedure with a 16:00 cut-off: 15:30 is before it.
        ("2026-11-25T15:30", time(16, 0), "2026-11-25T17:00+07:00"),
        # A cut-off after closing never makes a dossier due before it was received.
        ("2026-11-25T17:30", time(18, 0), "2026-11-26T17:00+07:00"),
    ],
)
def test_within_the_working_day(received: str, cutoff: time | None, expected: str) -> None:
    assert within(received, cutoff) == expected


def test_within_the_working_day_is_explained() -> None:
    """Monday 23/11 16:00: the explanation names the cut-off, the skipped holiday and the
    closing of Wednesday 25/11."""
    result = compute_due(CALENDAR, at("2026-11-23T16:00"), 1, WITHIN)
    messages = [s.message for s in result.steps]
    assert any("cut-off" in m for m in messages)
    assert [s.params["day"] for s in result.steps if "reason" in s.params] == ["24/11/2026"]
    assert result.steps[-1].params["moment"] == "17:00 25/11/2026"
    assert result.counting_from == at("2026-11-25T07:00")
    assert time(15, 0) == DEFAULT_CUTOFF


CIVIL_AND_CERTIFICATION = ("HT-KS", "HT-KH", "HT-KT", "HT-BSTT", "HT-TLBS", "CT-BSBC", "CT-CK")


@pytest.mark.parametrize("code", CIVIL_AND_CERTIFICATION)
def test_catalogue_settles_them_within_the_working_day(world: World, code: str) -> None:
    """Birth, marriage, death registration and the like: version 2 of each is settled
    within the working day with the 15:00 cut-off its legal text names; version 1 stays
    stored (dossiers pin it)."""
    procedure = world.branch.procedures()[code]
    assert (procedure.version, procedure.processing_unit) == (2, WITHIN)
    assert procedure.cutoff == time(15, 0)
    assert "1872/QĐ-BTP" in procedure.legal_basis or "23/2015/NĐ-CP Điều 7" in (
        procedure.legal_basis
    )


def test_marriage_received_before_the_cutoff_is_due_that_evening(world: World) -> None:
    """GIVEN marriage registration received Wednesday 25/11 14:00 THEN it is due at 17:00
    that day; the receipt slip says "within the working day"."""
    world.clock.set("2026-11-25T14:00")
    view = world.receive("HT-KH")
    assert view.due_at == "2026-11-25T17:00:00+07:00"
    assert view.extra["unit"] == "within_day"
    assert processing_time_text(1, WITHIN) == "Trong ngày làm việc"


# --- calendar days after a wait --------------------------------------------------------


def resumed_calendar(received: str, paused: str, resumed: str, days: int = 15) -> str:
    due = compute_due(CALENDAR, parse_moment(received), days, CD)
    after = resume_after_wait(
        CALENDAR,
        CD,
        due=due.due_at,
        deadline=due.due_at,
        nominal=due.nominal,
        paused_from=parse_moment(paused),
        resumed_at=parse_moment(resumed),
    )
    assert after.due_at == after.deadline_at
    return after.due_at.isoformat(timespec="minutes")


@pytest.mark.parametrize(
    ("received", "paused", "resumed", "expected"),
    [
        # Mon 02/11 + 15 days = Tue 17/11; a wait of 3 days by the dates (Wed 04/11 →
        # Sat 07/11) → Fri 20/11 at closing.
        ("2026-11-02T09:00", "2026-11-04T10:00", "2026-11-07T09:00", "2026-11-20T17:00+07:00"),
        # Fri 06/11 + 15 = Sat 21/11, shown Mon 23/11. A wait of 2 days moves the promised
        # Saturday to Mon 23/11 (not the shown Monday to Wednesday).
        ("2026-11-06T09:00", "2026-11-09T10:00", "2026-11-11T08:00", "2026-11-23T17:00+07:00"),
        # 3 days: Sat 21/11 → Tue 24/11, a holiday → Wed 25/11 at closing.
        ("2026-11-06T09:00", "2026-11-09T10:00", "2026-11-12T16:30", "2026-11-25T17:00+07:00"),
        # Brought back the same day: no calendar day waited, nothing moves.
        ("2026-11-02T09:00", "2026-11-04T10:00", "2026-11-04T16:00", "2026-11-17T17:00+07:00"),
        # A wait over a night that ends on a Sunday (Fri 13/11 → Sun 15/11, 2 days):
        # Tue 17/11 → Thu 19/11.
        ("2026-11-02T09:00", "2026-11-13T16:00", "2026-11-15T08:00", "2026-11-19T17:00+07:00"),
    ],
)
def test_calendar_days_after_a_wait(
    received: str, paused: str, resumed: str, expected: str
) -> None:
    assert resumed_calendar(received, paused, resumed) == expected


def test_re_appointed_calendar_day_dossier_moves_both_dates_apart() -> None:
    """A calendar-day dossier due Tue 17/11 17:00, re-appointed to Wed 18/11 10:00, waits 3
    days: the deadline goes to Fri 20/11 17:00; the shown date to Sat 21/11, a day off, so
    Mon 23/11 17:00 — never a day off nor outside working hours."""
    after = resume_after_wait(
        CALENDAR,
        CD,
        due=at("2026-11-18T10:00"),
        deadline=at("2026-11-17T17:00"),
        nominal=at("2026-11-17T17:00"),
        paused_from=at("2026-11-04T10:00"),
        resumed_at=at("2026-11-07T09:00"),
    )
    assert after.deadline_at == at("2026-11-20T17:00")
    assert after.due_at == at("2026-11-23T17:00")


@settings(max_examples=150, deadline=None)
@given(
    received=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 1)),
    days=st.integers(0, 60),
    pause_start=st.timedeltas(timedelta(0), timedelta(days=40)),
    pause_length=st.timedeltas(timedelta(0), timedelta(days=30)),
)
def test_calendar_days_never_end_on_a_day_off_nor_outside_working_hours(
    received: datetime, days: int, pause_start: timedelta, pause_length: timedelta
) -> None:
    start = received.replace(tzinfo=VIETNAM)
    due = compute_due(CALENDAR, start, days, CD)
    paused = start + pause_start
    after = resume_after_wait(
        CALENDAR,
        CD,
        due=due.due_at,
        deadline=due.due_at,
        nominal=due.nominal,
        paused_from=paused,
        resumed_at=paused + pause_length,
    )
    for moment in (due.due_at, after.due_at, after.deadline_at):
        assert CALENDAR.is_working_day(moment.date())
        assert moment == CALENDAR.closing(moment.date())
    assert after.deadline_at >= due.due_at


# --- the appointment and explanation after a wait --------------------------------------


def lines(view: DossierView) -> list[str]:
    """The explanation in English (its msgids, filled in)."""
    return [s["message"].format(**s["params"]) for s in view.due_explanation]


def test_supplement_moves_the_appointment_and_explains_it(world: World) -> None:
    """GIVEN HT-XNHN (3 working days) received Monday 23/11 09:00, due Friday 27/11 09:00
    (Mon 6 h, Tue 24/11 holiday, Wed 8 h, Thu 8 h, Fri 2 h) WHEN a supplement is asked
    Monday 14:00 and brought Wednesday 25/11 09:00 (Mon 14:00–17:00 = 3 h, Wed
    07:00–09:00 = 2 h: 5 h) THEN the appointment shown and the deadline are both Friday
    09:00 + 5 h = 16:00 (2.5 h before lunch, 2.5 after), and the explanation says so."""
    code = world.receive("HT-XNHN").code
    world.act("lan", code, "request-supplement", at="2026-11-23T14:00", note="Thiếu tờ khai")
    view = world.act("lan", code, "supplement", at="2026-11-25T09:00")
    assert view.due_at == view.deadline_at == "2026-11-27T16:00:00+07:00"
    text = lines(view)
    assert (
        "Waited for the citizen's supplement from 14:00 23/11/2026 to 09:00 25/11/2026: "
        "5 working hours not counted"
    ) in text
    assert text[-1] == "New appointment: 16:00 27/11/2026"
    assert view.paused_since == ""


def test_financial_obligation_is_a_wait_too(world: World) -> None:
    """GIVEN the same dossier in processing from Monday 23/11 09:30 WHEN the financial
    obligation (status 6) is asked Wednesday 25/11 10:00 and paid online Monday 30/11
    10:00 THEN the wait is Wed 10:00–17:00 (5 h) + Thu 8 h + Fri 8 h + Mon 07:00–10:00
    (3 h) = 24 h, and Friday 27/11 09:00 moves 24 working hours: Fri 6 h, Mon 30/11 8 h,
    Tue 1/12 8 h, Wed 2/12 2 h → Wednesday 02/12/2026 09:00."""
    code = world.receive("HT-XNHN").code
    world.act("lan", code, "transfer", at="2026-11-23T09:30")
    world.act("minh", code, "start", at="2026-11-23T09:30")
    waiting = world.act("minh", code, "request-payment", at="2026-11-25T10:00", note="Lệ phí")
    assert waiting.paused_since == "2026-11-25T10:00:00+07:00"
    view = world.act(
        "lan", code, "pay", at="2026-11-30T10:00", details={"payment_method": "online"}
    )
    assert view.due_at == view.deadline_at == "2026-12-02T09:00:00+07:00"
    assert view.payment == "online" and view.state.value == "processing"
    assert (
        "Waited for the financial obligation from 10:00 25/11/2026 to 10:00 30/11/2026: "
        "24 working hours not counted"
    ) in lines(view)
    assert lines(view)[-1] == "New appointment: 09:00 02/12/2026"


def test_calendar_day_dossier_after_a_supplement(world: World) -> None:
    """GIVEN XD-GPNO (15 calendar days) received Monday 02/11 09:00, due Tuesday 17/11
    17:00 WHEN a supplement is asked Wednesday 04/11 10:00 and brought Saturday 07/11
    09:00 (3 days by the dates) THEN it is due Friday 20/11 at closing."""
    world.clock.set("2026-11-02T09:00")
    code = world.receive("XD-GPNO").code
    assert world.branch.dossiers.get(code).due_at == "2026-11-17T17:00:00+07:00"
    world.act("lan", code, "request-supplement", at="2026-11-04T10:00", note="Thiếu bản vẽ")
    view = world.act("lan", code, "supplement", at="2026-11-07T09:00")
    assert view.due_at == view.deadline_at == "2026-11-20T17:00:00+07:00"
    assert (
        "Waited for the citizen's supplement from 10:00 04/11/2026 to 09:00 07/11/2026: "
        "3 calendar days not counted"
    ) in lines(view)


def test_wait_kinds_have_their_own_words() -> None:
    after = resume_after_wait(
        CALENDAR,
        ProcessingUnit.WORKING_DAYS,
        due=at("2026-11-27T09:00"),
        deadline=at("2026-11-27T09:00"),
        nominal=None,
        paused_from=at("2026-11-25T15:00"),
        resumed_at=at("2026-11-26T09:00"),
        wait=Wait.PAYMENT,
    )
    assert after.due_at == at("2026-11-27T15:00")  # 2 h + 2 h = 4 h after Friday 09:00
    assert "financial obligation" in after.steps[0].message
