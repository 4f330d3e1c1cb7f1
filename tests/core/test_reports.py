"""On-time statistics: each Decision 766 rule of reference/one-stop-vn.md."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.reports.ontime import Bucket, OnTimeRules, judge, summarise

from .conftest import World, at

PERIOD = (at("2026-11-01T00:00"), at("2026-11-30T23:59"))


@dataclass
class D:
    received_at: str = "2026-11-10T09:00+07:00"
    due_at: str = "2026-11-13T09:00+07:00"
    end_at: str = ""
    supplement_count: int = 0
    paused_since: str = ""
    state: str = "finished"
    rating: int = 0
    complaint: bool = False
    field: str = "land"


@pytest.mark.parametrize(
    ("dossier", "bucket"),
    [
        (D(end_at="2026-11-12T16:00+07:00"), Bucket.EARLY),  # a working day before the due day
        (D(end_at="2026-11-13T08:00+07:00"), Bucket.ON_TIME),  # due day, before the moment
        (D(end_at="2026-11-13T09:00+07:00"), Bucket.ON_TIME),  # exactly at the appointment
        (D(end_at="2026-11-13T09:01+07:00"), Bucket.LATE),
        (D(end_at="2026-11-12T09:00+07:00", supplement_count=2), Bucket.LATE),  # 2nd supplement
        (D(state="processing"), Bucket.IN_PROGRESS_LATE),  # judged at the period's end
        (D(state="processing", due_at="2026-12-05T09:00+07:00"), Bucket.IN_PROGRESS_WITHIN),
        (D(state="supplement_requested", paused_since="2026-11-11T09:00+07:00"), Bucket.PAUSED),
        (
            D(state="processing", due_at="2026-12-05T09:00+07:00", supplement_count=2),
            Bucket.IN_PROGRESS_LATE,
        ),
        # Ended after the period: it was in progress at the period's end.
        (
            D(end_at="2026-12-02T09:00+07:00", due_at="2026-12-05T09:00+07:00"),
            Bucket.IN_PROGRESS_WITHIN,
        ),
    ],
)
def test_buckets(dossier: D, bucket: Bucket) -> None:
    assert judge(dossier, PERIOD[1]) is bucket


def test_early_by_moment_is_configurable() -> None:
    d = D(end_at="2026-11-13T08:00+07:00")
    assert judge(d, PERIOD[1], OnTimeRules(early_by_moment=True)) is Bucket.EARLY


def test_period_membership_and_rates() -> None:
    """Counted: received in the period or still open in it. Not counted: refused at the
    counter, received after the period, ended before it."""
    dossiers = [
        D(end_at="2026-11-12T16:00+07:00"),  # early
        D(end_at="2026-11-13T10:00+07:00", complaint=True),  # late, with a complaint
        D(state="processing", due_at="2026-12-05T09:00+07:00", rating=1),  # within, unhappy
        D(
            received_at="2026-10-20T09:00+07:00",
            due_at="2026-10-25T09:00+07:00",
            end_at="2026-11-02T09:00+07:00",
        ),  # carried over from October, ended late in November
        D(state="refused", end_at="2026-11-10T09:05+07:00"),  # not received: not counted
        D(received_at="2026-12-01T09:00+07:00"),  # after the period
        D(received_at="2026-10-01T09:00+07:00", end_at="2026-10-03T09:00+07:00"),  # ended before
    ]
    stats = summarise(dossiers, *PERIOD)["all"]
    assert stats.total == 4
    assert stats.buckets[Bucket.EARLY] == 1 and stats.buckets[Bucket.LATE] == 2
    assert stats.buckets[Bucket.IN_PROGRESS_WITHIN] == 1
    assert stats.on_time_rate == 50.0
    assert stats.late_rate == 50.0
    # Satisfaction = 100 − (late rate + share with a complaint or a negative rating).
    assert stats.satisfaction == 0.0


def test_grouping_by_field() -> None:
    dossiers = [
        D(end_at="2026-11-12T16:00+07:00"),
        D(field="justice", end_at="2026-11-14T09:00+07:00"),
    ]
    groups = summarise(dossiers, *PERIOD, group=lambda d: d.field)  # type: ignore[attr-defined]
    assert groups["land"].on_time_rate == 100.0
    assert groups["justice"].on_time_rate == 0.0


def test_service_stats_by_procedure_and_clerk(world: World) -> None:
    """GIVEN two dossiers received by lan, one returned early and one still open past its
    due moment WHEN stats are asked for November by procedure and by clerk THEN each counts."""
    first = world.receive("HT-XNHN").code
    world.receive("HT-KSNC")
    for who, action in [
        ("lan", "transfer"),
        ("minh", "start"),
        ("minh", "submit"),
        ("hung", "approve"),
        ("minh", "finish"),
        ("lan", "return"),
    ]:
        world.act(who, first, action, at="2026-11-25T10:00")
    by_procedure = world.branch.reports.stats(*PERIOD, by="procedure")
    assert by_procedure["HT-XNHN"].buckets[Bucket.EARLY] == 1
    assert by_procedure["HT-KSNC"].buckets[Bucket.IN_PROGRESS_LATE] == 1
    by_clerk = world.branch.reports.stats(*PERIOD, by="clerk")
    assert by_clerk["lan"].total == 2 and by_clerk["lan"].on_time_rate == 50.0
