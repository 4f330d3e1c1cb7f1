"""Moments in Vietnam time (UTC+07:00, no daylight saving)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import N_, ValidationError

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = UTC


def parse_moment(text: str) -> datetime:
    """Parse ISO 8601; a moment without an offset is Vietnam local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(N_("Not a valid date-time: {text}"), text=text) from None
    return to_vietnam(moment)


def to_vietnam(moment: datetime) -> datetime:
    """The same instant expressed in Vietnam time; naive means already local."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=VIETNAM)
    return moment.astimezone(VIETNAM)


def iso(moment: datetime) -> str:
    """ISO 8601 with the +07:00 offset, to the second."""
    return to_vietnam(moment).isoformat(timespec="seconds")


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(VIETNAM)


def epoch_ms(moment: datetime) -> int:
    return int(to_vietnam(moment).timestamp() * 1000)


def hours(value: timedelta) -> float:
    return value.total_seconds() / 3600
