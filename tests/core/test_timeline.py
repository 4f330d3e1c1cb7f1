"""A dossier's column in reports made at or after its last event (``core.reports.timeline``),
which the server stores so that its statistics count dossiers in SQL: for every moment,
what the timeline says equals what ``judge`` says; and counting dossiers alike by
``ReportBuilder.count`` gives the report ``report_from_facts`` gives one by one."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.timeutil import VIETNAM
from core.reports import (
    GROUPS,
    Bucket,
    DossierFacts,
    OnTimeRules,
    ReportBuilder,
    Tally,
    judge,
    report_from_facts,
    timeline,
)
from core.reports.ontime import in_period

BASE = datetime(2026, 11, 2, 8, 0, tzinfo=VIETNAM)
hours = st.integers(min_value=0, max_value=24 * 40)


@st.composite
def dossiers(draw: st.DrawFn) -> tuple[DossierFacts, datetime]:
    """Facts of one dossier and the moment of its last event."""
    received = BASE + timedelta(hours=draw(hours))
    deadline = received + timedelta(hours=draw(st.integers(1, 24 * 15)))
    ended = draw(st.none() | hours.map(lambda h: received + timedelta(hours=h)))
    paused = draw(st.none() | hours.map(lambda h: received + timedelta(hours=h)))
    if ended is not None and paused is not None and paused > ended:
        paused = None
    latest = max(m for m in (received, ended, paused) if m is not None)
    last_at = latest + timedelta(hours=draw(st.integers(0, 48)))
    facts = DossierFacts(
        dossier_id="d",
        code="c",
        branch=draw(st.sampled_from(["A", "B"])),
        procedure_code=draw(st.sampled_from(["HT-KS", "DD-BDCN"])),
        field="f",
        clerk=draw(st.sampled_from(["an", "binh"])),
        channel=draw(st.sampled_from(["counter", "online", "postal"])),
        received_at=received,
        deadline=deadline,
        ended_at=ended,
        refused=draw(st.booleans()),
        withdrawn=draw(st.booleans()),
        paused_since=paused,
        supplement_count=draw(st.integers(0, 3)),
        reappointments=0,
        rating=draw(st.integers(0, 5)),
        complaint=draw(st.booleans()),
        has_result=draw(st.booleans()),
        digitised=draw(st.booleans()),
        payable=draw(st.booleans()),
        paid_online=draw(st.booleans()),
        received_unit=draw(st.sampled_from(["", "A", "B"])),
        processing_unit=draw(st.sampled_from(["", "A", "B"])),
    )
    return facts, last_at


@settings(max_examples=400, deadline=None)
@given(dossiers(), st.integers(0, 24 * 60))
def test_the_timeline_gives_judges_column_at_every_later_moment(
    dossier: tuple[DossierFacts, datetime], later_hours: int
) -> None:
    facts, last_at = dossier
    line = timeline(facts, last_at)
    as_of = last_at + timedelta(hours=later_hours)
    before = line.switch is None or as_of <= line.switch
    assert judge(facts, as_of) == (line.before if before else line.after)
    by_moment = OnTimeRules(early_by_moment=True)
    assert judge(facts, as_of, by_moment) == (line.moment_before if before else line.moment_after)


@settings(max_examples=60, deadline=None)
@given(st.lists(dossiers(), max_size=40), st.sampled_from(sorted(GROUPS)))
def test_counting_dossiers_alike_gives_the_same_report(
    many: list[tuple[DossierFacts, datetime]], by: str
) -> None:
    start, end = BASE + timedelta(days=3), BASE + timedelta(days=33)
    now = BASE + timedelta(days=60)
    facts = [replace(f, dossier_id=str(i)) for i, (f, _last) in enumerate(many)]
    one_by_one = report_from_facts(facts, start, end, now, by)
    builder = ReportBuilder(start, end, now, by)
    alike: Counter[tuple[str, Tally, Bucket, bool]] = Counter()
    for f in facts:
        if in_period(f, start, builder.as_of):
            bucket = judge(f, builder.as_of)
            alike[(GROUPS[by](f), Tally.of(f), bucket, f.received_at >= start)] += 1
    for (group, tally, bucket, received), n in alike.items():
        builder.count(group, tally, bucket, received, n)
    assert builder.build().as_dict() == one_by_one.as_dict()
