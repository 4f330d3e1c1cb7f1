"""A hostile enrolled desktop against the real server: what it may not write is refused with
the rule named, nothing is stored, and the honest desks of the branch go on syncing."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from core.domain.events import GENESIS_HASH, Event
from core.domain.hlc import Timestamp
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.services.branch import Branch
from core.storage import event_store
from sync_server import identity
from sync_server import schema as st
from tests.server.test_bad_input import push, refused, send, stored
from tests.sync.fixtures import Net, receive

MOMENT = "2026-11-23T09:00:00+07:00"


def forged(desk: Branch, type_: str, payload: dict[str, Any], **changes: Any) -> Event:
    """The desk's next event in its own chain: hash and signature are genuine."""
    with desk.store.read() as conn:
        seq, prev = event_store.device_head(conn, desk.device_id)
    base = Event(
        event_id=new_uuid7(),
        dossier_id=None,
        branch=desk.branch_code,
        type=type_,
        payload=payload,
        actor="admin",
        origin_device=desk.device_id,
        origin_seq=seq + 1,
        hlc=Timestamp(int(time.time() * 1000), 0).encode(),
        prev_hash=prev if seq else GENESIS_HASH,
    )
    key = changes.pop("key", desk.key)
    return replace(base, **changes).sealed(key)


def pair(net: Net) -> tuple[Branch, Branch]:
    branch = net.branch()
    honest = net.desktop(branch)
    hostile = net.desktop(branch)
    net.agent(honest).sync_once()
    net.agent(hostile).sync_once()
    return honest, hostile


def rule_of(body: dict[str, Any]) -> str:
    return str(body.get("rule", ""))


@pytest.mark.parametrize(
    ("type_", "payload_of", "rule"),
    [
        (
            "device.enrolled",
            lambda h: {
                "device_id": h.device_id,
                "branch": h.branch_code,
                "public_key": DeviceKey.generate().public_b64,
            },
            "centre-devices",
        ),
        ("device.revoked", lambda h: {"device_id": h.device_id}, "centre-devices"),
    ],
)
def test_a_desk_cannot_rekey_or_revoke_its_neighbour(
    net: Net, type_: str, payload_of: Any, rule: str
) -> None:
    """GIVEN two enrolled desks of a branch, one hostile
    WHEN the hostile one pushes a device event about its neighbour
    THEN 403 naming the centre's rule, nothing stored, the neighbour still syncs."""
    honest, hostile = pair(net)
    before = stored(net)
    body = refused(
        push(net, hostile, [forged(hostile, type_, payload_of(honest))]), 403, "authority"
    )
    assert rule_of(body) == rule
    assert stored(net) == before
    receive(honest)
    assert net.agent(honest).sync_once().pushed >= 1


def test_a_desk_cannot_publish_a_catalogue(net: Net) -> None:
    _honest, hostile = pair(net)
    before = stored(net)
    catalogue = {"procedures": [{"code": "HT-KS", "version": 99}]}
    body = refused(
        push(net, hostile, [forged(hostile, "catalogue.published", catalogue)]), 403, "authority"
    )
    assert rule_of(body) == "centre-catalogue"
    assert stored(net) == before


@pytest.mark.parametrize(
    ("type_", "payload", "rule"),
    [
        ("dossier.receive", {"at": MOMENT, "code": "X"}, "payload-schema"),
        ("dossier.rate", {"at": MOMENT, "score": 1e309}, "payload-subset"),
        ("dossier.note", {"at": MOMENT, "text": "x", "n": 0.5}, "payload-subset"),
        ("dossier.no\u0000te", {"at": MOMENT, "text": "x"}, "unknown-type"),
        ("user.added", {"username": "x", "role": "king", "password_hash": "h"}, "payload-schema"),
    ],
)
def test_malformed_events_are_refused_with_a_4xx(
    net: Net, type_: str, payload: dict[str, Any], rule: str
) -> None:
    """GIVEN an event that would stop every desk's fold (a receipt without its record, a
    float, a NUL in its type)
    WHEN pushed (on SQLite and on PostgreSQL)
    THEN 422 naming the rule, never a 5xx, nothing stored."""
    _honest, hostile = pair(net)
    before = stored(net)
    changes = {"dossier_id": new_uuid7()} if type_.startswith("dossier.") else {}
    bad = forged(hostile, type_, payload, **changes)
    body = refused(push(net, hostile, [bad]), 422, "malformed-event")
    assert rule_of(body) == rule
    assert stored(net) == before


def test_nan_in_a_raw_push_is_refused(net: Net) -> None:
    _honest, hostile = pair(net)
    event = forged(hostile, "dossier.note", {"at": MOMENT, "text": "x"}, dossier_id=new_uuid7())
    wire = json.dumps({"events": [event.to_wire()]}).replace('"text": "x"', '"text": NaN')
    response = send(net, hostile, "POST", "/v1/events", wire.encode())
    assert 400 <= response.status_code < 500, response.text


def test_a_forged_copy_does_not_get_an_innocent_device_flagged(net: Net) -> None:
    """GIVEN an honest desk whose first event the server holds
    WHEN a neighbour relays a different event under the same (origin, sequence), signed
    with its own key
    THEN 422 bad-signature and the honest desk is not flagged."""
    honest, hostile = pair(net)
    receive(honest)
    net.agent(honest).sync_once()
    fake = forged(
        honest,
        "dossier.note",
        {"at": MOMENT, "text": "giả mạo"},
        dossier_id=new_uuid7(),
        origin_seq=1,
        prev_hash=GENESIS_HASH,
        key=hostile.key,
    )
    refused(push(net, hostile, [fake]), 422, "bad-signature")
    with net.engine.connect() as conn:
        row = conn.execute(
            select(st.devices.c.flagged).where(st.devices.c.device_id == honest.device_id)
        ).one()
    assert row.flagged == ""


def test_a_flagged_device_is_refused_until_the_centre_clears_it(net: Net) -> None:
    """GIVEN a desk that really signed two events as one sequence
    THEN it is flagged, its pushes are refused 403, and after the centre clears it they
    are taken again."""
    _honest, hostile = pair(net)
    first = forged(hostile, "dossier.note", {"at": MOMENT, "text": "a"}, dossier_id=new_uuid7())
    assert push(net, hostile, [first]).status_code == 200
    rewind = (first.origin_seq - 1, first.prev_hash)  # as a cloned or restored desk would
    hostile.store.write(lambda conn: event_store.set_head(conn, hostile.device_id, *rewind))
    twin = forged(hostile, "dossier.note", {"at": MOMENT, "text": "b"}, dossier_id=new_uuid7())
    assert twin.origin_seq == first.origin_seq
    refused(push(net, hostile, [twin]), 409, "equivocation")
    refused(push(net, hostile, [first]), 403, "flagged")
    identity.clear_flag(net.engine, hostile.device_id)
    assert push(net, hostile, [first]).json()["duplicates"] == 1


def test_a_reserved_identifier_cannot_be_enrolled(net: Net) -> None:
    branch = net.branch()
    body = {
        "code": net.code(branch),
        "device_id": f"server:{branch}",
        "public_key": DeviceKey.generate().public_b64,
        "branch": branch,
        "label": "",
    }
    response = send(net, None, "POST", "/v1/enroll", json.dumps(body).encode())
    assert response.status_code == 403, response.text
    assert response.json()["rule"] == "reserved-identifier"
