"""On-time statistics (Decision 766/QĐ-TTg), each rule of docs/statistics.md on real events.

Every dossier below is HT-XNHN (3 working days) received Monday 23/11/2026 09:00 unless it
says otherwise: Monday gives 6 working hours (09:00–11:30, 13:30–17:00), Tuesday 24/11 is
Vietnam Culture Day, Wednesday and Thursday give 16 more, and the last 2 hours end
**Friday 27/11/2026 09:00**, the appointment given at receipt. The November report is
asked on 10/12 (so it is judged at 30/11 23:59:59) unless the case says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core.domain.errors import MotcuaError, TransitionRefused, ValidationError
from core.domain.events import Event, EventType
from core.domain.hlc import Timestamp
from core.domain.timeutil import VIETNAM, epoch_ms, iso, parse_moment
from core.reports import Bucket, OnTimeReport, ontime_report
from core.reports.facts import view_as_of

from .conftest import PASSWORDS, World, at
from .test_cli import Motcua

NOVEMBER = (at("2026-11-01T00:00"), at("2026-11-30T23:59:59"))
DUE = "2026-11-27T09:00:00+07:00"
RECEIPT_TO_APPROVAL = [
    ("lan", "transfer", "2026-11-23T10:00"),
    ("minh", "start", "2026-11-23T10:00"),
    ("minh", "submit", "2026-11-25T10:00"),
    ("hung", "approve", "2026-11-25T11:00"),
]


def take(world: World, code: str, steps: list[tuple[str, str, str]]) -> Any:
    view = None
    for who, action, moment in steps:
        view = world.act(who, code, action, at=moment, note="lý do")
    return view


def finish(world: World, code: str, moment: str) -> Any:
    return take(world, code, [*RECEIPT_TO_APPROVAL, ("minh", "finish", moment)])


def november(world: World, now: str = "2026-12-10T09:00", by: str = "all") -> OnTimeReport:
    world.clock.set(now)
    return world.branch.reports.report(*NOVEMBER, by=by)


def bucket_of(world: World, now: str = "2026-12-10T09:00") -> Bucket:
    (bucket,) = +november(world, now).overall.buckets
    return bucket


# --- the deadline: the appointment given at receipt --------------------------------------


def test_re_appointed_dossier_finished_after_its_original_appointment_is_late(
    world: World,
) -> None:
    """GIVEN a leader's new appointment (form 04) on Thursday 26/11 10:00 for Tuesday 1/12
    17:00 WHEN the result is ready Monday 30/11 10:00 — before the date shown, after
    Friday 27/11 09:00 THEN the dossier is late: the re-appointment moved the date shown,
    not the one it is judged on."""
    code = world.receive().code
    view = world.act(
        "hung",
        code,
        "reappoint",
        at="2026-11-26T10:00",
        note="Chờ xác minh",
        details={"due_at": "2026-12-01T17:00"},
    )
    assert (view.due_at, view.deadline_at) == ("2026-12-01T17:00:00+07:00", DUE)
    assert "form 04" in view.due_explanation[-1]["message"]
    finish(world, code, "2026-11-30T10:00")
    assert bucket_of(world) is Bucket.LATE


def test_re_appointed_dossier_finished_before_its_original_appointment_is_on_time(
    world: World,
) -> None:
    """Re-appointed Thursday for Tuesday, finished Friday 27/11 08:00 (≤ 09:00): on time."""
    code = world.receive().code
    world.act(
        "hung", code, "reappoint", at="2026-11-26T10:00", note="x", details={"due_at": "2026-12-01"}
    )
    finish(world, code, "2026-11-27T08:00")
    assert bucket_of(world) is Bucket.ON_TIME


@pytest.mark.parametrize(
    ("moment", "error"),
    [
        ("2026-11-27T09:00", TransitionRefused),  # the appointment has passed (at its moment)
        ("2026-11-28T10:00", TransitionRefused),  # and a day later
    ],
)
def test_re_appointment_only_before_the_appointment_passes(
    world: World, moment: str, error: type[Exception]
) -> None:
    code = world.receive().code
    with pytest.raises(error):
        world.act(
            "hung", code, "reappoint", at=moment, note="x", details={"due_at": "2026-12-04T17:00"}
        )
    assert len(world.branch.dossiers.timeline(code)) == 1  # nothing recorded


def test_a_second_re_appointment_needs_the_leaders_reason(world: World) -> None:
    """First: Thursday 26/11 for Tuesday 1/12. Second, Monday 30/11 for Friday 4/12: refused
    without the leader's reason, recorded with it (the dossier stays judged on 27/11)."""
    code = world.receive().code
    world.act(
        "hung", code, "reappoint", at="2026-11-26T10:00", note="x", details={"due_at": "2026-12-01"}
    )
    second = {"due_at": "2026-12-04T17:00"}
    with pytest.raises(ValidationError, match="leader's reason"):
        world.act("hung", code, "reappoint", at="2026-11-30T10:00", note="y", details=second)
    view = world.act(
        "hung",
        code,
        "reappoint",
        at="2026-11-30T10:00",
        note="y",
        details={**second, "repeat_reason": "Chờ kết quả giám định của Sở"},
    )
    assert (view.reappointments, view.due_at, view.deadline_at) == (
        2,
        "2026-12-04T17:00:00+07:00",
        DUE,
    )
    events = world.branch.dossiers.events(code)
    assert events[-1].payload["repeat_reason"] == "Chờ kết quả giám định của Sở"


# --- waits for the citizen are excluded --------------------------------------------------


def test_supplement_time_is_excluded(world: World) -> None:
    """A supplement asked Monday 23/11 14:00, brought Wednesday 25/11 09:00 (3 h + 2 h = 5
    working hours): the deadline is Friday 27/11 16:00. Finished Friday 15:00: on time
    (without the exclusion it would be 6 hours late)."""
    code = world.receive().code
    world.act("lan", code, "request-supplement", at="2026-11-23T14:00", note="Thiếu tờ khai")
    world.act("lan", code, "supplement", at="2026-11-25T09:00")
    finish(world, code, "2026-11-27T15:00")
    assert bucket_of(world) is Bucket.ON_TIME


def test_financial_obligation_time_is_excluded(world: World) -> None:
    """In processing from Monday 09:30; the obligation (status 6) asked Wednesday 25/11
    10:00, paid Monday 30/11 10:00: 5 + 8 + 8 + 3 = 24 working hours, so the deadline is
    Wednesday 02/12 09:00 and at 30/11 23:59:59 the dossier is in progress on time."""
    code = world.receive().code
    world.act("lan", code, "transfer", at="2026-11-23T09:30")
    world.act("minh", code, "start", at="2026-11-23T09:30")
    world.act("minh", code, "request-payment", at="2026-11-25T10:00", note="Lệ phí")
    world.act("lan", code, "pay", at="2026-11-30T10:00")
    assert bucket_of(world) is Bucket.IN_PROGRESS_WITHIN


@pytest.mark.parametrize(
    ("asked", "bucket"),
    [
        # Waiting since Thursday 26/11 10:00, before the deadline: paused, on time.
        ("2026-11-26T10:00", Bucket.PAUSED),
        # Asked Monday 30/11 10:00, after Friday 09:00: it was late already.
        ("2026-11-30T10:00", Bucket.IN_PROGRESS_LATE),
    ],
)
def test_waiting_at_the_period_end(world: World, asked: str, bucket: Bucket) -> None:
    code = world.receive().code
    world.act("lan", code, "request-supplement", at=asked, note="Thiếu giấy tờ")
    assert bucket_of(world) is bucket


def test_a_second_supplement_request_counts_late(world: World) -> None:
    """Two supplements, each back within the hour, finished Wednesday: late all the same."""
    code = world.receive().code
    for asked, brought in [("2026-11-23T10:00", "2026-11-23T10:30")] * 2:
        world.act("lan", code, "request-supplement", at=asked, note="Thiếu")
        world.act("lan", code, "supplement", at=brought)
    finish(world, code, "2026-11-25T14:00")
    assert bucket_of(world) is Bucket.LATE


# --- withdrawn: its own column, outside the rate ----------------------------------------


def test_withdrawn_dossiers_are_neither_on_time_nor_late(world: World) -> None:
    """GIVEN one dossier finished Wednesday 25/11 (early), one withdrawn Wednesday and
    stopped at the citizen's request Thursday, one whose withdrawal is asked Monday
    30/11 (status 7, still open) THEN the two withdrawn ones are in their own column and
    the rate is 1 of 1 judged: 100 %."""
    finish(world, world.receive().code, "2026-11-25T14:00")
    stopped = world.receive().code
    world.act("lan", stopped, "withdraw", at="2026-11-25T10:00", note="Công dân rút hồ sơ")
    world.act("hung", stopped, "stop", at="2026-11-26T10:00", note="Theo đề nghị")
    pending = world.receive().code
    world.act("lan", pending, "withdraw", at="2026-11-30T10:00", note="Công dân rút hồ sơ")
    stats = november(world).overall
    assert (stats.total, stats.withdrawn, stats.judged) == (3, 2, 1)
    assert stats.buckets[Bucket.EARLY] == 1 and stats.on_time_rate == 100.0
    assert stats.as_dict()["withdrawn"] == 2


def test_stopped_by_the_agency_is_judged(world: World) -> None:
    """Stopped by the leader (not at the citizen's request) Monday 30/11: judged at its end
    moment, after Friday 09:00 → late."""
    code = world.receive().code
    world.act("lan", code, "transfer", at="2026-11-23T10:00")
    world.act("minh", code, "start", at="2026-11-23T10:00")
    world.act("hung", code, "stop", at="2026-11-30T10:00", note="Không đủ điều kiện")
    assert bucket_of(world) is Bucket.LATE


# --- as of the period's end ----------------------------------------------------------


def test_events_after_the_period_change_nothing(world: World) -> None:
    """GIVEN a dossier open at 30/11 23:59:59, past Friday 09:00 (in progress, overdue)
    WHEN in December it gets a supplement request, is brought back, finished, returned and
    rated THEN the November report is the same; December's counts the finish."""
    code = world.receive().code
    before = november(world)
    assert +before.overall.buckets == {Bucket.IN_PROGRESS_LATE: 1}
    world.act("lan", code, "request-supplement", at="2026-12-01T09:00", note="Thiếu")
    world.act("lan", code, "supplement", at="2026-12-02T09:00")
    take(world, code, [(w, a, "2026-12-03T09:00") for w, a, _ in RECEIPT_TO_APPROVAL])
    world.act("minh", code, "finish", at="2026-12-03T10:00")
    world.act("lan", code, "return", at="2026-12-03T11:00")
    token = world.branch.dossiers.get(code).lookup_token
    world.clock.set("2026-12-04T09:00")
    world.branch.dossiers.rate(code, token, 1, complaint=True)
    after = november(world)
    assert after == before
    december = world.branch.reports.report(at("2026-12-01T00:00"), at("2026-12-31T23:59:59"))
    assert +december.overall.buckets == {Bucket.LATE: 1}
    assert december.overall.rated_negative == 1


def test_a_period_ending_in_the_future_is_judged_now(world: World) -> None:
    """The November report asked Thursday 26/11 16:00: the dossier due Friday 09:00 is in
    progress within its deadline; asked Friday 27/11 10:00, overdue."""
    world.receive()
    report = november(world, now="2026-11-26T16:00")
    assert report.as_of == at("2026-11-26T16:00")
    assert +report.overall.buckets == {Bucket.IN_PROGRESS_WITHIN: 1}
    assert bucket_of(world, now="2026-11-27T10:00") is Bucket.IN_PROGRESS_LATE


def test_a_record_folded_before_deadlines_were_kept_is_read_from_the_log(world: World) -> None:
    """GIVEN the re-appointed dossier finished Monday 30/11 (late), its stored record as an
    older release wrote it (no deadline, no re-appointment count, no last moment) THEN the
    report folds it again from the log and still finds it late."""
    code = world.receive().code
    world.act(
        "hung", code, "reappoint", at="2026-11-26T10:00", note="x", details={"due_at": "2026-12-01"}
    )
    finish(world, code, "2026-11-30T10:00")

    def strip(conn: Any) -> None:
        doc = json.loads(conn.execute(text("SELECT doc FROM dossiers")).scalar_one())
        for name in ("deadline_at", "reappointments", "last_at", "withdrawn_at"):
            doc.pop(name)
        conn.execute(text("UPDATE dossiers SET doc = :doc"), {"doc": json.dumps(doc)})

    world.branch.store.write(strip)
    assert world.branch.dossiers.get(code).last_at == ""
    assert bucket_of(world) is Bucket.LATE


# --- channels, online rate, digitisation, online payment --------------------------------


def attach(world: World, code: str, component: str) -> None:
    view = world.branch.dossiers.get(code)
    world.branch.record(
        view.id,
        "lan",
        EventType.ATTACH,
        {
            "at": iso(world.clock()),
            "component": component,
            "file": {
                "sha256": "a" * 64,
                "pages": 1,
                "size": 10,
                "media_type": "application/pdf",
                "name": f"{code}-{component}.pdf",
            },
        },
    )


def test_channels_online_rate_digitisation_and_online_payment(world: World) -> None:
    """GIVEN 4 dossiers received in November: 2 online, 1 by post, 1 at the counter; the
    counter one finished with every component scanned and the electronic result attached,
    an online one finished with its scans but no result file; the postal one paid its
    obligation online THEN by channel: online 2, postal 1, counter 1; online rate 2/4 =
    50 %; digitised 1 of the 2 with a result = 50 %; every HT-XNHN dossier owes its
    15,000 đ fee, and 1 of the 4 was paid online: 25 %."""
    counter = world.receive().code
    online = world.receive(channel="online").code
    world.receive(channel="online")
    postal = world.receive(channel="postal").code
    for code in (counter, online):
        for comp in world.branch.dossiers.get(code).components:
            attach(world, code, comp["key"])
        finish(world, code, "2026-11-25T14:00")
    attach(world, counter, "result")
    world.act("lan", postal, "transfer", at="2026-11-23T10:00")
    world.act("minh", postal, "start", at="2026-11-23T10:00")
    world.act("minh", postal, "request-payment", at="2026-11-23T11:00", note="Lệ phí")
    world.act("lan", postal, "pay", at="2026-11-23T15:00", details={"payment_method": "online"})
    report = november(world, by="channel")
    overall = report.overall
    assert dict(overall.channels) == {"counter": 1, "online": 2, "postal": 1}
    assert overall.online_rate == 50.0
    assert (overall.with_result, overall.digitised, overall.digitisation_rate) == (2, 1, 50.0)
    assert (overall.payable, overall.paid_online, overall.paid_online_rate) == (4, 1, 25.0)
    assert {k: g.total for k, g in report.groups.items()} == {
        "counter": 1,
        "online": 2,
        "postal": 1,
    }
    assert report.groups["online"].buckets[Bucket.EARLY] == 1


# --- the CLI gives the same figures ------------------------------------------------------


def test_cli_stats_prints_the_same_figures(world: World, tmp_path: Path) -> None:
    """GIVEN November dossiers: one finished early at the counter, one online withdrawn and
    stopped, one online still open and overdue WHEN `motcua stats --by channel` is run on
    the same store (a past period: the real clock judges it at 30/11 23:59:59) THEN it
    prints the service's report: withdrawn in its own column, the channels, the rates."""
    finish(world, world.receive().code, "2026-11-25T14:00")
    withdrawn = world.receive(channel="online").code
    world.act("lan", withdrawn, "withdraw", at="2026-11-25T10:00", note="Công dân rút hồ sơ")
    world.act("hung", withdrawn, "stop", at="2026-11-26T10:00", note="Theo đề nghị")
    world.receive(channel="online")
    expected = november(world, by="channel").as_dict()
    cli = Motcua(world.branch.data_dir, tmp_path)
    stats = cli.json(
        "stats", "--from", "2026-11-01", "--to", "2026-11-30", "--by", "channel",
        user="hung", password=PASSWORDS["hung"],
    )  # fmt: skip
    assert stats == {**expected, "from": "2026-11-01", "to": "2026-11-30"}
    overall = stats["overall"]
    assert (overall["total"], overall["withdrawn"], overall["judged"]) == (3, 1, 2)
    assert (overall["early"], overall["in_progress_late"], overall["on_time_rate"]) == (1, 1, 50.0)
    assert overall["channels"] == {"counter": 1, "online": 2, "postal": 0}
    assert overall["online_rate"] == round(200 / 3, 2)
    assert stats["groups"]["online"]["withdrawn"] == 1


# --- the report for a period is unchanged by any event dated after its end ---------------

START = datetime(2026, 10, 1, tzinfo=VIETNAM)
STEPS = (
    "transfer",
    "start",
    "submit",
    "approve",
    "finish",
    "return",
    "request-supplement",
    "supplement",
    "request-payment",
    "pay",
    "withdraw",
    "stop",
    "reappoint",
    "rate",
    "attach",
    "note",
)


class History:
    """One dossier's events, built by hand (the fold checks no signature)."""

    def __init__(self, number: int, received: datetime, due: datetime, channel: str) -> None:
        self.id = f"D{number:04d}"
        self.events: list[Event] = []
        self.add(
            "dossier.receive",
            {
                "at": iso(received),
                "code": f"TAYHO-261001-{number:04d}",
                "procedure": {"code": "HT-XNHN", "version": 1, "name": "XN", "field": "civil"},
                "applicant": {"full_name": "A"},
                "channel": channel,
                "components": [{"key": "to-khai", "name": "Tờ khai", "supplied": True}],
                "fees_vnd": 0,
                "due": {"due_at": iso(due), "steps": []},
                "lookup_token": "t",
            },
        )

    def add(self, type_: str, payload: dict[str, Any], hlc_ms: int | None = None) -> None:
        seq = len(self.events) + 1
        # Recorded when it happened (the fold sets aside a step dated a day past its clock)
        stamp = hlc_ms if hlc_ms is not None else epoch_ms(parse_moment(payload["at"]))
        self.events.append(
            Event(
                event_id=f"{self.id}-{seq}",
                dossier_id=self.id,
                branch="TAYHO",
                type=type_,
                payload=payload,
                actor="lan",
                origin_device="desk",
                origin_seq=seq,
                hlc=Timestamp(stamp, seq).encode(),
            )
        )

    def step(self, name: str, moment: datetime, hlc_ms: int | None = None) -> None:
        at_ = iso(moment)
        later = iso(moment + timedelta(days=3))
        payloads: dict[str, tuple[str, dict[str, Any]]] = {
            "rate": (EventType.RATE, {"at": at_, "score": 1, "complaint": True}),
            "note": (EventType.NOTE, {"at": at_, "text": "n"}),
            "attach": (
                EventType.ATTACH,
                {"at": at_, "component": "result", "file": {"sha256": "b" * 64}},
            ),
            "supplement": (
                "dossier.supplement",
                {"at": at_, "due_at": later, "deadline_at": later},
            ),
            "pay": ("dossier.pay", {"at": at_, "due_at": later, "payment_method": "online"}),
            "reappoint": ("dossier.reappoint", {"at": at_, "due_at": later}),
        }
        type_, payload = payloads.get(name, (f"dossier.{name}", {"at": at_, "note": "x"}))
        self.add(type_, payload, hlc_ms)


@st.composite
def branch_log(draw: st.DrawFn) -> list[History]:
    histories = []
    for number in range(draw(st.integers(1, 6))):
        received = START + timedelta(hours=draw(st.integers(0, 24 * 75)))
        due = received + timedelta(hours=draw(st.integers(1, 24 * 12)))
        channel = draw(st.sampled_from(("counter", "online", "postal")))
        history = History(number, received, due, channel)
        moment = received
        for name in draw(st.lists(st.sampled_from(STEPS), max_size=10)):
            moment += timedelta(hours=draw(st.integers(0, 96)))
            history.step(name, moment)
        histories.append(history)
    return histories


@settings(max_examples=200, deadline=None)
@given(
    log=branch_log(),
    period_days=st.integers(0, 60),
    now_days=st.integers(0, 150),
    later=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(STEPS),
            st.integers(1, 24 * 60),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
    by=st.sampled_from(("all", "channel", "month")),
)
def test_events_dated_after_the_period_end_change_nothing(
    log: list[History],
    period_days: int,
    now_days: int,
    later: list[tuple[int, str, int, bool]],
    by: str,
) -> None:
    """GIVEN any branch log and a period in it WHEN any events dated after the period's end
    are added — appended, or with a clock that sorts them among the earlier ones — THEN
    the report for the period is the same."""
    start = START + timedelta(days=15)
    end = start + timedelta(days=period_days)
    now = START + timedelta(days=now_days)
    before = ontime_report([h.events for h in log], start, end, now, by)
    for index, name, minutes, early_clock in later:
        history = log[index % len(log)]
        moment = end + timedelta(minutes=minutes)
        # A clock 23 h behind (within the day the fold allows) sorts it among earlier steps.
        hlc_ms = epoch_ms(moment - timedelta(hours=23)) if early_clock else None
        history.step(name, moment, hlc_ms)
    assert ontime_report([h.events for h in log], start, end, now, by) == before
    # Every record folds from its receipt: the property is not about an empty log.
    assert all(view_as_of(h.events, now + timedelta(days=400)) for h in log)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    later=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(STEPS), st.integers(1, 60 * 24 * 20)),
        min_size=1,
        max_size=6,
    )
)
def test_the_branch_report_is_unchanged_by_later_events(
    world: World, later: list[tuple[int, str, int]]
) -> None:
    """The same property through the desktop's service, which reads a dossier with no later
    event from its projection and folds the others again from the log: three November
    dossiers (one finished, one waiting, one open) get any later steps, in any order."""
    if not world.branch.dossiers.browse():
        finish(world, world.receive().code, "2026-11-25T14:00")
        waiting = world.receive().code
        world.act("lan", waiting, "request-supplement", at="2026-11-26T10:00", note="x")
        world.receive(channel="online")
    codes = sorted(v.code for v in world.branch.dossiers.browse())
    before = november(world)
    for index, name, minutes in later:
        moment = NOVEMBER[1] + timedelta(minutes=minutes)
        _later_step(world, codes[index % len(codes)], name, moment)
    assert november(world) == before


def _later_step(world: World, code: str, name: str, moment: datetime) -> None:
    world.clock.set(moment.isoformat())
    actions: dict[str, Callable[[], object]] = {
        "rate": lambda: world.branch.dossiers.rate(
            code, world.branch.dossiers.get(code).lookup_token, 1, complaint=True
        ),
        "note": lambda: world.branch.dossiers.note(world.users["lan"], code, "sau kỳ"),
        "attach": lambda: attach(world, code, "result"),
    }
    who = {"approve": "hung", "stop": "hung", "reappoint": "hung", "start": "minh"}.get(name, "lan")
    details = {"due_at": iso(moment + timedelta(days=3)), "repeat_reason": "r"}
    try:
        if name in actions:
            actions[name]()
        else:
            world.act(who, code, name, at=moment.isoformat(), note="x", details=details)
    except MotcuaError:
        pass  # not allowed from the dossier's state then: nothing recorded
