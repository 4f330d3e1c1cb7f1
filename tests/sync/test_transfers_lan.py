"""Transfers between units over the LAN, the centre unreachable (``core.sync.peer_units``).

A desk of unit A hands a desk of unit B the offer; B accepts it, fetches the scan from A's
desk, processes the dossier and hands back its reply; A takes it back — with no centre.
When the centre comes back, every replica converges and verifies. A desk of B gets only
what was sent to its unit: not A's events, not A's other scans.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from core.domain.signing import DeviceKey
from core.domain.workflow import Action, State
from core.services import audit
from core.services.branch import Branch
from core.services.peers import PeerService, sync_with_peer
from core.services.sync import LocalReplica
from core.services.transfers import TransferService
from core.storage import replication
from core.storage import schema as t
from core.sync import auth, peer_units

from .fixtures import LEADER, OFFICER, SPECIALIST, Net, act, attach_blob, receive
from .live import live_server


@pytest.fixture
def units(tmp_path: Path) -> Iterator[tuple[Net, Branch, Branch, list[PeerService]]]:
    with live_server("sqlite", tmp_path / "server") as server:
        net = Net(server, tmp_path)
        unit_a, unit_b = net.branch(), net.branch()
        a, b = net.desktop(unit_a), net.desktop(unit_b)
        for desk in (a, b):
            net.agent(desk).sync_once()
        serving: list[PeerService] = []
        try:
            yield net, a, b, serving
        finally:
            for service in serving:
                service.stop()
            net.close()


def _serve(desk: Branch, serving: list[PeerService]) -> str:
    service = PeerService(desk).start("127.0.0.1", 0, advertise=False)
    serving.append(service)
    return f"127.0.0.1:{service.port}"


def _scan(desk: Branch, root: Path, name: str) -> str:
    path = root / f"{name}.pdf"
    path.write_bytes(os.urandom(200_000))
    return LocalReplica(desk).add_blob(path)


def _present(desk: Branch, sha: str) -> bool:
    with desk.store.read() as conn:
        row = conn.execute(
            select(replication.blobs.c.present).where(replication.blobs.c.sha256 == sha)
        ).first()
    return bool(row and row.present)


def _branches_of_events(desk: Branch) -> set[str]:
    with desk.store.read() as conn:
        return {r.branch for r in conn.execute(select(t.events.c.branch))}


def test_units_exchange_a_transfer_over_the_lan_without_the_centre(
    units: tuple[Net, Branch, Branch, list[PeerService]], tmp_path: Path
) -> None:
    net, a, b, serving = units
    other = receive(a)
    other_scan = _scan(a, tmp_path, "other")
    attach_blob(a, other.id, other_scan)
    view = receive(a)
    scan = _scan(a, tmp_path, "to-khai")
    attach_blob(a, view.id, scan)
    TransferService(a).send_out(OFFICER, view.code, b.branch_code)

    at_b, at_a = _serve(b, serving), _serve(a, serving)
    handed = sync_with_peer(a, at_b)
    assert (handed.unit, handed.handed, handed.received) == (b.branch_code, 1, 0)
    (offer,) = TransferService(b).messages()
    mine, _ = TransferService(b).accept(OFFICER, offer.event_id)

    fetched = sync_with_peer(b, at_a)  # B fetches the scan sent with the dossier, only it
    assert (fetched.unit, fetched.blobs) == (a.branch_code, 1)
    assert LocalReplica(b).wanted_blobs() == [] and _present(b, scan)
    _hostile_b_desk_is_held_to_the_transfer(b, at_a, other_scan)

    for action, user in (
        (Action.TRANSFER, OFFICER),
        (Action.START, SPECIALIST),
        (Action.SUBMIT, SPECIALIST),
        (Action.APPROVE, LEADER),
        (Action.FINISH, SPECIALIST),
    ):
        act(b, mine.code, action, user)
    TransferService(b).send_back(OFFICER, mine.code)
    assert sync_with_peer(b, at_a).handed == 1
    (reply,) = TransferService(a).messages()
    taken, _ = TransferService(a).take_back(OFFICER, reply.event_id)
    assert taken.state is State.FINISHED
    act(a, view.code, Action.RETURN, OFFICER)
    assert _branches_of_events(b) <= {b.branch_code, "*"}

    # The centre comes back: every replica converges, nothing is taken twice.
    for desk in (a, b, a, b):
        net.agent(desk).sync_once()
    assert TransferService(a).messages() == [] and TransferService(b).messages() == []
    assert audit.verify(a).ok and audit.verify(b).ok
    assert _branches_of_events(b) <= {b.branch_code, "*"}
    assert net.client(b).missing([scan, other_scan]) == [other_scan]


def _hostile_b_desk_is_held_to_the_transfer(b: Branch, at_a: str, other_scan: str) -> None:
    """B's desk, introduced by its real enrolment, may not pull A's events nor fetch A's
    other scans; a desk introducing itself with a forged enrolment is unknown."""
    url = f"http://{at_a}"
    mine = TransferService(b).branch
    enrolment = _own_enrolment(mine)
    header = {peer_units.HEADER_ENROLMENT: peer_units.introduction(enrolment)}
    now = int(time.time() * 1000)
    body = b'{"scope":"' + mine.branch_code.encode() + b'","vector":{},"limit":10}'
    signed = auth.sign_request(b.key, b.device_id, "POST", "/v1/vector", body, now)
    answer = requests.post(url + "/v1/vector", data=body, headers={**signed, **header}, timeout=10)
    assert answer.status_code == 403 and answer.json()["title"] == "wrong-branch"
    path = "/v1/blobs/" + other_scan
    signed = auth.sign_request(b.key, b.device_id, "GET", path, b"", now + 1)
    answer = requests.get(url + path, headers={**signed, **header}, timeout=10)
    assert answer.status_code == 404  # A's other scan: as if it did not exist

    stranger = DeviceKey.generate()
    forged = {**enrolment, "payload": {**enrolment["payload"], "public_key": stranger.public_b64}}
    signed = auth.sign_request(stranger, b.device_id, "GET", path, b"", now + 2)
    forged_header = {peer_units.HEADER_ENROLMENT: peer_units.introduction(forged)}
    answer = requests.get(url + path, headers={**signed, **forged_header}, timeout=10)
    assert answer.status_code == 401 and answer.json()["title"] == "unknown-device"


def _own_enrolment(desk: Branch) -> dict[str, object]:
    from core.services.peers import LocalPeerReplica

    found = LocalPeerReplica(desk).own_enrolment()
    assert found is not None
    return found
