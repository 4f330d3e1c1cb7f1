"""What a pull or a LAN exchange changes is told as a ``Changes`` record, like a local
operation's, through a real sync server on loopback and real LAN peer services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.domain.workflow import Action, State
from core.services.branch import Branch
from core.services.peers import PeerService, add_peer, peer_round
from core.services.sync import LocalReplica, agent_for, received
from core.sync.applied import USERS, Applied
from core.sync.client import RetryPolicy
from core.sync.errors import ProtocolError

from .fixtures import Net, act, no_wait, receive
from .live import live_server


@dataclass
class Pair:
    net: Net
    a: Branch
    b: Branch


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """Two desks of one branch enrolled with a live server, each knowing the other."""
    with live_server("sqlite", tmp_path / "server") as server:
        net = Net(server, tmp_path)
        unit = net.branch()
        a, b = net.desktop(unit), net.desktop(unit)
        for desk in (a, b, a):
            net.agent(desk).sync_once()
        try:
            yield Pair(net, a, b)
        finally:
            net.close()


def test_a_pull_tells_the_dossiers_it_changed_once_they_are_readable(pair: Pair) -> None:
    """GIVEN desk A's agent with a listener, and a dossier received then moved on desk B
    WHEN A pulls
    THEN the listener is told, as a Changes record, exactly the dossier B touched (a
    received change: nothing to push back), and A already reads the dossier as B left it;
    a pull that brings nothing tells nothing."""
    agent = pair.net.agent(pair.a)
    seen: list[tuple[Applied, State]] = []
    view = receive(pair.b)
    act(pair.b, view.code, Action.TRANSFER)
    pair.net.agent(pair.b).sync_once()
    agent.on_applied.append(lambda applied: seen.append((applied, state_on(pair.a, view.code))))
    agent.sync_once()
    ((applied, state_then),) = seen
    changes = received(applied)
    assert changes.dossiers == {view.id}
    assert changes.received == 2 and changes.events_added == 0 and not changes.users
    assert state_then is State.TRANSFERRED
    agent.sync_once()
    assert len(seen) == 1


def test_a_pull_tells_reference_data_and_tells_it_even_when_the_exchange_then_fails(
    pair: Pair,
) -> None:
    """GIVEN a user added on desk B, and on desk A a scan whose file was lost
    WHEN A syncs: the pull succeeds, then the upload of the lost scan fails the exchange
    THEN the exchange raises, and the listener was told of the users changed all the same
    (the screens must show what the store now holds)."""
    admin = pair.b.login("admin", "admin-pass-1")
    pair.b.admin.add_user(admin, "thu", "officer", "officer-pass-2", "Thư")
    pair.net.agent(pair.b).sync_once()
    scan = pair.net.root / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7 lost")
    sha = LocalReplica(pair.a).add_blob(scan)
    (pair.a.data_dir / "blobs" / sha[:2] / sha).unlink()
    agent = pair.net.agent(pair.a)
    told: list[Applied] = []
    agent.on_applied.append(told.append)
    with pytest.raises(ProtocolError):
        agent.sync_once()
    (applied,) = told
    assert USERS in applied.reference and received(applied).users
    assert not applied.dossiers


def test_a_lan_exchange_tells_both_desks_what_the_other_brought(pair: Pair) -> None:
    """GIVEN desk A serving as a LAN peer with a listener, and a dossier received on each
    desk while the centre is not asked
    WHEN B runs a LAN round with A, then B's agent runs one after a step on A
    THEN B's round names A's dossier, A's service names B's dossier (its push), and the
    agent's LAN round tells its listeners the dossier the step changed."""
    on_a: list[Applied] = []
    service = PeerService(pair.a, on_applied=on_a.append).start("127.0.0.1", 0, advertise=False)
    try:
        add_peer(pair.b, f"127.0.0.1:{service.port}")
        from_a, from_b = receive(pair.a), receive(pair.b)
        results, applied = peer_round(pair.b, browse_s=0)
        assert [r.get("error") for r in results] == [None]
        assert applied.dossiers == {from_a.id}
        assert set().union(*(x.dossiers for x in on_a)) == {from_b.id}

        act(pair.a, from_a.code, Action.TRANSFER)
        agent = agent_for(
            pair.b, "http://127.0.0.1:9", lan=True, retry=RetryPolicy(attempts=1, sleep=no_wait)
        )
        told: list[Applied] = []
        agent.on_applied.append(told.append)
        assert agent.sync_lan() == (f"http://127.0.0.1:{service.port}",)
        (round_applied,) = told
        assert round_applied.dossiers == {from_a.id} and round_applied.events == 1
    finally:
        service.stop()


def state_on(desk: Branch, code: str) -> State:
    return desk.dossiers.get(code).state
