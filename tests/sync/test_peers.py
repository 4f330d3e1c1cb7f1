"""LAN peers on loopback: two desktops of one branch exchange events both ways through the
signed peer exchange; peers of another branch and forged requests are refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, insert, select

from core.domain.events import Event
from core.domain.signing import DeviceKey
from core.domain.workflow import Action, State
from core.i18n import set_language
from core.services.branch import Branch, set_meta
from core.services.peers import (
    PEER_STATE_META,
    PeerService,
    add_peer,
    list_peers,
    sync_peers,
    sync_with_peer,
)
from core.storage import event_store
from core.storage import schema as t
from core.sync import auth
from core.sync.errors import ProtocolError
from core.sync.peer import peer_url

from .fixtures import SPECIALIST, Net, act, rebuilt, receive, snapshot
from .live import live_server


@dataclass
class Lan:
    net: Net
    a: Branch
    b: Branch
    other: Branch
    serving: dict[str, PeerService]

    def serve(self, desk: Branch) -> str:
        service = PeerService(desk).start("127.0.0.1", 0, advertise=False)
        self.serving[desk.device_id] = service
        return f"127.0.0.1:{service.port}"


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[Lan]:
    with live_server("sqlite", tmp_path / "server") as server:
        net = Net(server, tmp_path)
        unit, elsewhere = net.branch(), net.branch()
        a, b, other = net.desktop(unit), net.desktop(unit), net.desktop(elsewhere)
        for desk in (a, b, other, a):
            net.agent(desk).sync_once()  # learn the devices of the branch
        lan = Lan(net, a, b, other, {})
        try:
            yield lan
        finally:
            for service in lan.serving.values():
                service.stop()
            net.close()


def signed_post(
    url: str, path: str, body: bytes, device_id: str, key: DeviceKey
) -> requests.Response:
    headers = auth.sign_request(key, device_id, "POST", path, body, _now_ms())
    headers["Content-Type"] = "application/json"
    return requests.post(url + path, data=body, headers=headers, timeout=10)


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def vector_body(branch: str) -> bytes:
    return json.dumps({"scope": branch, "vector": {}, "limit": 10}).encode()


def test_two_desktops_exchange_events_both_ways_over_the_lan(lan: Lan) -> None:
    """GIVEN two desktops of one branch, offline from the server, each with new dossiers
    WHEN one syncs with the other over the LAN, then they act on each other's dossiers
    THEN both hold the same events and projections, equal to a rebuild, and the server
    later accepts the relayed events."""
    a, b = lan.a, lan.b
    address_b = lan.serve(b)
    from_a, from_b = receive(a), receive(b)
    first = sync_with_peer(a, address_b)
    assert (first.applied, first.accepted) == (1, 1)
    assert b.dossiers.get(from_a.code).code == from_a.code
    assert a.dossiers.get(from_b.code).code == from_b.code
    act(b, from_a.code, Action.TRANSFER)
    act(a, from_b.code, Action.TRANSFER)
    act(a, from_b.code, Action.START, SPECIALIST)
    second = sync_with_peer(a, address_b)
    assert (second.applied, second.accepted) == (1, 2)
    assert a.dossiers.get(from_a.code).state is State.TRANSFERRED
    assert b.dossiers.get(from_b.code).state is State.PROCESSING
    assert snapshot(a) == snapshot(b) == rebuilt(b)
    again = sync_with_peer(a, address_b)
    assert (again.received, again.sent) == (0, 0)
    for desk in (a, b, a):
        lan.net.agent(desk).sync_once()
    assert snapshot(a) == snapshot(b)
    with a.store.read() as conn:
        ours = conn.execute(
            select(func.count()).select_from(t.events).where(t.events.c.branch == a.branch_code)
        ).scalar_one()
    assert lan.net.server_events(a.branch_code) == ours


def test_peer_added_by_address_is_listed_and_synced(lan: Lan) -> None:
    """GIVEN a peer added by address (no mDNS)
    WHEN the desktop syncs its peers
    THEN the exchange runs and its result is listed as the peer's liveness."""
    address_b = lan.serve(lan.b)
    add_peer(lan.a, address_b)
    add_peer(lan.a, "127.0.0.1:9")  # nothing listens: reported, not fatal
    receive(lan.b)
    results = sync_peers(lan.a, browse_s=0)
    by_peer = {r["peer"]: r for r in results}
    assert by_peer[peer_url(address_b)]["applied"] == 1
    assert "error" in by_peer["127.0.0.1:9"]
    listed = {row["address"]: row for row in list_peers(lan.a)}
    assert listed[address_b]["device_id"] == lan.b.device_id
    assert listed[address_b]["last_seen"] and not listed[address_b]["last_error"]
    assert listed["127.0.0.1:9"]["last_error"] and not listed["127.0.0.1:9"]["last_seen"]
    # the error is kept as a message, and read in the reader's language
    set_language("vi")
    in_vietnamese = {row["address"]: row for row in list_peers(lan.a)}["127.0.0.1:9"]
    set_language("en")
    in_english = {row["address"]: row for row in list_peers(lan.a)}["127.0.0.1:9"]
    assert "cannot be reached" in in_english["last_error"]
    assert (
        "cannot be reached" not in in_vietnamese["last_error"]
        and "127.0.0.1:9" in in_vietnamese["last_error"]
    )
    # a kept message its parameters do not fill (an edited store) is shown as it is
    kept = {"127.0.0.1:9": {"last_error": {"message": "{detail.nope} {x[3]}", "params": {}}}}
    lan.a.store.write(lambda conn: set_meta(conn, PEER_STATE_META, json.dumps(kept)))
    shown = {row["address"]: row for row in list_peers(lan.a)}["127.0.0.1:9"]
    assert shown["last_error"] == "{detail.nope} {x[3]}"


def test_peer_of_another_branch_is_refused(lan: Lan) -> None:
    """GIVEN a desktop of another branch
    WHEN it asks for the exchange, or is asked
    THEN it is refused (unknown device 401; known but of another branch 403) and nothing
    moves: an exchange between desks of two units hands only the transfers between them
    (none here), never an event (``core.sync.peer_units``)."""
    address_a = lan.serve(lan.a)
    receive(lan.a)
    before = snapshot(lan.other)
    between = sync_with_peer(lan.other, address_a)
    assert (between.unit, between.received, between.sent, between.handed) == (
        lan.a.branch_code,
        0,
        0,
        0,
    )
    assert snapshot(lan.other) == before
    url = peer_url(address_a)
    body = vector_body(lan.other.branch_code)
    answer = signed_post(url, "/v1/vector", body, lan.other.device_id, lan.other.key)
    assert answer.status_code == 401
    assert answer.json()["title"] == "unknown-device"
    lan.a.store.write(
        lambda conn: conn.execute(
            insert(t.devices).values(
                device_id=lan.other.device_id,
                branch=lan.other.branch_code,
                public_key=lan.other.key.public_b64,
                label="",
                revoked=False,
            )
        )
    )
    answer = signed_post(url, "/v1/vector", body, lan.other.device_id, lan.other.key)
    assert answer.status_code == 403
    assert answer.json()["title"] == "wrong-branch"
    address_other = lan.serve(lan.other)
    before = snapshot(lan.a)
    between = sync_with_peer(lan.a, address_other)  # a unit exchange: nothing to hand
    assert (between.unit, between.received, between.handed) == (lan.other.branch_code, 0, 0)
    assert snapshot(lan.a) == before
    assert len(snapshot(lan.other)["events"]) < len(snapshot(lan.a)["events"])


def test_forged_requests_and_answers_are_refused(lan: Lan) -> None:
    """GIVEN a desktop serving the exchange
    WHEN a request is signed by another key, altered after signing, replayed, or pushes
    an event whose signature is forged; or a peer answers with a key that is not the one
    expected
    THEN each is refused and nothing is stored."""
    address_a = lan.serve(lan.a)
    url = peer_url(address_a)
    body = vector_body(lan.a.branch_code)
    intruder = DeviceKey.generate()
    answer = signed_post(url, "/v1/vector", body, lan.b.device_id, intruder)
    assert (answer.status_code, answer.json()["title"]) == (401, "bad-request-signature")
    headers = auth.sign_request(lan.b.key, lan.b.device_id, "POST", "/v1/vector", body, _now_ms())
    altered = body.replace(b'"limit": 10', b'"limit": 11')
    assert altered != body
    answer = requests.post(url + "/v1/vector", data=altered, headers=headers, timeout=10)
    assert (answer.status_code, answer.json()["title"]) == (401, "bad-request-signature")
    first = requests.post(url + "/v1/vector", data=body, headers=headers, timeout=10)
    replay = requests.post(url + "/v1/vector", data=body, headers=headers, timeout=10)
    assert first.status_code == 200
    assert (replay.status_code, replay.json()["title"]) == (401, "replayed")
    assert requests.post(url + "/v1/vector", data=body, timeout=10).status_code == 401

    before = snapshot(lan.a)
    receive(lan.b)
    with lan.b.store.read() as conn:
        rows = conn.execute(t.events.select().where(t.events.c.origin_device == lan.b.device_id))
        own = [event_store._row_to_event(r) for r in rows]
    newest: Event = max(own, key=lambda e: e.origin_seq)
    forged = [e if e is not newest else newest.sealed(intruder) for e in own]
    push = json.dumps({"events": [e.to_wire() for e in forged]}, ensure_ascii=False).encode()
    answer = signed_post(url, "/v1/events", push, lan.b.device_id, lan.b.key)
    assert answer.status_code == 409
    assert snapshot(lan.a) == before

    with pytest.raises(ProtocolError, match="did not sign"):
        sync_with_peer(lan.b, lan.serve(lan.other), device_id=lan.a.device_id)
    assert snapshot(lan.a) == before


def test_background_agent_exchanges_over_the_lan_while_the_server_is_down(lan: Lan) -> None:
    """GIVEN two desktops of one branch, B serving as a LAN peer that A knows by address,
    and A's server unreachable
    WHEN A receives a dossier and its background agent runs
    THEN B gets the dossier over the LAN without the server, and A's status lists B as
    the peer that answered while it says the server is offline."""
    from core.services.sync import agent_for
    from core.sync.agent import wait_until
    from core.sync.client import RetryPolicy

    from .fixtures import no_wait

    address_b = lan.serve(lan.b)
    add_peer(lan.a, address_b)
    view = receive(lan.a)
    agent = agent_for(
        lan.a, "http://127.0.0.1:9", lan=True, retry=RetryPolicy(attempts=1, sleep=no_wait)
    )
    agent.start(interval_s=0.5, probe_s=0.2)
    try:
        assert wait_until(lambda: any(v.code == view.code for v in lan.b.dossiers.browse()), 20)
        assert wait_until(lambda: agent.status().peers == (peer_url(address_b),), 10)
        assert not agent.status().online and agent.status().last_error
    finally:
        agent.stop()
    assert lan.b.dossiers.get(view.code).code == view.code


def test_peer_problem_detail_is_vietnamese_by_default(lan: Lan) -> None:
    """GIVEN a desktop serving as a LAN peer
    WHEN an unsigned call reaches it, without a language and then asking for English
    THEN 401 unsigned, its detail in Vietnamese, then in English."""
    url = peer_url(lan.serve(lan.a))
    body = vector_body(lan.a.branch_code)
    vi = requests.post(url + "/v1/vector", data=body, timeout=10)
    en = requests.post(url + "/v1/vector", data=body, headers={"Accept-Language": "en"}, timeout=10)
    assert vi.status_code == en.status_code == 401
    assert en.json()["detail"] == "The request is not signed by an enrolled device"
    assert vi.json()["detail"] == "Yêu cầu không được ký bởi một máy đã đăng ký"
    assert vi.json()["title"] == "unsigned"


def test_peer_refusal_keeps_a_message_parameter_named_kind() -> None:
    """GIVEN a refused call whose message has a parameter named like the refusal's own
    fields (kind, status)
    WHEN it is written for the caller
    THEN the parameter fills the message (no clash with the status and the kind)."""
    from core.sync.peer import PeerRefusal

    refusal = PeerRefusal(
        409, "refused-events", "unsupported {kind} ({status})", kind="x", status=7
    )
    assert (refusal.status, refusal.kind) == (409, "refused-events")
    assert refusal.detail("en") == "unsupported x (7)"


def test_a_failing_lan_exchange_never_stops_the_agent(lan: Lan) -> None:
    """GIVEN an agent whose LAN hook raises an unexpected error
    WHEN it exchanges over the LAN, and is then stopped
    THEN the error is contained (no peer listed), and a stopped agent does not start
    another LAN round."""
    from core.services.sync import agent_for

    calls: list[int] = []

    def broken(_stop: object) -> list[str]:
        calls.append(1)
        raise RuntimeError("zeroconf exploded")

    agent = agent_for(lan.a)
    agent.lan = broken
    assert agent.sync_lan() == () and agent.status().peers == ()
    agent.stop()
    assert agent.sync_lan() == ()
    assert len(calls) == 1
