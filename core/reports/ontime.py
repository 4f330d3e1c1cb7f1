"""On-time statistics by Decision 766/QĐ-TTg (docs/statistics.md states each rule).

- A dossier is judged on its **deadline**: the appointment given at receipt, moved only by
  the time waiting for the citizen (a supplement, the financial obligation). A
  re-appointment (form 04) moves the date shown to the citizen, never the deadline: a
  re-appointed dossier finished after its deadline is late.
- Late when the end moment is after the deadline; early when it ends on a day before the
  deadline's day (or, configurably, at any moment before it); otherwise on time. The end
  moment is the first of finished, returned, stopped; a dossier stopped while it waited
  for the citizen is judged at the moment the wait began (the clock had stopped).
- A second supplement request counts the dossier as late.
- Withdrawn at the citizen's request (status 7, then stopped): neither on time nor late,
  counted in its own column, outside the rates. Refused dossiers were never received.
- A report is computed as of the period's end, or now when the period ends later, from the
  events dated up to that moment (``core.reports.facts``). A dossier still open then is
  in progress within or past its deadline, or paused while it waits for the citizen.

``ontime_report`` takes per-dossier event histories (what any replica holds: a desktop
its branch's, the centre every branch's); ``report_from_facts`` takes dossiers already
reduced to ``DossierFacts``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from core.domain.errors import N_, ValidationError
from core.domain.events import Event
from core.domain.timeutil import iso, to_vietnam

from .facts import DossierFacts, facts_as_of


class Bucket(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    IN_PROGRESS_WITHIN = "in_progress_within"
    IN_PROGRESS_LATE = "in_progress_late"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"


FINISHED_ON_TIME = frozenset({Bucket.EARLY, Bucket.ON_TIME})
IN_PROGRESS_ON_TIME = frozenset({Bucket.IN_PROGRESS_WITHIN, Bucket.PAUSED})
ON_TIME_BUCKETS = FINISHED_ON_TIME | IN_PROGRESS_ON_TIME
LATE_BUCKETS = frozenset({Bucket.LATE, Bucket.IN_PROGRESS_LATE})
CHANNELS = ("counter", "online", "postal")


@dataclass(frozen=True)
class OnTimeRules:
    # Some systems call any end before the appointment moment early (unconfirmed rule).
    early_by_moment: bool = False
    negative_rating_max: int = 2


def judge(d: DossierFacts, as_of: datetime, rules: OnTimeRules = OnTimeRules()) -> Bucket:
    """The column of one dossier in a report as of `as_of`."""
    if d.withdrawn:
        return Bucket.WITHDRAWN
    if d.ended_at is not None and d.ended_at <= as_of:
        clock_stopped = d.paused_since or d.ended_at
        if d.supplement_count >= 2 or clock_stopped > d.deadline:
            return Bucket.LATE
        if rules.early_by_moment:
            early = clock_stopped < d.deadline
        else:
            early = clock_stopped.date() < d.deadline.date()
        return Bucket.EARLY if early else Bucket.ON_TIME
    if d.supplement_count >= 2:
        return Bucket.IN_PROGRESS_LATE
    if d.paused_since is not None and d.paused_since <= as_of:
        return Bucket.PAUSED if d.paused_since <= d.deadline else Bucket.IN_PROGRESS_LATE
    return Bucket.IN_PROGRESS_WITHIN if as_of <= d.deadline else Bucket.IN_PROGRESS_LATE


# Later than any report's moment.
_NEVER = datetime(9999, 12, 31, tzinfo=UTC)
_BY_MOMENT = OnTimeRules(early_by_moment=True)


@dataclass(frozen=True)
class Timeline:
    """A dossier's column in every report whose moment is at or after its last event:
    `before` up to `switch` (included), `after` past it; no switch: always `before`.
    ``moment_*`` are the same under ``early_by_moment``. Past its last event nothing
    of the dossier changes but the report's moment, and ``judge`` reads that moment only
    against the deadline, so one switch is all there is (``tests/core``: every moment)."""

    before: Bucket
    after: Bucket
    moment_before: Bucket
    moment_after: Bucket
    switch: datetime | None


def timeline(d: DossierFacts, last_at: datetime) -> Timeline:
    """`d` is the dossier as of `last_at`, the moment of its latest event."""
    before, after = judge(d, last_at), judge(d, _NEVER)
    moment_before, moment_after = judge(d, last_at, _BY_MOMENT), judge(d, _NEVER, _BY_MOMENT)
    same = (before, moment_before) == (after, moment_after)
    return Timeline(before, after, moment_before, moment_after, None if same else d.deadline)


def in_period(d: DossierFacts, start: datetime, as_of: datetime) -> bool:
    """Received or processed in the period: received by its moment and not ended before it
    began. A refused dossier was never received."""
    if d.refused or d.received_at > as_of:
        return False
    return d.ended_at is None or d.ended_at >= start


def _rate(part: int, whole: int, empty: float = 0.0) -> float:
    return 100.0 * part / whole if whole else empty


@dataclass(frozen=True)
class Tally:
    """What a dossier adds to its group's figures besides its column: equal for every
    dossier of a count the server keeps (``Stats.count``)."""

    received_here: bool
    processed_here: bool
    channel: str
    complaint: bool
    rating: int
    has_result: bool
    digitised: bool
    payable: bool
    paid_online: bool

    @classmethod
    def of(cls, d: DossierFacts) -> Tally:
        return cls(
            d.received_here,
            d.processed_here,
            d.channel,
            d.complaint,
            d.rating,
            d.has_result,
            d.digitised,
            d.payable,
            d.paid_online,
        )


@dataclass
class Stats:
    """The figures of one group of dossiers."""

    buckets: Counter[Bucket] = field(default_factory=Counter)
    received: int = 0  # received within the period (the others were carried over)
    channels: Counter[str] = field(default_factory=Counter)  # of those received
    rated_negative: int = 0
    with_result: int = 0
    digitised: int = 0
    payable: int = 0
    paid_online: int = 0
    # Between units: received here and processed by another unit (judged there), and
    # received by another unit and processed here (judged here).
    sent_out: int = 0
    transferred_in: int = 0
    received_judged: int = 0  # received here in the period, and judged here

    def add(self, d: DossierFacts, bucket: Bucket, received: bool, rules: OnTimeRules) -> None:
        self.count(Tally.of(d), bucket, received, rules)

    def count(
        self, t: Tally, bucket: Bucket, received: bool, rules: OnTimeRules, n: int = 1
    ) -> None:
        """Add `n` dossiers alike in everything the figures read (a stored count)."""
        if received and t.received_here:
            self.received += n
            self.channels[t.channel] += n
        if not t.processed_here:
            self.sent_out += n
            return
        if not t.received_here:
            self.transferred_in += n
        elif received:
            self.received_judged += n
        self.buckets[bucket] += n
        self.rated_negative += n * int(t.complaint or 0 < t.rating <= rules.negative_rating_max)
        self.with_result += n * int(t.has_result)
        self.digitised += n * int(t.has_result and t.digitised)
        self.payable += n * int(t.payable)
        self.paid_online += n * int(t.payable and t.paid_online)

    @property
    def total(self) -> int:
        """Every dossier received or processed in the period, withdrawn ones included."""
        return sum(self.buckets.values())

    @property
    def withdrawn(self) -> int:
        return self.buckets[Bucket.WITHDRAWN]

    @property
    def judged(self) -> int:
        """The dossiers the rates are over: all but the withdrawn."""
        return self.total - self.withdrawn

    @property
    def carried_over(self) -> int:
        """Judged here but received before the period (or by another unit: counted apart)."""
        return self.total - self.received_judged - self.transferred_in

    def _sum(self, buckets: frozenset[Bucket]) -> int:
        return sum(self.buckets[b] for b in buckets)

    @property
    def finished_on_time(self) -> int:
        return self._sum(FINISHED_ON_TIME)

    @property
    def finished_late(self) -> int:
        return self.buckets[Bucket.LATE]

    @property
    def in_progress_on_time(self) -> int:
        return self._sum(IN_PROGRESS_ON_TIME)

    @property
    def in_progress_overdue(self) -> int:
        return self.buckets[Bucket.IN_PROGRESS_LATE]

    @property
    def on_time_rate(self) -> float:
        return _rate(self._sum(ON_TIME_BUCKETS), self.judged, empty=100.0)

    @property
    def late_rate(self) -> float:
        return _rate(self._sum(LATE_BUCKETS), self.judged)

    @property
    def satisfaction(self) -> float:
        """100 % − (late rate + share of dossiers with a complaint or a negative rating)."""
        return max(0.0, 100.0 - (self.late_rate + _rate(self.rated_negative, self.total)))

    @property
    def online_rate(self) -> float:
        return _rate(self.channels["online"], self.received)

    @property
    def digitisation_rate(self) -> float:
        return _rate(self.digitised, self.with_result)

    @property
    def paid_online_rate(self) -> float:
        return _rate(self.paid_online, self.payable)

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "received": self.received,
            "carried_over": self.carried_over,
            "sent_out": self.sent_out,
            "transferred_in": self.transferred_in,
            **{b.value: self.buckets[b] for b in Bucket},
            "judged": self.judged,
            "finished_on_time": self.finished_on_time,
            "finished_late": self.finished_late,
            "in_progress_on_time": self.in_progress_on_time,
            "in_progress_overdue": self.in_progress_overdue,
            "on_time_rate": round(self.on_time_rate, 2),
            "late_rate": round(self.late_rate, 2),
            "satisfaction": round(self.satisfaction, 2),
            "channels": {c: self.channels[c] for c in (*CHANNELS, *sorted(self.channels))},
            "online_rate": round(self.online_rate, 2),
            "with_result": self.with_result,
            "digitised": self.digitised,
            "digitisation_rate": round(self.digitisation_rate, 2),
            "payable": self.payable,
            "paid_online": self.paid_online,
            "paid_online_rate": round(self.paid_online_rate, 2),
        }


GROUPS: dict[str, Callable[[DossierFacts], str]] = {
    "all": lambda d: "all",
    "field": lambda d: d.field,
    "procedure": lambda d: d.procedure_code,
    "clerk": lambda d: d.clerk,
    "branch": lambda d: d.branch,
    "month": lambda d: d.month,
    "channel": lambda d: d.channel,
    "received_unit": lambda d: d.received_unit or d.branch,
    "processing_unit": lambda d: d.processing_unit or d.branch,
}


@dataclass(frozen=True)
class OnTimeReport:
    period_start: datetime
    period_end: datetime
    as_of: datetime  # the period's end, or the present when it ends later
    group_by: str
    overall: Stats
    groups: dict[str, Stats]

    def as_dict(self) -> dict[str, object]:
        return {
            "from": iso(self.period_start),
            "to": iso(self.period_end),
            "as_of": iso(self.as_of),
            "by": self.group_by,
            "overall": self.overall.as_dict(),
            "groups": {name: s.as_dict() for name, s in sorted(self.groups.items())},
        }


def check_period(start: datetime, end: datetime, group_by: str) -> None:
    if group_by not in GROUPS:
        raise ValidationError(
            N_("Cannot group by {by}: use {choices}"), by=group_by, choices=", ".join(GROUPS)
        )
    if end < start:
        raise ValidationError(N_("The period ends before it starts"))


def as_of_moment(period_end: datetime, now: datetime) -> datetime:
    """A period is judged at its end; one that ends in the future, at the present."""
    return to_vietnam(min(period_end, now))


class ReportBuilder:
    """A report's figures added up dossier by dossier (``add``), or by stored counts of
    dossiers alike (``count``: the server's statistics); ``build`` makes the report."""

    def __init__(
        self,
        start: datetime,
        end: datetime,
        now: datetime,
        group_by: str = "all",
        rules: OnTimeRules = OnTimeRules(),
    ) -> None:
        check_period(start, end, group_by)
        self.start, self.end, self.group_by, self.rules = start, end, group_by, rules
        self.as_of = as_of_moment(end, now)
        self.group = GROUPS[group_by]
        self.overall = Stats()
        self.groups: dict[str, Stats] = {}

    @property
    def empty(self) -> bool:
        """The period starts after the report's moment: nothing counts."""
        return self.as_of < self.start

    def add(self, d: DossierFacts) -> None:
        if self.empty or not in_period(d, self.start, self.as_of):
            return
        bucket = judge(d, self.as_of, self.rules)
        self.count(self.group(d), Tally.of(d), bucket, d.received_at >= self.start)

    def count(self, group: str, t: Tally, bucket: Bucket, received: bool, n: int = 1) -> None:
        """`n` dossiers in the period, alike, in `group`, judged `bucket`."""
        self.overall.count(t, bucket, received, self.rules, n)
        self.groups.setdefault(group, Stats()).count(t, bucket, received, self.rules, n)

    def build(self) -> OnTimeReport:
        return OnTimeReport(
            to_vietnam(self.start),
            to_vietnam(self.end),
            self.as_of,
            self.group_by,
            self.overall,
            self.groups,
        )


def report_from_facts(
    dossiers: Iterable[DossierFacts],
    start: datetime,
    end: datetime,
    now: datetime,
    group_by: str = "all",
    rules: OnTimeRules = OnTimeRules(),
) -> OnTimeReport:
    """The report over dossiers reduced to their facts as of ``as_of_moment(end, now)``."""
    builder = ReportBuilder(start, end, now, group_by, rules)
    for d in dossiers:
        builder.add(d)
    return builder.build()


def ontime_report(
    histories: Iterable[Iterable[Event]],
    start: datetime,
    end: datetime,
    now: datetime,
    group_by: str = "all",
    rules: OnTimeRules = OnTimeRules(),
) -> OnTimeReport:
    """The report over per-dossier event histories (each one dossier's events, any order).

    Only the events dated up to ``as_of_moment(end, now)`` are read: the report for a
    period never changes once the period has ended."""
    check_period(start, end, group_by)
    as_of = as_of_moment(end, now)
    facts = (facts_as_of(events, as_of) for events in histories)
    return report_from_facts((f for f in facts if f is not None), start, end, now, group_by, rules)
