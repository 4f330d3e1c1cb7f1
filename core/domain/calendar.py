"""Working-time calendar and the due moment (hạn trả kết quả).

Rules (reference/one-stop-vn.md): working hours default 07:00–11:30 and 13:30–17:00, so a
working day is 8 hours; weekends and public holidays are skipped, make-up working
Saturdays count; a moment before opening starts at opening, during lunch at 13:30, after
closing at the next working day's opening; a same-day cut-off pushes the start to the
next working day; calendar-day procedures count every day but never end on a
non-working day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import holidays

from .errors import N_, ValidationError
from .timeutil import VIETNAM, to_vietnam

HOURS_PER_DAY = 8
_SEARCH_LIMIT_DAYS = 3660  # a due moment more than ten years away is a data error


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


@dataclass(frozen=True)
class Override:
    """A yearly government decision: a day off, or a Saturday made a working day."""

    day: date
    kind: DayKind
    reason: str


@dataclass(frozen=True)
class Period:
    start: time
    end: time

    def hours(self) -> float:
        return (_minutes(self.end) - _minutes(self.start)) / 60


DEFAULT_PERIODS = (Period(time(7, 0), time(11, 30)), Period(time(13, 30), time(17, 0)))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass
class WorkCalendar:
    """Which days are worked and when; overrides win over the holidays library."""

    periods: tuple[Period, ...] = DEFAULT_PERIODS
    overrides: Mapping[date, Override] = field(default_factory=dict)
    language: str = "vi"
    _library: holidays.HolidayBase = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._library = holidays.country_holidays("VN", language=self.language)
        if not self.periods or any(p.end <= p.start for p in self.periods):
            raise ValidationError(N_("Working hours must be non-empty, increasing periods"))

    @classmethod
    def with_overrides(cls, overrides: Iterable[Override], **kwargs: object) -> WorkCalendar:
        return cls(overrides={o.day: o for o in overrides}, **kwargs)  # type: ignore[arg-type]

    def day_off_reason(self, day: date) -> str | None:
        """Why `day` is not worked, or None when it is a working day."""
        override = self.overrides.get(day)
        if override is not None:
            return override.reason if override.kind is DayKind.HOLIDAY else None
        name = self._library.get(day)
        if name is not None:
            return str(name)
        if day in self._library.weekend_workdays:
            return None
        return "Saturday" if day.weekday() == 5 else "Sunday" if day.weekday() == 6 else None

    def is_working_day(self, day: date) -> bool:
        return self.day_off_reason(day) is None

    def holidays_of(self, year: int) -> list[tuple[date, str]]:
        """Public holidays and overrides of a year that fall on would-be working days too."""
        national = holidays.country_holidays("VN", years=year, language=self.language)
        days = {d: str(n) for d, n in national.items()}
        for o in self.overrides.values():
            if o.day.year == year and o.kind is DayKind.HOLIDAY:
                days[o.day] = o.reason
            elif o.day.year == year:
                days.pop(o.day, None)
        return sorted(days.items())

    def workday_saturdays(self, year: int) -> list[date]:
        national = holidays.country_holidays("VN", years=year)
        lib = {d for d in national.weekend_workdays if d.year == year}
        extra = {o.day for o in self.overrides.values() if o.kind is DayKind.WORKDAY}
        return sorted(d for d in lib | extra if d.year == year and self.is_working_day(d))

    def working_windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals from `start` onwards, the first clipped to start."""
        moment = to_vietnam(start)
        day = moment.date()
        for _ in range(_SEARCH_LIMIT_DAYS):
            if self.is_working_day(day):
                for period in self.periods:
                    lo = datetime.combine(day, period.start, VIETNAM)
                    hi = datetime.combine(day, period.end, VIETNAM)
                    if hi > moment:
                        yield max(lo, moment), hi
            day += timedelta(days=1)
        raise ValidationError(N_("No working time found within ten years"))

    def start_of_counting(self, received: datetime, cutoff: time | None = None) -> datetime:
        """The moment the clock starts: the next working moment, or the next day's opening
        when received after the procedure's same-day cut-off."""
        moment = to_vietnam(received)
        if cutoff is not None and moment.time() >= cutoff and self.is_working_day(moment.date()):
            moment = datetime.combine(moment.date() + timedelta(days=1), time(0), VIETNAM)
        return next(self.working_windows(moment))[0]

    def add_working_hours(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time after `start` (exact at period ends)."""
        remaining = amount
        if remaining <= timedelta(0):
            return next(self.working_windows(start))[0]
        for lo, hi in self.working_windows(start):
            if hi - lo >= remaining:
                return lo + remaining
            remaining -= hi - lo
        raise AssertionError("working_windows never ends without raising")  # pragma: no cover

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside [start, end)."""
        total = timedelta(0)
        if end <= start:
            return total
        for lo, hi in self.working_windows(start):
            if lo >= end:
                break
            total += min(hi, end) - lo
        return total

    def next_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def closing(self, day: date) -> datetime:
        return datetime.combine(day, self.periods[-1].end, VIETNAM)

    def day_hours(self) -> float:
        return sum(p.hours() for p in self.periods)
