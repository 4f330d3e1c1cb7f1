"""What a LAN page may carry, both ways: a peer whose page this desk refuses fails that
exchange as a SyncError, and the round goes on to the other peers; a desk's event outside
the branch, or with a payload the server's wire refuses, is refused at the LAN's wire too,
so an honest desk never holds what it could not relay to the server."""

from __future__ import annotations

import json

import pytest

from core.domain.events import Event
from core.services.peers import add_peer, sync_peers, sync_with_peer
from core.sync.errors import ProtocolError
from core.sync.peer import peer_url
from tests.sync.fixtures import receive, snapshot
from tests.sync.test_peers import Lan, lan, signed_post
from tests.sync.test_quarantine import MOMENT, hostile_write

__all__ = ["lan"]


def test_a_peer_serving_a_broken_chain_fails_alone(lan: Lan) -> None:
    """GIVEN a hostile desk of the branch whose own chain holds an event of another branch
    (its peer service leaves it out of its pages: they skip a sequence number), and an
    honest peer B with a new dossier
    WHEN desk A exchanges with the hostile desk, then runs a round over both peers
    THEN the exchange with the hostile desk fails as a ProtocolError naming the gap (not
    an IntegrityError escaping the round), and the round still reaches B."""
    net, a, b = lan.net, lan.a, lan.b
    hostile = net.desktop(a.branch_code)
    for desk in (hostile, a, b):
        net.agent(desk).sync_once()  # everyone knows the hostile desk
    note = {"at": MOMENT, "text": "ghi chú"}
    hostile_write(hostile, "dossier.note", note, dossier="d-1", branch="U9999")
    hostile_write(hostile, "dossier.note", note, dossier="d-2")
    view = receive(b)
    hostile_address, b_address = lan.serve(hostile), lan.serve(b)

    with pytest.raises(ProtocolError, match="gap"):
        sync_with_peer(a, hostile_address)

    add_peer(a, hostile_address)
    add_peer(a, b_address)
    results = {r["peer"]: r for r in sync_peers(a, browse_s=0)}
    assert "error" in results[hostile_address]
    assert results[peer_url(b_address)]["applied"] == 1
    assert a.dossiers.get(view.code).code == view.code


def test_a_desks_event_outside_the_branch_or_malformed_never_crosses_the_lan(lan: Lan) -> None:
    """GIVEN a hostile desk of the branch whose chain holds a note in the national scope
    (which only the centre's chain may write, and which the server never takes from a
    desk), and another whose payload has a non-ASCII key (the server refuses it, 422)
    WHEN it pushes either to an honest desk's peer service, or the honest desk pulls it
    THEN the push is refused (403 wrong-branch, 422 malformed-event), the pull fails as a
    ProtocolError, and the honest desk holds none of it: nothing it could not relay to
    the server."""
    net, a = lan.net, lan.a
    hostile = net.desktop(a.branch_code)
    for desk in (hostile, a):
        net.agent(desk).sync_once()
    url = peer_url(lan.serve(a))
    before = snapshot(a)
    national = hostile_write(hostile, "dossier.note", {"at": MOMENT, "text": "x"}, branch="*")
    answer = signed_post(url, "/v1/events", pushed([national]), hostile.device_id, hostile.key)
    assert (answer.status_code, answer.json()["title"]) == (403, "wrong-branch")
    with pytest.raises(ProtocolError, match="is of branch"):
        sync_with_peer(a, lan.serve(hostile))
    assert snapshot(a) == before

    other = net.desktop(a.branch_code)
    for desk in (other, a):
        net.agent(desk).sync_once()
    before = snapshot(a)
    odd = hostile_write(other, "dossier.note", {"at": MOMENT, "text": "x", "ghi-chú": 1})
    answer = signed_post(url, "/v1/events", pushed([odd]), other.device_id, other.key)
    assert (answer.status_code, answer.json()["title"]) == (422, "malformed-event")
    with pytest.raises(ProtocolError, match="ASCII"):
        sync_with_peer(a, lan.serve(other))
    assert snapshot(a) == before


def pushed(events: list[Event]) -> bytes:
    return json.dumps({"events": [e.to_wire() for e in events]}, ensure_ascii=False).encode()
