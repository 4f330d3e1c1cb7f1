"""Three ways one hostile desk of a branch could stop its honest neighbours, each met at the
real server (and an honest desk's real peer service):

- a moment that matches the pattern but is no date (``2026-99-99``): the server's fold of
  the branch, and every desk's statistics, failed on it;
- an event dated far ahead (``999999999999999.999999``): every desk that received it moved
  its clock there, and its next events overflowed the clock's encoding, refused for good;
- a chain forked between the LAN and the server (one event to a neighbour's peer service,
  another under the same sequence to the server): the neighbour's every pull then failed.

And one way it could stop a dossier: a step dated long before the dossier's receipt (a
wait "started" in 1990, which no working time could end), now set aside by the fold.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import Connection, select, update

from core.domain import hlc
from core.domain.errors import TransitionRefused
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.domain.step_moments import check_step_moments
from core.domain.timeutil import iso, parse_moment, to_vietnam
from core.domain.workflow import Action, State
from core.reports import readable_facts
from core.services.online import OnlineService
from core.services.peers import PeerService, sync_with_peer
from core.services.reporting import ReportService
from core.services.sync import LocalReplica
from core.storage import event_store, quarantine, replication
from core.storage import schema as lt
from core.sync.peer import peer_url
from sync_server import schema as st
from sync_server.projections import facts_of
from tests.server.test_authority import forged, pair
from tests.server.test_bad_input import push, refused, stored
from tests.sync.fixtures import LEADER, OFFICER, SPECIALIST, Net, receive
from tests.sync.test_peers import signed_post

MOMENT = "2026-11-23T09:00:00+07:00"


@pytest.mark.parametrize(
    ("type_", "payload"),
    [
        ("dossier.note", {"at": "2026-02-30T09:00:00+07:00", "text": "x"}),
        ("dossier.note", {"at": "2026-11-23T25:00+07:00", "text": "x"}),
        ("dossier.note", {"at": "9999-12-31T23:59+00:00", "text": "x"}),
        (
            "dossier.supplement",
            {"at": MOMENT, "due_at": "2026-99-99T00:00+07:00", "deadline_at": MOMENT},
        ),
    ],
)
def test_a_moment_that_is_no_date_is_refused(net: Net, type_: str, payload: dict[str, str]) -> None:
    """GIVEN a hostile desk's step whose moment matches the pattern but names no date (30
    February, hour 25, a year whose Vietnam time overflows)
    WHEN pushed
    THEN 422 naming the payload schema, nothing stored."""
    _honest, hostile = pair(net)
    before = stored(net)
    bad = forged(hostile, type_, payload, dossier_id=new_uuid7())
    body = refused(push(net, hostile, [bad]), 422, "malformed-event")
    assert body["rule"] == "payload-schema"
    assert stored(net) == before


def test_a_record_with_an_unreadable_moment_is_left_out_of_the_statistics(net: Net) -> None:
    """GIVEN a dossier record folded from an event stored before moments were checked as
    dates (its deadline 2026-99-99)
    WHEN the statistics read it, at the centre and at the desk
    THEN it is left out, and the report of the other dossiers is made."""
    honest, _hostile = pair(net)
    good = receive(honest)
    broken = replace(good, deadline_at="2026-99-99T00:00+07:00")
    assert readable_facts(broken) is None
    assert facts_of(honest.branch_code, broken) is None
    assert readable_facts(good) is not None and facts_of(honest.branch_code, good) is not None

    def break_deadline(conn: Connection) -> None:
        doc = json.loads(
            conn.execute(select(lt.dossiers.c.doc).where(lt.dossiers.c.id == good.id)).scalar_one()
        )
        doc["deadline_at"] = "2026-99-99T00:00+07:00"
        conn.execute(
            update(lt.dossiers).where(lt.dossiers.c.id == good.id).values(doc=json.dumps(doc))
        )

    honest.store.write(break_deadline)
    receive(honest)
    now = honest.clock()
    report = ReportService(honest).report(now - timedelta(days=1), now)
    assert report.overall.received == 1, report.overall


def _far_ahead(desk: Any, dossier_id: str) -> Any:
    """The desk's next note, dated 999999999999999.999999 (the largest the wire takes)."""
    return forged(
        desk,
        "dossier.note",
        {"at": MOMENT, "text": "x"},
        dossier_id=dossier_id,
        hlc="999999999999999.999999",
    )


def test_an_event_dated_far_ahead_is_refused_and_drags_no_clock(net: Net) -> None:
    """GIVEN a hostile desk's note dated 999999999999999.999999 (the largest the wire takes)
    WHEN pushed to the server
    THEN 422 clock-ahead, nothing stored; a note dated two hours ahead (a desk whose
    hardware clock is off) is still taken, and the honest desk that pulls it still
    pushes its own events."""
    honest, hostile = pair(net)
    view = receive(hostile)
    net.agent(hostile).sync_once()
    before = stored(net)
    far = _far_ahead(hostile, view.id)
    body = refused(push(net, hostile, [far]), 422, "clock-ahead")
    assert hostile.device_id in body["detail"]
    assert stored(net) == before

    ahead = (int(time.time() * 1000) + 2 * 3600 * 1000, hlc.COUNTER_MAX)
    soon = forged(
        hostile,
        "dossier.note",
        {"at": MOMENT, "text": "x"},
        dossier_id=view.id,
        hlc=hlc.Timestamp(*ahead).encode(),
    )
    assert push(net, hostile, [soon]).status_code == 200
    net.agent(honest).sync_once()
    receive(honest)
    assert net.agent(honest).sync_once().pushed >= 1
    with honest.store.read() as conn:
        clock = event_store.clock(conn)
    assert clock.counter <= hlc.COUNTER_MAX and len(clock.encode()) == 22


def test_the_clock_carries_its_counter_and_ignores_what_is_too_far_ahead() -> None:
    now = 1_800_000_000_000
    full = hlc.Timestamp(now, hlc.COUNTER_MAX)
    assert hlc.tick(full, now) == hlc.Timestamp(now + 1, 0)
    assert hlc.observe(hlc.ZERO, full, now) == hlc.Timestamp(now + 1, 0)
    hostile = hlc.Timestamp(999_999_999_999_999, 999_999)
    assert hlc.observe(full, hostile, now) == full
    within = hlc.Timestamp(now + hlc.MAX_AHEAD_MS, 5)
    assert hlc.observe(full, within, now) == hlc.Timestamp(now + hlc.MAX_AHEAD_MS, 6)


def _lan_push(url: str, desk_id: str, key: object, events: list[object]) -> requests.Response:
    body = json.dumps({"events": [e.to_wire() for e in events]}).encode()  # type: ignore[attr-defined]
    return signed_post(url, "/v1/events", body, desk_id, key)  # type: ignore[arg-type]


@pytest.fixture
def served(net: Net) -> object:
    services: list[PeerService] = []

    def serve(desk: object) -> str:
        service = PeerService(desk).start("127.0.0.1", 0, advertise=False)  # type: ignore[arg-type]
        services.append(service)
        return peer_url(f"127.0.0.1:{service.port}")

    yield serve
    for service in services:
        service.stop()


def test_a_lan_peer_cannot_drag_a_desks_clock(net: Net, served: object) -> None:
    """GIVEN a hostile desk that pushes a far-ahead note to an honest desk's peer service
    THEN the honest desk does not take it, its clock does not move, its sync goes on."""
    honest, hostile = pair(net)
    view = receive(hostile)
    net.agent(hostile).sync_once()
    net.agent(honest).sync_once()
    url = served(honest)  # type: ignore[operator]
    with honest.store.read() as conn:
        clock = event_store.clock(conn)
    far = _far_ahead(hostile, view.id)
    answer = _lan_push(url, hostile.device_id, hostile.key, [far])
    assert answer.json()["accepted"] == 0, answer.text
    with honest.store.read() as conn:
        assert event_store.clock(conn).wall_ms < clock.wall_ms + hlc.MAX_AHEAD_MS
    receive(honest)
    assert net.agent(honest).sync_once().pushed >= 1


def _forked(
    net: Net, served: object, lan_side: int = 1, forge_inner: bool = False
) -> tuple[Any, Any, Any, str, list[Any], Any]:
    """An honest desk and a hostile one of a branch, the hostile desk's dossier synced to
    both; then the hostile desk gives the honest desk's peer service `lan_side` notes
    (X1, X2…) from its next sequence, and the server another note Y under the first.
    `forge_inner`: every LAN note but the last carries a stranger's signature (the run's
    last one vouches for them). Returns (honest, hostile, dossier, the honest desk's peer
    URL, the LAN notes, Y)."""
    honest, hostile = pair(net)
    view = receive(hostile)
    net.agent(hostile).sync_once()
    net.agent(honest).sync_once()
    url = served(honest)  # type: ignore[operator]
    lan = [forged(hostile, "dossier.note", {"at": MOMENT, "text": "X1"}, dossier_id=view.id)]
    while len(lan) < lan_side:
        lan.append(_next(hostile, lan[-1], f"X{len(lan) + 1}", view.id))
    if forge_inner:
        stranger = DeviceKey.generate()
        lan[:-1] = [replace(e, signature=stranger.sign(bytes.fromhex(e.hash))) for e in lan[:-1]]
    y = forged(hostile, "dossier.note", {"at": MOMENT, "text": "Y"}, dossier_id=view.id)
    assert _lan_push(url, hostile.device_id, hostile.key, lan).json()["accepted"] == lan_side
    assert push(net, hostile, [y]).status_code == 200
    return honest, hostile, view, url, lan, y


def _flag_of(net: Net, device_id: str) -> str:
    with net.engine.connect() as conn:
        flagged = conn.execute(
            select(st.devices.c.flagged).where(st.devices.c.device_id == device_id)
        ).scalar_one()
    return str(flagged or "")


def test_a_chain_forked_between_the_lan_and_the_server(net: Net, served: object) -> None:
    """GIVEN a hostile desk that gives an honest desk's peer service note X as its next
    sequence, then pushes another note Y under the same sequence to the server
    WHEN the honest desk syncs with the server, again and again
    THEN its syncs succeed, the hostile desk's events from the server are set aside there,
    the honest desk's own work still goes up, and the server holds the hostile desk
    flagged for equivocation (the honest desk gave it X, signed by the hostile desk)."""
    honest, hostile, _view, _url, _lan, _y = _forked(net, served)
    net.agent(honest).sync_once()
    with honest.store.read() as conn:
        assert replication.diverged_origins(conn) == {hostile.device_id}
    receive(honest)
    assert net.agent(honest).sync_once().pushed >= 1
    assert _flag_of(net, hostile.device_id).startswith("equivocation")


def test_a_forked_chain_does_not_break_the_lan_either(net: Net, served: object) -> None:
    """GIVEN the fork above, and a third desk that took the server's side of it (Y, then
    the hostile desk's next event after Y)
    WHEN the first honest desk and the third exchange over the LAN, both ways
    THEN both exchanges succeed: the first desk neither takes the server's side from its
    neighbour nor serves its own side to it."""
    honest, hostile, view, url, _lan, y = _forked(net, served)
    assert push(net, hostile, [_next(hostile, y, "Z", view.id)]).status_code == 200
    third = net.desktop(honest.branch_code)
    net.agent(third).sync_once()
    net.agent(honest).sync_once()  # meets the fork: sets the hostile desk aside
    third_url = served(third)  # type: ignore[operator]
    sync_with_peer(honest, third_url.removeprefix("http://"))
    sync_with_peer(third, url.removeprefix("http://"))
    with honest.store.read() as conn:
        held = [e.payload.get("text") for e in event_store.chain(conn, hostile.device_id)]
    assert held[-1] == "X1"
    with third.store.read() as conn:
        held = [e.payload.get("text") for e in event_store.chain(conn, hostile.device_id)]
    assert held[-2:] == ["Y", "Z"]


def _next(desk: object, after: Any, text: str, dossier_id: str) -> Any:
    return forged(
        desk,  # type: ignore[arg-type]
        "dossier.note",
        {"at": MOMENT, "text": text},
        dossier_id=dossier_id,
        origin_seq=after.origin_seq + 1,
        prev_hash=after.hash,
    )


def test_a_longer_lan_side_of_a_fork_does_not_stop_the_push(net: Net, served: object) -> None:
    """GIVEN a hostile desk that gives an honest desk's peer service X1 and X2, then the
    server another event Y under X1's sequence
    WHEN the honest desk syncs (it pushes before it pulls, and would relay X2)
    THEN its syncs succeed, its own work goes up, the hostile desk is set aside there and
    flagged at the server."""
    honest, hostile, _view, _url, _lan, _y = _forked(net, served, lan_side=2)
    receive(honest)
    for _ in range(2):
        net.agent(honest).sync_once()
    with honest.store.read() as conn:
        assert replication.diverged_origins(conn) == {hostile.device_id}
        assert replication.fork_evidence(conn) == []  # given
    assert LocalReplica(honest).pending_event_count() == 0
    assert _flag_of(net, hostile.device_id).startswith("equivocation")


@pytest.mark.parametrize("run", [2, 2100], ids=["short", "longer-than-a-page"])
def test_a_fork_proved_by_a_later_signature_flags_the_device(
    net: Net, served: object, run: int
) -> None:
    """GIVEN a hostile desk that gives an honest desk's peer service X1 with a stranger's
    signature and X2 with its own (X2's signature binds X1 through the chain), then the
    server another event Y under X1's sequence
    WHEN the honest desk syncs
    THEN it sets the hostile desk aside and gives the server X1 with X2, which the server
    verifies and flags the hostile desk for; the honest desk is logged for nothing.
    X1 alone proves nothing, and a desk that sent it alone would be refused."""
    honest, hostile, _view, _url, lan, _y = _forked(net, served, lan_side=run, forge_inner=True)
    assert not lan[0].signature_ok(hostile.key.public_b64)
    alone = push(net, honest, [lan[0]])
    assert refused(alone, 422, "bad-signature") and _flag_of(net, hostile.device_id) == ""
    for _ in range(2):
        net.agent(honest).sync_once()
    with honest.store.read() as conn:
        assert replication.diverged_origins(conn) == {hostile.device_id}
        assert replication.fork_evidence(conn) == []  # given
    assert _flag_of(net, hostile.device_id).startswith("equivocation")
    assert _flag_of(net, honest.device_id) == ""


def test_two_honest_desks_keep_their_lan_across_a_fork(net: Net, served: object) -> None:
    """GIVEN a hostile desk that gives desk C (offline from the server) X over the LAN and
    the server Y then Y2, which desk B pulls
    WHEN B and C exchange over the LAN, both ways, twice
    THEN every exchange succeeds (C, shown Y2, sees the fork proved by the hostile desk's
    own signature and sets that desk aside), and C's own new work reaches B."""
    b, hostile = pair(net)
    c = net.desktop(b.branch_code)
    net.agent(c).sync_once()
    view = receive(hostile)
    for desk in (hostile, b, c):
        net.agent(desk).sync_once()
    url_b, url_c = served(b), served(c)  # type: ignore[operator]
    x = forged(hostile, "dossier.note", {"at": MOMENT, "text": "X"}, dossier_id=view.id)
    y = forged(hostile, "dossier.note", {"at": MOMENT, "text": "Y"}, dossier_id=view.id)
    assert _lan_push(url_c, hostile.device_id, hostile.key, [x]).json()["accepted"] == 1
    assert push(net, hostile, [y, _next(hostile, y, "Y2", view.id)]).status_code == 200
    net.agent(b).sync_once()
    work = receive(c)
    for _ in range(2):
        sync_with_peer(b, url_c.removeprefix("http://"))
        sync_with_peer(c, url_b.removeprefix("http://"))
    assert b.dossiers.get(work.code).code == work.code
    with c.store.read() as conn:  # shown Y2 by B, signed by the hostile desk after Y
        assert replication.diverged_origins(conn) == {hostile.device_id}


@pytest.mark.parametrize(
    ("moment", "taken"),
    [
        ("2026-11-24T09:30:00+07:00", True),
        ("2026-11-24T02:30Z", True),
        ("2026-11-24T09:30+05:45", True),
        ("1912-01-01T00:00+07:00", True),
        ("9998-12-31T20:00+07:00", True),
        ("2026-02-29T09:30+07:00", False),
        ("2026-11-24T09:30+07:99", False),
        ("2026-11-24T09:30+14:30", False),
        ("1911-04-30T10:00+07:00", False),  # +07:06:30 in Vietnam then: seconds
        ("9999-12-31T23:59+00:00", False),  # Vietnam time overflows
    ],
)
def test_which_moments_a_payload_may_hold(moment: str, taken: bool) -> None:
    from pydantic import TypeAdapter
    from pydantic import ValidationError as PydanticError

    from core.domain.payloads import Moment

    adapter: TypeAdapter[str] = TypeAdapter(Moment)
    if taken:
        assert adapter.validate_python(moment) == moment
    else:
        with pytest.raises(PydanticError):
            adapter.validate_python(moment)


def test_a_step_dated_before_the_receipt_is_set_aside(net: Net) -> None:
    """GIVEN a dossier received by an honest desk, and a hostile desk of the branch that
    asks for a supplement "on 02/01/1990" (a wait that no working time could end)
    WHEN the server takes it and the honest desk pulls it
    THEN the honest desk's fold sets it aside, naming the receipt; the dossier waits for
    nothing, and its clerk asks for the supplement and ends the wait as usual."""
    honest, hostile = pair(net)
    view = receive(honest)
    net.agent(honest).sync_once()
    net.agent(hostile).sync_once()
    ancient = forged(
        hostile,
        "dossier.request-supplement",
        {"at": "1990-01-02T09:00:00+07:00", "note": "thiếu giấy tờ"},
        dossier_id=view.id,
        actor=OFFICER.username,
        parents=view.heads,
    )
    assert push(net, hostile, [ancient]).status_code == 200
    net.agent(honest).sync_once()

    with honest.store.read() as conn:
        held = {e["event_id"]: e for e in quarantine.entries(conn)}
    assert held[ancient.event_id]["rule"] == "fold-failed"
    assert "before the dossier was received" in held[ancient.event_id]["params"]["detail"]
    still = honest.dossiers.get(view.code)
    assert (still.state, still.paused_since) == (State.RECEIVED, "")
    asked, _ = honest.dossiers.act(OFFICER, view.code, Action.REQUEST_SUPPLEMENT, "thiếu")
    assert asked.paused_since and asked.paused_since > "2026"
    ended, _ = honest.dossiers.act(OFFICER, view.code, Action.SUPPLEMENT)
    assert ended.state == State.RECEIVED and not ended.paused_since
    assert net.agent(honest).sync_once().pushed == 2


@pytest.mark.parametrize(("hours", "taken"), [(0, True), (23, True), (25, False)])
def test_a_step_may_be_dated_up_to_a_day_before_the_receipt(
    net: Net, hours: int, taken: bool
) -> None:
    """GIVEN desks whose clocks disagree (a PC keeping local time as UTC is 7 h off)
    WHEN a step is dated some hours before its dossier's receipt
    THEN within a day it is taken; past a day it is refused."""
    honest, _hostile = pair(net)
    view = receive(honest)
    at = iso(parse_moment(view.received_at) - timedelta(hours=hours))
    step = forged(honest, "dossier.transfer", {"at": at}, dossier_id=view.id)
    if taken:
        check_step_moments(view, step)
    else:
        with pytest.raises(TransitionRefused, match="before the dossier was received"):
            check_step_moments(view, step)


def _online(desk: Any, code: str = "") -> Any:
    """An online dossier imported from the national portal on `desk` (status 1)."""
    procedure = desk.procedures()[code] if code else next(iter(desk.procedures().values()))
    submitted = {
        "MaHoSo": "P1",
        "MaTTHC": procedure.code,
        "NgayNopHoSo": iso(desk.clock()),
        "ChuHoSo": "Nguyễn Văn A",
        "SoGiayToChuHoSo": "001090000001",
        "DiaChiThuongTruChuHoSo": "1 Phố Huế",
        "TaiLieuNop": [{"MaThanhPhanHoSo": c.key} for c in procedure.components],
    }
    views, _ = OnlineService(desk).import_dossiers(OFFICER, submitted)
    return views[0]


def test_an_online_receipt_dated_far_ahead_holds_nothing(net: Net) -> None:
    """GIVEN an online dossier the honest desk received and handed over, and a hostile
    desk's receipt of it dated 31/12/9998, slipped in just after the submission by its
    clock
    WHEN the honest desk pulls it
    THEN none of the honest desk's steps is set aside (they are judged against the
    submission, which no other desk can move), and its clerk still acts on the dossier."""
    honest, hostile = pair(net)
    view = _online(honest)
    submission = honest.dossiers.events(view.code)[0]
    OnlineService(honest).receive(OFFICER, view.code)
    honest.dossiers.act(OFFICER, view.code, Action.TRANSFER, details={"to": SPECIALIST.username})
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    far = "9998-12-31T20:00:00+07:00"
    stamp = hlc.Timestamp.decode(submission.hlc)
    receipt = forged(
        hostile,
        "dossier.receive",
        {**submission.payload, "at": far, "due": {"due_at": far, "steps": []}},
        dossier_id=view.id,
        actor=OFFICER.username,
        parents=(submission.event_id,),
        hlc=hlc.Timestamp(stamp.wall_ms, stamp.counter + 1).encode(),
    )
    assert push(net, hostile, [receipt]).status_code == 200
    net.agent(honest).sync_once()
    with honest.store.read() as conn:
        held = {e["event_id"]: e for e in quarantine.entries(conn)}
    # The hostile receipt itself is set aside (dated after its own clock), nothing else.
    assert list(held) == [receipt.event_id]
    assert "after the moment it was recorded" in held[receipt.event_id]["params"]["detail"]
    honest.dossiers.act(SPECIALIST, view.code, Action.START)


FAR = "9998-12-31T20:00:00+07:00"


def _facts(desk: Any, code: str) -> dict[str, Any]:
    """The dossier as the branch's statistics read it."""
    view = desk.dossiers.get(code)
    return {"state": view.state, "deadline": view.deadline, "end_at": view.end_at}


def _set_aside(desk: Any, event: Any) -> str:
    with desk.store.read() as conn:
        held = {e["event_id"]: e for e in quarantine.entries(conn)}
    assert held[event.event_id]["rule"] == "fold-failed"
    return str(held[event.event_id]["params"]["detail"])


def test_a_refusal_dated_far_ahead_is_set_aside(net: Net) -> None:
    """GIVEN a dossier received by an honest desk
    WHEN a hostile desk of the branch refuses it "on 31/12/9998" (an end no period of the
    statistics would ever reach, so never late) and the honest desk pulls it
    THEN the honest desk sets the refusal aside, naming the recording clock; the record
    and its figures stay as they were, and the honest clerk still acts."""
    honest, hostile = pair(net)
    view = receive(honest)
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    before = _facts(honest, view.code)
    refusal = forged(
        hostile,
        "dossier.refuse",
        {"at": FAR, "note": "không đủ điều kiện"},
        dossier_id=view.id,
        actor=OFFICER.username,
        parents=view.heads,
    )
    assert push(net, hostile, [refusal]).status_code == 200
    net.agent(honest).sync_once()
    assert "after the moment it was recorded" in _set_aside(honest, refusal)
    assert _facts(honest, view.code) == before
    moved, _ = honest.dossiers.act(OFFICER, view.code, Action.TRANSFER, details={"to": "minh"})
    assert moved.state == State.TRANSFERRED


@pytest.mark.parametrize("field", ["deadline_at", "due_at", "nominal_at"])
def test_a_wait_ended_with_an_appointment_far_ahead_is_set_aside(net: Net, field: str) -> None:
    """GIVEN a dossier waiting for the citizen's supplement on an honest desk
    WHEN a hostile desk of the branch ends the wait, moving one appointment to
    31/12/9998 (the dossier could then never be late, and the next wait's end would
    overflow the calendar)
    THEN the honest desk sets the step aside (two years past its clock at most); the
    deadline the dossier is judged on stays, and the honest clerk ends the wait himself."""
    honest, hostile = pair(net)
    view = receive(honest)
    asked, _ = honest.dossiers.act(OFFICER, view.code, Action.REQUEST_SUPPLEMENT, "thiếu")
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    at = iso(parse_moment(asked.paused_since) + timedelta(minutes=30))
    payload = {"at": at, "note": "", "due_at": asked.due_at, "deadline_at": asked.deadline}
    ended = forged(
        hostile,
        "dossier.supplement",
        {**payload, field: FAR},
        dossier_id=view.id,
        actor=OFFICER.username,
        parents=asked.heads,
    )
    assert push(net, hostile, [ended]).status_code == 200
    net.agent(honest).sync_once()
    assert "more than two years past" in _set_aside(honest, ended)
    still = honest.dossiers.get(view.code)
    assert still.paused_since == asked.paused_since and still.deadline == asked.deadline
    resumed, _ = honest.dossiers.act(OFFICER, view.code, Action.SUPPLEMENT)
    assert not resumed.paused_since and resumed.deadline >= asked.deadline
    assert parse_moment(resumed.deadline) < honest.clock() + timedelta(days=366)


def test_a_wait_ended_on_one_desk_while_the_leader_re_appoints_on_another(net: Net) -> None:
    """GIVEN a dossier waiting for the citizen's supplement, known to two honest desks
    WHEN the leader re-appoints it (+10 days) on one while the officer records the
    supplement on the other, and they sync
    THEN neither step is set aside: the dossier runs again on both, with the same record
    (a bound on how far one step moves the appointment from the folded record would have
    set the supplement aside, the record holding the concurrent re-appointment)."""
    a, b = pair(net)
    view = receive(a)
    asked, _ = a.dossiers.act(OFFICER, view.code, Action.REQUEST_SUPPLEMENT, "thiếu")
    for desk in (a, b, a):
        net.agent(desk).sync_once()
    later = iso(parse_moment(asked.due_at) + timedelta(days=10))
    a.dossiers.act(LEADER, view.code, Action.REAPPOINT, "quá tải", details={"due_at": later})
    b.dossiers.act(OFFICER, view.code, Action.SUPPLEMENT)
    for desk in (a, b, a, b):
        net.agent(desk).sync_once()
    for desk in (a, b):
        with desk.store.read() as conn:
            assert quarantine.entries(conn) == []
    seen = [desk.dossiers.get(view.code) for desk in (a, b)]
    assert seen[0].state == seen[1].state == State.RECEIVED
    assert not seen[0].paused_since and seen[0].due_at == seen[1].due_at


def test_a_desk_whose_clock_runs_hours_behind_acts_on_the_others_dossiers(net: Net) -> None:
    """GIVEN a desk whose clock runs 20 h ahead (a PC keeping local time as UTC, and
    more), within the day the server allows, receiving a dossier
    WHEN a desk with the right clock hands it over
    THEN it may (its action reads as before the receipt, within the day's slack)."""
    a, b = pair(net)
    ahead = a.clock
    a.clock = lambda: to_vietnam(ahead()) + timedelta(hours=20)  # type: ignore[method-assign]
    view = receive(a)
    assert net.agent(a).sync_once().pushed >= 1
    net.agent(b).sync_once()
    moved, _ = b.dossiers.act(OFFICER, view.code, Action.TRANSFER, details={"to": "minh"})
    assert moved.state == State.TRANSFERRED
    with b.store.read() as conn:
        assert quarantine.entries(conn) == []


def test_a_hostile_receipt_dated_long_ago_with_an_appointment_far_ahead_is_set_aside(
    net: Net,
) -> None:
    """GIVEN a hostile desk of the branch
    WHEN it records a receipt dated 02/01/1912 whose appointment is 31/12/9998, then a
    wait begun in 1912 (before, the honest clerk ending that wait crashed the command on
    the calendar's range)
    THEN the honest desk sets the receipt aside (and the wait with it): no such record."""
    honest, hostile = pair(net)
    real = receive(hostile)
    net.agent(hostile).sync_once()
    payload = dict(hostile.dossiers.events(real.code)[0].payload)
    payload.update(
        at="1912-01-02T09:00:00+07:00",
        code=real.code[:-1] + ("8" if real.code.endswith("9") else "9"),
        due={**payload["due"], "due_at": FAR},
    )
    dossier_id = new_uuid7()
    receipt = forged(hostile, "dossier.receive", payload, dossier_id=dossier_id, actor="lan")
    wait = forged(
        hostile,
        "dossier.request-supplement",
        {"at": "1912-01-03T09:00:00+07:00", "note": "thiếu"},
        dossier_id=dossier_id,
        actor="lan",
        parents=(receipt.event_id,),
        origin_seq=receipt.origin_seq + 1,
        prev_hash=receipt.hash,
    )
    assert push(net, hostile, [receipt, wait]).status_code == 200
    net.agent(honest).sync_once()
    assert "more than two years before it was recorded" in _set_aside(honest, receipt)
    assert honest.dossiers.search(payload["code"]) == []


def test_an_online_receipt_with_an_appointment_far_ahead_is_set_aside(net: Net) -> None:
    """GIVEN an online dossier submitted on an honest desk
    WHEN a hostile desk receives it now but with its appointment on 31/12/9998
    THEN the honest desk sets the receipt aside: the dossier stays submitted, judged on
    the appointment the submission counted, and the honest clerk receives it himself."""
    honest, hostile = pair(net)
    view = _online(honest)
    submission = honest.dossiers.events(view.code)[0]
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    now = iso(honest.clock())
    receipt = forged(
        hostile,
        "dossier.receive",
        {**submission.payload, "at": now, "due": {"due_at": FAR, "steps": []}},
        dossier_id=view.id,
        actor=OFFICER.username,
        parents=(submission.event_id,),
    )
    assert push(net, hostile, [receipt]).status_code == 200
    net.agent(honest).sync_once()
    assert "more than two years past" in _set_aside(honest, receipt)
    assert honest.dossiers.get(view.code).state == State.SUBMITTED
    received, _ = OnlineService(honest).receive(OFFICER, view.code)
    assert received.state == State.RECEIVED
    assert parse_moment(received.deadline) < honest.clock() + timedelta(days=366)


@pytest.mark.parametrize("hour", [9, 19])
def test_a_hidden_promised_day_cannot_hold_an_honest_wait(net: Net, hour: int) -> None:
    """GIVEN an online dossier of a calendar-day procedure (XD-GPNO, 15 days), received
    (dated back to the last `hour`:30) by a hostile desk with honest appointments but its
    promised day ("nominal", from which a wait's end counts) put 23 hours before the
    receipt, within the fold's day of slack
    WHEN the honest desk's clerk asks for a supplement and the citizen brings it
    THEN the wait ends (a wait never shortens the time: the deadline is not moved
    earlier), where a bound on each step's move refused every honest wait's end, and an
    end counted from that promised day (17:00 of the day before an evening receipt) was
    set aside as before the receipt: the desk counts from the deadline instead."""
    honest, hostile = pair(net)
    view = _online(honest, "XD-GPNO")
    submission = honest.dossiers.events(view.code)[0]
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    now = to_vietnam(hostile.clock()).replace(microsecond=0)
    moment = now.replace(hour=hour, minute=30, second=0)
    moment -= timedelta(days=1) if moment > now else timedelta(0)
    online = OnlineService(hostile)
    payload = online._receipt(hostile.dossiers.get(view.code), online._pinned(view), moment, "")
    payload["due"] = {**payload["due"], "nominal_at": iso(moment - timedelta(hours=23))}
    receipt = forged(
        hostile,
        "dossier.receive",
        payload,
        dossier_id=view.id,
        actor=OFFICER.username,
        parents=(submission.event_id,),
    )
    assert push(net, hostile, [receipt]).status_code == 200
    net.agent(honest).sync_once()
    received = honest.dossiers.get(view.code)
    assert received.state == State.RECEIVED
    honest.dossiers.act(OFFICER, view.code, Action.REQUEST_SUPPLEMENT, "thiếu bản vẽ")
    resumed, _ = honest.dossiers.act(OFFICER, view.code, Action.SUPPLEMENT)
    assert resumed.state == State.RECEIVED and resumed.deadline >= received.deadline
    assert parse_moment(str(resumed.extra["nominal"])) >= moment
    net.agent(honest).sync_once()
    third = net.desktop(honest.branch_code)
    net.agent(third).sync_once()
    assert third.dossiers.get(view.code).deadline == resumed.deadline
    with third.store.read() as conn:
        assert quarantine.entries(conn) == []
