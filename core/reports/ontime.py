"""On-time counting by Decision 766/QĐ-TTg (reference/one-stop-vn.md, "On-time counting").

- Late when the end moment is after the appointment; early when it ends on a day before
  the appointment's day (or, configurably, at any moment before it); otherwise on time.
- The end moment is the first of finished, returned, stopped (refused dossiers were never
  received and are not counted).
- Time waiting for the citizen's supplement is excluded: the appointment was already
  moved by it when the supplement arrived.
- A second supplement request counts the dossier as late.
- A dossier still open at the period's end is judged then: within or past the deadline,
  or paused while it waits for the citizen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.domain.timeutil import parse_moment


class Bucket(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    IN_PROGRESS_WITHIN = "in_progress_within"
    IN_PROGRESS_LATE = "in_progress_late"
    PAUSED = "paused"


ON_TIME_BUCKETS = frozenset(
    {Bucket.EARLY, Bucket.ON_TIME, Bucket.IN_PROGRESS_WITHIN, Bucket.PAUSED}
)


class Judged(Protocol):
    """What a report needs of a dossier (a projection row or a DossierView)."""

    received_at: str
    due_at: str
    end_at: str
    supplement_count: int
    paused_since: str
    state: str
    rating: int
    complaint: bool


@dataclass(frozen=True)
class OnTimeRules:
    # Some systems call any end before the appointment moment early (unconfirmed rule).
    early_by_moment: bool = False
    negative_rating_max: int = 2


def judge(d: Judged, period_end: datetime, rules: OnTimeRules = OnTimeRules()) -> Bucket:
    due = parse_moment(d.due_at)
    ended = parse_moment(d.end_at) if d.end_at else None
    if ended is not None and ended <= period_end:
        if d.supplement_count >= 2 or ended > due:
            return Bucket.LATE
        before = ended < due if rules.early_by_moment else ended.date() < due.date()
        return Bucket.EARLY if before else Bucket.ON_TIME
    if d.supplement_count >= 2:
        return Bucket.IN_PROGRESS_LATE
    if d.paused_since and parse_moment(d.paused_since) <= period_end:
        return Bucket.PAUSED
    return Bucket.IN_PROGRESS_WITHIN if period_end <= due else Bucket.IN_PROGRESS_LATE


def in_period(d: Judged, start: datetime, end: datetime) -> bool:
    """Received or processed in the period: received before its end and not ended before it."""
    if d.state == "refused" or parse_moment(d.received_at) > end:
        return False
    return not d.end_at or parse_moment(d.end_at) >= start


@dataclass
class Stats:
    buckets: Counter[Bucket] = field(default_factory=Counter)
    rated_negative: int = 0

    @property
    def total(self) -> int:
        return sum(self.buckets.values())

    @property
    def on_time_rate(self) -> float:
        good = sum(n for b, n in self.buckets.items() if b in ON_TIME_BUCKETS)
        return 100.0 * good / self.total if self.total else 100.0

    @property
    def late_rate(self) -> float:
        late = self.buckets[Bucket.LATE] + self.buckets[Bucket.IN_PROGRESS_LATE]
        return 100.0 * late / self.total if self.total else 0.0

    @property
    def satisfaction(self) -> float:
        negative = 100.0 * self.rated_negative / self.total if self.total else 0.0
        return max(0.0, 100.0 - (self.late_rate + negative))

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            **{b.value: self.buckets[b] for b in Bucket},
            "on_time_rate": round(self.on_time_rate, 2),
            "late_rate": round(self.late_rate, 2),
            "satisfaction": round(self.satisfaction, 2),
        }


def summarise(
    dossiers: Iterable[Judged],
    start: datetime,
    end: datetime,
    group: Callable[[Judged], str] = lambda _: "all",
    rules: OnTimeRules = OnTimeRules(),
) -> dict[str, Stats]:
    """Statistics per group over the dossiers received or processed in [start, end]."""
    groups: dict[str, Stats] = {}
    for d in dossiers:
        if not in_period(d, start, end):
            continue
        stats = groups.setdefault(group(d), Stats())
        stats.buckets[judge(d, end, rules)] += 1
        negative = 0 < d.rating <= rules.negative_rating_max
        stats.rated_negative += int(d.complaint or negative)
    return groups
