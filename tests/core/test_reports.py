"""On-time statistics: the columns and rates of docs/statistics.md over dossier facts.

The rules themselves, each on real events, are in test_ontime_rules.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from core.domain.errors import ValidationError
from core.reports import Bucket, DossierFacts, OnTimeRules, judge, report_from_facts

from .conftest import World, at

PERIOD = (at("2026-11-01T00:00"), at("2026-11-30T23:59"))
NOW = at("2026-12-15T09:00")  # the period is over: judged at its end

BASE = DossierFacts(
    dossier_id="d",
    code="TAYHO-261110-0001",
    branch="TAYHO",
    procedure_code="HT-XNHN",
    field="civil_status",
    clerk="lan",
    channel="counter",
    received_at=at("2026-11-10T09:00"),
    deadline=at("2026-11-13T09:00"),
    ended_at=None,
    refused=False,
    withdrawn=False,
    paused_since=None,
    supplement_count=0,
    reappointments=0,
    rating=0,
    complaint=False,
    has_result=False,
    digitised=False,
    payable=False,
    paid_online=False,
)


def facts(ended: str = "", paused: str = "", **changes: object) -> DossierFacts:
    if ended:
        changes["ended_at"] = at(ended)
        changes.setdefault("has_result", True)
    if paused:
        changes["paused_since"] = at(paused)
    for name in ("received_at", "deadline"):
        if isinstance(changes.get(name), str):
            changes[name] = at(str(changes[name]))
    return replace(BASE, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("dossier", "bucket"),
    [
        (facts("2026-11-12T16:00"), Bucket.EARLY),  # a working day before the deadline's day
        (facts("2026-11-13T08:00"), Bucket.ON_TIME),  # the deadline's day, before its moment
        (facts("2026-11-13T09:00"), Bucket.ON_TIME),  # exactly at the deadline
        (facts("2026-11-13T09:01"), Bucket.LATE),
        (facts("2026-11-12T09:00", supplement_count=2), Bucket.LATE),  # a second supplement
        (facts(), Bucket.IN_PROGRESS_LATE),  # open at the period's end, past 13/11 09:00
        (facts(deadline="2026-12-05T09:00"), Bucket.IN_PROGRESS_WITHIN),
        (facts(paused="2026-11-11T09:00"), Bucket.PAUSED),  # waiting since before the deadline
        (facts(paused="2026-11-14T09:00"), Bucket.IN_PROGRESS_LATE),  # it was late when it paused
        (facts(deadline="2026-12-05T09:00", supplement_count=2), Bucket.IN_PROGRESS_LATE),
        # Stopped on 20/11 while waiting since 12/11: the clock stopped before the deadline.
        (facts("2026-11-20T09:00", paused="2026-11-12T09:00"), Bucket.EARLY),
        (facts("2026-11-20T09:00", withdrawn=True), Bucket.WITHDRAWN),
        (facts(withdrawn=True), Bucket.WITHDRAWN),  # withdrawal asked, not yet stopped
    ],
)
def test_buckets(dossier: DossierFacts, bucket: Bucket) -> None:
    assert judge(dossier, PERIOD[1]) is bucket


def test_early_by_moment_is_configurable() -> None:
    d = facts("2026-11-13T08:00")
    assert judge(d, PERIOD[1], OnTimeRules(early_by_moment=True)) is Bucket.EARLY


def test_period_membership_and_rates() -> None:
    """Counted: received in the period or still open in it. Not counted: refused at the
    counter, received after the period, ended before it. Withdrawn: its own column,
    outside the rates."""
    dossiers = [
        facts("2026-11-12T16:00"),  # early
        facts("2026-11-13T10:00", complaint=True),  # late, with a complaint
        facts(deadline="2026-12-05T09:00", rating=1),  # in progress within, unhappy
        facts("2026-11-02T09:00", received_at="2026-10-20T09:00", deadline="2026-10-25T09:00"),
        facts("2026-11-10T09:05", refused=True),  # not received: not counted
        facts(received_at="2026-12-01T09:00"),  # after the period
        facts("2026-10-03T09:00", received_at="2026-10-01T09:00"),  # ended before it
        facts("2026-11-20T09:00", withdrawn=True),  # withdrawn: apart
    ]
    stats = report_from_facts(dossiers, *PERIOD, NOW).overall
    assert (stats.total, stats.judged, stats.withdrawn) == (5, 4, 1)
    assert (stats.received, stats.carried_over) == (4, 1)  # one carried over from October
    assert stats.buckets[Bucket.EARLY] == 1 and stats.buckets[Bucket.LATE] == 2
    assert stats.finished_on_time == 1 and stats.finished_late == 2
    assert stats.in_progress_on_time == 1 and stats.in_progress_overdue == 0
    # 2 of the 4 judged are on time (early, within); the withdrawn one is not in the rate.
    assert stats.on_time_rate == 50.0
    assert stats.late_rate == 50.0
    # Satisfaction = 100 − (late rate 50 + 2 of 5 dossiers with a complaint or a bad rating).
    assert stats.satisfaction == 10.0


def test_channels_online_digitisation_and_online_payment() -> None:
    """4 received: 2 online, 1 postal, 1 counter → online rate 50 %. 2 have a result, 1 of
    them digitised → 50 %. 2 payable, 1 paid online → 50 %."""
    dossiers = [
        facts(channel="online", deadline="2026-12-05T09:00"),
        facts("2026-11-12T09:00", channel="online", digitised=True, payable=True, paid_online=True),
        facts("2026-11-12T09:00", channel="postal", payable=True),
        facts(deadline="2026-12-05T09:00"),
    ]
    report = report_from_facts(dossiers, *PERIOD, NOW, group_by="channel")
    overall = report.overall
    assert dict(overall.channels) == {"online": 2, "postal": 1, "counter": 1}
    assert overall.online_rate == 50.0
    assert (overall.with_result, overall.digitised, overall.digitisation_rate) == (2, 1, 50.0)
    assert (overall.payable, overall.paid_online, overall.paid_online_rate) == (2, 1, 50.0)
    assert {k: s.total for k, s in report.groups.items()} == {
        "online": 2,
        "postal": 1,
        "counter": 1,
    }
    doc = report.as_dict()
    assert doc["overall"]["channels"] == {"counter": 1, "online": 2, "postal": 1}  # type: ignore[index]


def test_grouping_by_field() -> None:
    dossiers = [facts("2026-11-12T16:00"), facts("2026-11-14T09:00", field="justice")]
    groups = report_from_facts(dossiers, *PERIOD, NOW, group_by="field").groups
    assert groups["civil_status"].on_time_rate == 100.0
    assert groups["justice"].on_time_rate == 0.0


def test_a_bad_grouping_or_period_is_refused() -> None:
    with pytest.raises(ValidationError):
        report_from_facts([], *PERIOD, NOW, group_by="colour")
    with pytest.raises(ValidationError):
        report_from_facts([], PERIOD[1], PERIOD[0], NOW)


def test_empty_group_rates() -> None:
    stats = report_from_facts([], *PERIOD, NOW).overall
    assert (stats.total, stats.on_time_rate, stats.online_rate, stats.satisfaction) == (
        0,
        100.0,
        0.0,
        100.0,
    )


def test_service_stats_by_procedure_and_clerk(world: World) -> None:
    """GIVEN two dossiers received by lan on Monday 23/11/2026, one returned early and one
    still open past its due moment WHEN stats are asked for November by procedure and by
    clerk THEN each counts."""
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
    world.clock.set("2026-12-10T09:00")
    by_procedure = world.branch.reports.stats(*PERIOD, by="procedure")
    assert by_procedure["HT-XNHN"].buckets[Bucket.EARLY] == 1
    assert by_procedure["HT-KSNC"].buckets[Bucket.IN_PROGRESS_LATE] == 1
    by_clerk = world.branch.reports.stats(*PERIOD, by="clerk")
    assert by_clerk["lan"].total == 2 and by_clerk["lan"].on_time_rate == 50.0


def test_service_report_carries_its_moment(world: World) -> None:
    world.receive("HT-XNHN")
    report = world.branch.reports.report(*PERIOD)
    assert report.as_of == world.clock() and isinstance(report.as_of, datetime)
    assert report.overall.total == 1 and report.groups["all"] is not None
