"""A device whose run of events carries forged inner signatures (its newest one genuine)
gets the run stored — the server verifies the newest of each run, the hash chain vouches
for the rest — but can never make a page that an honest receiver refuses: pull pages,
vector answers and LAN pages end only on a verified signature, whatever the page size."""

from __future__ import annotations

import time

import pytest

from core.domain.events import Event
from core.domain.hlc import Timestamp
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.services.branch import Branch
from core.services.peers import sync_with_peer
from core.storage import event_store
from core.sync import agent as agent_module
from core.sync import peer as peer_module
from tests.server.test_bad_input import push
from tests.sync.fixtures import Net, snapshot
from tests.sync.test_peers import Lan, lan

__all__ = ["lan"]

MOMENT = "2026-11-23T09:00:00+07:00"


def forged_run(desk: Branch, length: int) -> list[Event]:
    """`length` notes of `desk`'s chain, linked and hashed, where only the last is signed
    with the desk's key: every inner one carries a stranger's signature."""
    stranger = DeviceKey.generate()
    with desk.store.read() as conn:
        seq, prev = event_store.device_head(conn, desk.device_id)
    dossier = new_uuid7()
    run: list[Event] = []
    for n in range(1, length + 1):
        draft = Event(
            event_id=new_uuid7(),
            dossier_id=dossier,
            branch=desk.branch_code,
            type="dossier.note",
            payload={"at": MOMENT, "text": f"ghi chú {n}"},
            actor="admin",
            origin_device=desk.device_id,
            origin_seq=seq + n,
            hlc=Timestamp(int(time.time() * 1000), n).encode(),
            prev_hash=prev,
        )
        event = draft.sealed(desk.key if n == length else stranger)
        run.append(event)
        prev = event.hash
    return run


def pushed_run(net: Net, desk: Branch, length: int) -> list[Event]:
    run = forged_run(desk, length)
    answer = push(net, desk, run)
    assert answer.status_code == 200 and answer.json()["accepted"] == length, answer.text
    assert not run[0].signature_ok(desk.key.public_b64)  # the inner ones really are forged
    return run


@pytest.mark.parametrize("page", [1, 2, 3])
def test_pull_pages_end_on_a_verified_signature(
    net: Net, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a run of 5 events whose 4 inner signatures are forged, stored by the server
    WHEN an honest desk pulls with pages of 1, 2 or 3 events
    THEN every page applies, and it ends holding the whole run."""
    branch = net.branch()
    honest, hostile = net.desktop(branch), net.desktop(branch)
    for desk in (honest, hostile, honest):
        net.agent(desk).sync_once()
    run = pushed_run(net, hostile, 5)
    monkeypatch.setattr(agent_module, "PULL_PAGE", page)
    summary = net.agent(honest).sync_once()
    assert summary.pulled == 5
    with honest.store.read() as conn:
        assert event_store.device_head(conn, hostile.device_id)[1] == run[-1].hash


def test_vector_answers_end_on_a_verified_signature(net: Net) -> None:
    """GIVEN the same run on the server
    WHEN a desk asks by vector with a limit of 2
    THEN the answer holds the whole run (a run is not cut), and it applies."""
    branch = net.branch()
    honest, hostile = net.desktop(branch), net.desktop(branch)
    for desk in (honest, hostile, honest):
        net.agent(desk).sync_once()
    run = pushed_run(net, hostile, 5)
    client = net.client(honest)
    theirs = dict(client.exchange(branch, {}, 1).vector)  # all but the run, known
    theirs[hostile.device_id] = run[0].origin_seq - 1
    answer = client.exchange(branch, theirs, 2)
    hostile_events = [e.to_event() for e in answer.events if e.origin_device == hostile.device_id]
    assert [e.event_id for e in hostile_events] == [e.event_id for e in run]


def test_lan_pages_end_on_a_verified_signature(lan: Lan, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN desk A holding the forged-inside run, pulled from the centre
    WHEN desk B, which lacks it, exchanges with A over the LAN with pages of 2 events
    THEN B's exchange succeeds and B holds the run."""
    a, b, net = lan.a, lan.b, lan.net
    hostile = net.desktop(a.branch_code)
    for desk in (a, hostile, a):
        net.agent(desk).sync_once()
    run = pushed_run(net, hostile, 5)
    net.agent(a).sync_once()
    monkeypatch.setattr(peer_module, "PEER_PAGE", 2)
    address = lan.serve(a)
    for _round in range(6):
        sync_with_peer(b, address)
    with b.store.read() as conn:
        assert event_store.device_head(conn, hostile.device_id)[1] == run[-1].hash
    assert snapshot(b)["events"] == snapshot(a)["events"]


def test_a_page_is_cut_where_no_origin_is_left_unsigned() -> None:
    """sealed_prefix: the page cut is the last row after which no origin is left open."""
    from sync_server.reads import sealed_prefix

    rows = [
        (1, "a", "", False),
        (2, "b", "", True),
        (3, "a", "", True),
        (4, "a", "", False),
        (5, "c", "", None),
    ]
    assert sealed_prefix(rows) == 3
    assert sealed_prefix(rows[:1]) == 0
    assert sealed_prefix([replace_sealed(r) for r in rows]) == 5


def replace_sealed(row: tuple[int, str, str, bool | None]) -> tuple[int, str, str, bool | None]:
    return (row[0], row[1], row[2], True if row[3] is False else row[3])
