"""The due moment (appointment) of a dossier, and how it was computed.

The result is frozen on the dossier at receipt together with its explanation, so a later
calendar change never silently moves a promise made to a citizen. A wait for the citizen
(a supplement, or the financial obligation) moves it by the time the citizen took
(``resume_after_wait``), and the explanation grows by what moved it.

Two appointments are kept apart (docs/statistics.md): the one **shown** to the citizen,
which a re-appointment (form 04) moves, and the **deadline** the dossier is judged on,
the appointment given at receipt moved only by the waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from .calendar import HOURS_PER_DAY, WorkCalendar
from .catalogue import ProcessingUnit
from .errors import N_, ValidationError
from .timeutil import VIETNAM, iso, to_vietnam

# The cut-off of a procedure settled within the working day, when it names none
# (Decree 23/2015/NĐ-CP Art. 7; Decision 1872/QĐ-BTP of 2020 for civil status).
DEFAULT_CUTOFF = time(15, 0)


@dataclass(frozen=True)
class ExplanationStep:
    """One line of the explanation: an English msgid and its parameters."""

    message: str
    params: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return {"message": self.message, "params": self.params}


@dataclass(frozen=True)
class DueMoment:
    due_at: datetime
    counting_from: datetime
    steps: tuple[ExplanationStep, ...]
    # Calendar days: the promised day before it was moved off a day off (a later wait
    # moves this day, so a move is never counted twice).
    nominal: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "due_at": iso(self.due_at),
            "counting_from": iso(self.counting_from),
            "steps": [s.as_dict() for s in self.steps],
        }
        if self.nominal is not None:
            doc["nominal_at"] = iso(self.nominal)
        return doc


def _fmt(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _skipped_days(calendar: WorkCalendar, first: date, last: date) -> list[ExplanationStep]:
    steps = []
    day = first
    while day <= last:
        reason = calendar.day_off_reason(day)
        if reason is not None and reason not in ("Saturday", "Sunday"):
            steps.append(
                ExplanationStep(
                    N_("{day} is not counted: {reason}"), {"day": _day(day), "reason": reason}
                )
            )
        day += timedelta(days=1)
    return steps


def _received(moment: datetime) -> ExplanationStep:
    return ExplanationStep(N_("Received at {moment}"), {"moment": _fmt(moment)})


def _result_due(moment: datetime) -> ExplanationStep:
    return ExplanationStep(N_("Result due at {moment}"), {"moment": _fmt(moment)})


def compute_due(
    calendar: WorkCalendar,
    received: datetime,
    amount: int,
    unit: ProcessingUnit,
    cutoff: time | None = None,
) -> DueMoment:
    """The appointment for a dossier received at `received`."""
    if amount < 0:
        raise ValidationError(N_("Processing time cannot be negative"))
    received = to_vietnam(received)
    if unit is ProcessingUnit.CALENDAR_DAYS:
        return _calendar_days_due(calendar, received, amount)
    if unit is ProcessingUnit.WITHIN_DAY:
        return _within_day_due(calendar, received, cutoff or DEFAULT_CUTOFF)
    hours = amount * HOURS_PER_DAY if unit is ProcessingUnit.WORKING_DAYS else amount
    start = calendar.start_of_counting(received, cutoff)
    due = calendar.add_working_hours(start, timedelta(hours=hours))
    steps = [_received(received)]
    if cutoff is not None and received.time() >= cutoff:
        steps.append(
            ExplanationStep(
                N_("Received after the {cutoff} cut-off: counted from the next working day"),
                {"cutoff": cutoff.strftime("%H:%M")},
            )
        )
    if start != received:
        steps.append(ExplanationStep(N_("Counting starts at {moment}"), {"moment": _fmt(start)}))
    steps.append(
        ExplanationStep(
            N_("Processing time {hours} working hours (1 working day = 8 hours)"),
            {"hours": str(hours)},
        )
    )
    steps.extend(_skipped_days(calendar, start.date(), due.date()))
    steps.append(_result_due(due))
    return DueMoment(due, start, tuple(steps))


def _within_day_due(calendar: WorkCalendar, received: datetime, cutoff: time) -> DueMoment:
    """Before the cut-off of a working day: that day's closing; otherwise the next working
    day's closing. Never a number of hours: a dossier received at 14:55 is due at 17:00."""
    day = received.date()
    steps = [_received(received)]
    cut = cutoff.strftime("%H:%M")
    if (
        calendar.is_working_day(day)
        and received.time() < cutoff
        and received < calendar.closing(day)
    ):
        due = calendar.closing(day)
        steps.append(
            ExplanationStep(
                N_("Settled within the working day: received before the {cutoff} cut-off"),
                {"cutoff": cut},
            )
        )
        steps.append(_result_due(due))
        return DueMoment(due, received, tuple(steps))
    settled = calendar.next_working_day(day + timedelta(days=1))
    if calendar.is_working_day(day):
        why = ExplanationStep(
            N_("Received after the {cutoff} cut-off: settled on the next working day, {day}"),
            {"cutoff": cut, "day": _day(settled)},
        )
    else:
        why = ExplanationStep(
            N_("{day} is not a working day: settled on the next working day, {next}"),
            {"day": _day(day), "next": _day(settled)},
        )
    steps.append(why)
    steps.extend(_skipped_days(calendar, day + timedelta(days=1), settled))
    due = calendar.closing(settled)
    steps.append(_result_due(due))
    opening = calendar.start_of_counting(datetime.combine(settled, time(0), VIETNAM))
    return DueMoment(due, opening, tuple(steps))


def _calendar_days_due(calendar: WorkCalendar, received: datetime, days: int) -> DueMoment:
    nominal = calendar.closing((received + timedelta(days=days)).date())
    steps = [
        _received(received),
        ExplanationStep(N_("Processing time {days} calendar days"), {"days": str(days)}),
    ]
    due, moved = _settle_calendar_day(calendar, nominal)
    steps.extend(moved)
    steps.append(_result_due(due))
    return DueMoment(due, received, tuple(steps), nominal)


def _settle_calendar_day(
    calendar: WorkCalendar, nominal: datetime
) -> tuple[datetime, list[ExplanationStep]]:
    """The closing of the promised day, or of the next working day when it is a day off:
    a calendar-day appointment never ends on a day off nor outside working hours."""
    day = nominal.date()
    if calendar.is_working_day(day):
        # The promised day is what matters to the citizen: due at that day's closing.
        return calendar.closing(day), []
    moved = calendar.next_working_day(day)
    step = ExplanationStep(
        N_("{day} is not a working day: moved to {moved}"), {"day": _day(day), "moved": _day(moved)}
    )
    return calendar.closing(moved), [step]


def shift_for_pause(
    calendar: WorkCalendar, due: datetime, paused_from: datetime, resumed_at: datetime
) -> datetime:
    """Move the due moment by the working time the citizen took to supplement."""
    taken = calendar.working_time_between(paused_from, resumed_at)
    if taken <= timedelta(0):
        return due
    return calendar.add_working_hours(due, taken)


# --- waits for the citizen (statuses 5 and 6) ------------------------------------------


class Wait(StrEnum):
    """What the dossier waited for: the words of its explanation line."""

    SUPPLEMENT = "supplement"
    PAYMENT = "payment"


_WAITED = {
    (Wait.SUPPLEMENT, False): N_(
        "Waited for the citizen's supplement from {start} to {end}: "
        "{hours} working hours not counted"
    ),
    (Wait.PAYMENT, False): N_(
        "Waited for the financial obligation from {start} to {end}: "
        "{hours} working hours not counted"
    ),
    (Wait.SUPPLEMENT, True): N_(
        "Waited for the citizen's supplement from {start} to {end}: "
        "{days} calendar days not counted"
    ),
    (Wait.PAYMENT, True): N_(
        "Waited for the financial obligation from {start} to {end}: "
        "{days} calendar days not counted"
    ),
}


@dataclass(frozen=True)
class Resumed:
    """The appointments after a wait, and the explanation lines to add."""

    due_at: datetime  # shown to the citizen
    deadline_at: datetime  # judged on (docs/statistics.md)
    nominal: datetime | None
    steps: tuple[ExplanationStep, ...]


def resume_after_wait(
    calendar: WorkCalendar,
    unit: ProcessingUnit,
    *,
    due: datetime,
    deadline: datetime,
    nominal: datetime | None,
    paused_from: datetime,
    resumed_at: datetime,
    wait: Wait = Wait.SUPPLEMENT,
) -> Resumed:
    """Move both appointments by the time the citizen took (status 5 or 6).

    Working-time units move by the working time of the wait (exact, so they land inside
    working hours). Calendar-day units move by the calendar days of the wait, counted by
    dates, and end at a working day's closing (the promised day moved off a day off).
    """
    span = {"start": _fmt(paused_from), "end": _fmt(resumed_at)}
    if unit is ProcessingUnit.CALENDAR_DAYS:
        days = max(0, (to_vietnam(resumed_at).date() - to_vietnam(paused_from).date()).days)
        base = nominal or deadline
        new_nominal = calendar.closing(base.date() + timedelta(days=days))
        new_deadline, moved = _settle_calendar_day(calendar, new_nominal)
        # A wait never shortens the time: a day off lifted since the receipt would settle
        # the promised day earlier than the deadline already given.
        new_deadline = max(new_deadline, deadline)
        if due == deadline:
            new_due = new_deadline
        else:  # re-appointed: the shown day moves by the same days
            new_due, moved = _settle_calendar_day(calendar, due + timedelta(days=days))
            new_due = max(new_due, due)
        taken = ExplanationStep(_WAITED[wait, True], {**span, "days": str(days)})
        steps = (taken, *moved, _new_appointment(new_due))
        return Resumed(new_due, new_deadline, new_nominal, steps)
    spent = calendar.working_time_between(paused_from, resumed_at)
    hours = f"{round(spent.total_seconds() / 3600, 2):g}"
    steps = (ExplanationStep(_WAITED[wait, False], {**span, "hours": hours}),)
    new_due = shift_for_pause(calendar, due, paused_from, resumed_at)
    new_deadline = shift_for_pause(calendar, deadline, paused_from, resumed_at)
    steps += tuple(_skipped_days(calendar, due.date() + timedelta(days=1), new_due.date()))
    return Resumed(new_due, new_deadline, None, (*steps, _new_appointment(new_due)))


def _new_appointment(moment: datetime) -> ExplanationStep:
    return ExplanationStep(N_("New appointment: {moment}"), {"moment": _fmt(moment)})


def reappointment_steps(
    at: datetime, new_due: datetime, previous: datetime, second: bool
) -> tuple[ExplanationStep, ...]:
    """The explanation lines of a re-appointment (form 04): the date shown moves; the
    deadline the dossier is judged on does not."""
    step = ExplanationStep(
        N_(
            "Apology and new appointment (form 04) of {at}: {previous} becomes {moment}; "
            "the dossier is still judged on its deadline"
        ),
        {"at": _fmt(at), "previous": _fmt(previous), "moment": _fmt(new_due)},
    )
    if not second:
        return (step,)
    return (step, ExplanationStep(N_("A further new appointment, with the leader's reason"), {}))
