"""The due moment (appointment) of a dossier, and how it was computed.

The result is frozen on the dossier at receipt together with its explanation, so a later
calendar change never silently moves a promise made to a citizen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from .calendar import HOURS_PER_DAY, WorkCalendar
from .catalogue import ProcessingUnit
from .errors import N_, ValidationError
from .timeutil import iso, to_vietnam


@dataclass(frozen=True)
class ExplanationStep:
    """One line of the explanation: an English msgid and its parameters."""

    message: str
    params: dict[str, str]


@dataclass(frozen=True)
class DueMoment:
    due_at: datetime
    counting_from: datetime
    steps: tuple[ExplanationStep, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "due_at": iso(self.due_at),
            "counting_from": iso(self.counting_from),
            "steps": [{"message": s.message, "params": s.params} for s in self.steps],
        }


def _fmt(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")


def _skipped_days(calendar: WorkCalendar, start: datetime, end: datetime) -> list[ExplanationStep]:
    steps = []
    day = start.date()
    while day <= end.date():
        reason = calendar.day_off_reason(day)
        if reason is not None and reason not in ("Saturday", "Sunday"):
            steps.append(
                ExplanationStep(
                    N_("{day} is not counted: {reason}"),
                    {"day": day.strftime("%d/%m/%Y"), "reason": reason},
                )
            )
        day += timedelta(days=1)
    return steps


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
    hours = amount * HOURS_PER_DAY if unit is ProcessingUnit.WORKING_DAYS else amount
    start = calendar.start_of_counting(received, cutoff)
    due = calendar.add_working_hours(start, timedelta(hours=hours))
    steps = [ExplanationStep(N_("Received at {moment}"), {"moment": _fmt(received)})]
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
    steps.extend(_skipped_days(calendar, start, due))
    steps.append(ExplanationStep(N_("Result due at {moment}"), {"moment": _fmt(due)}))
    return DueMoment(due, start, tuple(steps))


def _calendar_days_due(calendar: WorkCalendar, received: datetime, days: int) -> DueMoment:
    target = received + timedelta(days=days)
    steps = [
        ExplanationStep(N_("Received at {moment}"), {"moment": _fmt(received)}),
        ExplanationStep(N_("Processing time {days} calendar days"), {"days": str(days)}),
    ]
    if not calendar.is_working_day(target.date()):
        moved = calendar.next_working_day(target.date())
        steps.append(
            ExplanationStep(
                N_("{day} is not a working day: moved to {moved}"),
                {"day": target.strftime("%d/%m/%Y"), "moved": moved.strftime("%d/%m/%Y")},
            )
        )
        target = calendar.closing(moved)
    else:
        # The promised day is what matters to the citizen: due at that day's closing.
        target = calendar.closing(target.date())
    steps.append(ExplanationStep(N_("Result due at {moment}"), {"moment": _fmt(target)}))
    return DueMoment(target, received, tuple(steps))


def shift_for_pause(
    calendar: WorkCalendar, due: datetime, paused_from: datetime, resumed_at: datetime
) -> datetime:
    """Move the due moment by the working time the citizen took to supplement."""
    taken = calendar.working_time_between(paused_from, resumed_at)
    if taken <= timedelta(0):
        return due
    return calendar.add_working_hours(due, taken)
