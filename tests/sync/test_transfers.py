"""Dossiers transferred between units through a live centre (``core.domain.transfers``).

Branch A receives a dossier with a scan and sends it to branch B; B accepts it, processes
it with its own clerks and sends it back; A takes it back and returns the result. Each
unit keeps only its own events: B never holds an event of A's, nor any of A's other
dossiers; the appointment stays the one given at receipt. A hostile desk of B cannot
accept a forged offer, write on A's dossier, nor read A's scans that were not sent.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.domain import transfers
from core.domain.errors import TransitionRefused, ValidationError
from core.domain.workflow import Action, State
from core.services import audit
from core.services.branch import Branch
from core.services.sync import LocalReplica
from core.services.transfers import TransferService
from core.storage import replication
from core.storage import schema as t
from core.sync.errors import ServerRefused

from .fixtures import LEADER, OFFICER, SPECIALIST, Net, act, attach_blob, receive
from .test_quarantine import hostile_write


def _scan(desk: Branch, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(f"%PDF-1.7 {name} ".encode() * 4000)
    return LocalReplica(desk).add_blob(path)


def _event_branches(desk: Branch) -> set[str]:
    with desk.store.read() as conn:
        return {r.branch for r in conn.execute(select(t.events.c.branch))}


def _dossier_codes(desk: Branch) -> set[str]:
    with desk.store.read() as conn:
        return {r.code for r in conn.execute(select(t.dossiers.c.code))}


def _present(desk: Branch, sha: str) -> bool:
    with desk.store.read() as conn:
        row = conn.execute(
            select(replication.blobs.c.present).where(replication.blobs.c.sha256 == sha)
        ).first()
    return bool(row and row.present)


def _process(desk: Branch, code: str) -> None:
    act(desk, code, Action.TRANSFER, OFFICER)
    act(desk, code, Action.START, SPECIALIST)
    act(desk, code, Action.SUBMIT, SPECIALIST)
    act(desk, code, Action.APPROVE, LEADER)
    act(desk, code, Action.FINISH, SPECIALIST)


def test_a_dossier_goes_to_another_unit_and_comes_back(net: Net, tmp_path: Path) -> None:
    unit_a, unit_b = net.branch(), net.branch()
    a, b, b2 = net.desktop(unit_a), net.desktop(unit_b), net.desktop(unit_b)
    kept_home = receive(a)  # another dossier of A's: never sent, never seen by B
    view = receive(a)
    scan = _scan(a, tmp_path, "to-khai")
    attach_blob(a, view.id, scan)
    other_scan = _scan(a, tmp_path, "other")
    attach_blob(a, kept_home.id, other_scan)

    sent, _ = TransferService(a).send_out(OFFICER, view.code, unit_b, note="liên thông")
    assert sent.state is State.AWAY and sent.processing_unit == unit_b
    assert sent.holder == unit_b
    with pytest.raises(TransitionRefused):  # A writes no processing step while it is away
        act(a, view.code, Action.TRANSFER, OFFICER)
    net.agent(a).sync_once()

    summary = net.agent(b).sync_once()
    assert summary.transfers == 1
    (offer,) = TransferService(b).messages()
    assert (offer.kind, offer.from_branch, offer.code) == ("offer", unit_a, view.code)
    mine, _ = TransferService(b).accept(OFFICER, offer.event_id)
    assert (mine.code, mine.deadline, mine.due_at) == (view.code, view.deadline, view.due_at)
    assert mine.received_unit == unit_a and mine.received_at == view.received_at
    assert mine.handovers[0].giver == f"lan @ {unit_a}"
    assert TransferService(b).messages() == []  # accepted: no longer pending
    with pytest.raises(ValidationError):
        TransferService(b).accept(OFFICER, offer.event_id)

    net.agent(b).sync_once()  # B's desk fetches the scan A sent with the dossier
    assert _present(b, scan) and LocalReplica(b).wanted_blobs() == []
    assert net.client(b).missing([scan, other_scan]) == [other_scan]
    with pytest.raises(ServerRefused) as refused:  # A's other scan: as if it did not exist
        b"".join(net.client(b).download(other_scan, 0, 1 << 20))
    assert refused.value.status == 404

    _process(b, mine.code)
    result = _scan(b, tmp_path, "ket-qua")
    b.record(
        mine.id,
        "minh",
        "dossier.attach",
        {
            "at": "2026-12-02T10:00:00+07:00",
            "component": "result",
            "file": {
                "sha256": result,
                "pages": 1,
                "size": 0,
                "media_type": "application/pdf",
                "name": "ket-qua.pdf",
            },
        },
    )
    finished = b.dossiers.get(mine.code)
    back, _ = TransferService(b).send_back(OFFICER, mine.code)
    assert back.state is State.SENT_BACK and back.end_at == finished.end_at
    net.agent(b).sync_once()

    assert net.agent(a).sync_once().transfers == 1
    (reply,) = TransferService(a).messages()
    taken, _ = TransferService(a).take_back(OFFICER, reply.event_id)
    assert taken.state is State.FINISHED and taken.end_at == finished.end_at
    assert taken.result_files == 1 and taken.processing_unit == unit_b
    assert taken.deadline == view.deadline
    rows = [(h.action, h.giver, h.receiver) for h in taken.handovers[-2:]]
    assert rows == [("send-out", "lan", unit_b), ("take-back", f"lan @ {unit_b}", "lan")]
    returned = act(a, view.code, Action.RETURN, OFFICER)
    assert returned.state is State.RETURNED
    net.agent(a).sync_once()
    net.agent(b).sync_once()

    # Each unit holds only its own events (and the centre's chain of its own branch).
    assert _event_branches(b) <= {unit_b, "*"}
    assert kept_home.code not in _dossier_codes(b)
    assert _event_branches(a) <= {unit_a, "*"}
    net.agent(b2).sync_once()  # another desk of B folds the same record from B's events
    assert b2.dossiers.get(mine.code) == b.dossiers.get(mine.code)
    assert TransferService(b2).messages() == []  # the offer B accepted on its other desk
    assert audit.verify(a).ok and audit.verify(b).ok and audit.verify(b2).ok
    assert _present(a, result)  # A fetched B's result file with the reply
    _check_statistics(net, a, b, unit_a, unit_b)


def _check_statistics(net: Net, a: Branch, b: Branch, unit_a: str, unit_b: str) -> None:
    """Decision 766 counts the dossier at A as received (its receiving unit) and at B as
    processed (its processing unit), each in its own column; the centre says the same."""
    from datetime import datetime, timedelta
    from datetime import time as clock

    from core.domain.timeutil import VIETNAM
    from sync_server.console import stats
    from tests.server.console.helpers import Console, add_admin

    first, last = stats.this_month(datetime.now(VIETNAM).date())
    start = datetime.combine(first, clock(0), VIETNAM)
    end = datetime.combine(last + timedelta(days=1), clock(0), VIETNAM) - timedelta(seconds=1)
    at_a = a.reports.report(start, end, "all").overall
    at_b = b.reports.report(start, end, "all").overall
    assert (at_a.received, at_a.sent_out, at_a.total, at_a.transferred_in) == (2, 1, 1, 0)
    assert (at_b.received, at_b.sent_out, at_b.total, at_b.transferred_in) == (0, 0, 1, 1)
    add_admin(net.engine)
    web = Console(net.server.url)
    web.login("root")
    params = {"from": first.isoformat(), "to": last.isoformat(), "by": "all"}
    for desk, unit in ((a, unit_a), (b, unit_b)):
        answer = web.get("/console/stats/export.csv", params={**params, "branch": unit})
        assert answer.status_code == 200, answer.text[:300]
        centre = stats.read_csv(answer.content.decode("utf-8-sig"))["overall"]
        mine = desk.reports.report(start, end, "all").overall.as_dict()
        for key in ("received", "sent_out", "transferred_in", "total", "on_time_rate"):
            assert float(centre[key]) == float(mine[key]), (key, unit, centre)  # type: ignore[arg-type]


def _offer_for(a: Branch, b: Branch, net: Net, unit_b: str) -> dict[str, Any]:
    view = receive(a)
    TransferService(a).send_out(OFFICER, view.code, unit_b)
    net.agent(a).sync_once()
    net.agent(b).sync_once()
    (offer,) = TransferService(b).messages()
    return TransferService(b)._message(offer.event_id, "offer")


def test_a_hostile_desk_of_the_other_unit_is_refused_and_nothing_is_stored(
    net: Net, tmp_path: Path
) -> None:
    unit_a, unit_b = net.branch(), net.branch()
    a, b = net.desktop(unit_a), net.desktop(unit_b)
    hostile = net.desktop(unit_b)
    message = _offer_for(a, b, net, unit_b)
    net.agent(hostile).sync_once()

    # An offer whose snapshot was changed on the way no longer verifies.
    forged = copy.deepcopy(message["message"])
    forged["payload"]["snapshot"]["applicant"]["full_name"] = "Kẻ Giả Mạo"
    payload = {
        "at": "2026-12-02T09:00:00+07:00",
        "offer": forged,
        "enrolment": message["enrolment"],
    }
    hostile_write(hostile, transfers.TRANSFER_IN, payload, dossier="forged-1", actor="lan")
    before = net.server_events(unit_b)
    with pytest.raises(ServerRefused) as refused:
        net.agent(hostile).push()
    assert refused.value.status == 403 and refused.value.problem.get("rule") == transfers.RULE
    assert net.server_events(unit_b) == before

    # A step written on A's dossier, in A's scope, by a desk of B.
    step = {"at": "2026-12-02T09:00:00+07:00", "note": ""}
    intruder = net.desktop(unit_b)
    before_a = net.server_events(unit_a)
    dossier_a = message["message"]["dossier_id"]
    event = hostile_write(
        intruder, "dossier.start", step, dossier=dossier_a, branch=unit_a, actor="minh"
    )
    with pytest.raises(ServerRefused) as refused:
        net.client(intruder).push([event])
    assert refused.value.status == 403
    assert net.server_events(unit_a) == before_a

    # B cannot pull A's scope, nor A's messages.
    with pytest.raises(ServerRefused) as refused:
        net.client(b).pull(unit_a, 0)
    assert refused.value.status == 403


def test_a_forged_offer_handed_to_a_desk_is_named_and_not_kept(net: Net) -> None:
    unit_a, unit_b = net.branch(), net.branch()
    a, b = net.desktop(unit_a), net.desktop(unit_b)
    message = _offer_for(a, b, net, unit_b)
    forged = copy.deepcopy(message["message"])
    forged["payload"]["to_branch"] = unit_a

    class Item:
        kind = "offer"

        def __init__(self, body: dict[str, Any]) -> None:
            self.message, self.enrolment = body, message["enrolment"]

    kept, refused = LocalReplica(b).receive_transfers([Item(forged)], 0)
    assert kept == 0 and refused and forged["event_id"] in refused[0]


def test_a_dossier_returned_to_the_citizen_at_the_other_unit(net: Net) -> None:
    """The citizen asked for the result at B: B returns it there, then sends the dossier
    back; A takes it back as returned, ended at B's moment."""
    unit_a, unit_b = net.branch(), net.branch()
    a, b = net.desktop(unit_a), net.desktop(unit_b)
    view = receive(a)
    TransferService(a).send_out(OFFICER, view.code, unit_b, return_at="destination")
    net.agent(a).sync_once()
    net.agent(b).sync_once()
    (offer,) = TransferService(b).messages()
    assert offer.summary["return_at"] == "destination"
    mine, _ = TransferService(b).accept(OFFICER, offer.event_id)
    _process(b, mine.code)
    returned = act(b, mine.code, Action.RETURN, OFFICER)
    back, _ = TransferService(b).send_back(OFFICER, mine.code)
    assert back.state is State.RETURNED  # returned there: it stays so at B
    net.agent(b).sync_once()
    net.agent(a).sync_once()
    (reply,) = TransferService(a).messages()
    assert reply.summary["outcome"] == "returned"
    taken, _ = TransferService(a).take_back(OFFICER, reply.event_id)
    assert taken.state is State.RETURNED and taken.returned_at == returned.returned_at
    assert taken.end_at == returned.end_at  # ended (result ready) at B's moment
