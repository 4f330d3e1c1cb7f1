"""A hostile desk of the branch against honest desks: what the authority table refuses is
logged (its chain goes on) but quarantined, never applied, and never stops a sync — over
the LAN and from a server that stored it before the table existed."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from core.domain.events import Event
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.services.branch import Branch
from core.services.peers import sync_with_peer
from core.storage import event_store, quarantine
from core.storage import schema as t
from sync_server import ingest
from tests.sync.fixtures import Net, rebuilt, receive, snapshot
from tests.sync.test_peers import Lan, lan

__all__ = ["lan"]

MOMENT = "2026-11-23T09:00:00+07:00"


def hostile_write(
    desk: Branch, type_: str, payload: dict[str, Any], *, dossier: str | None = None, **kw: Any
) -> Event:
    """Append an event to `desk`'s own chain as a modified desktop would: sealed with its
    key, but never checked against the authority table nor applied."""
    branch = kw.pop("branch", desk.branch_code)
    actor = kw.pop("actor", "admin")
    parents = tuple(kw.pop("parents", ()))

    def draft(seq: int, prev: str, stamp: str) -> Event:
        return Event(
            event_id=new_uuid7(),
            dossier_id=dossier,
            branch=branch,
            type=type_,
            payload=payload,
            actor=actor,
            origin_device=desk.device_id,
            origin_seq=seq,
            hlc=stamp,
            prev_hash=prev,
            parents=parents,
        )

    now = int(time.time() * 1000)
    return desk.store.write(
        lambda conn: event_store.append_local(conn, desk.device_id, desk.key, now, draft)
    )


def attacks(hostile: Branch, victim: Branch) -> dict[str, str]:
    """Every attack the table must stop, as event id → the rule that stops it."""
    ht_ks = hostile.procedures()["HT-KS"]
    rules: dict[str, str] = {}

    def attack(rule: str, type_: str, payload: dict[str, Any], **kw: Any) -> None:
        rules[hostile_write(hostile, type_, payload, **kw).event_id] = rule

    new_key = DeviceKey.generate().public_b64
    enrol = {"device_id": victim.device_id, "branch": victim.branch_code, "public_key": new_key}
    attack("centre-devices", "device.enrolled", enrol)
    attack("centre-devices", "device.revoked", {"device_id": victim.device_id})
    catalogue = {"procedures": [{"code": ht_ks.code, "version": 99, "processing_time": 90}]}
    attack("centre-catalogue", "catalogue.published", catalogue)
    takeover = {"username": "admin", "role": "admin", "password_hash": "x"}
    attack(quarantine.FOLD_RULE, "user.added", takeover)
    intruder = {"username": "mallory", "role": "admin", "password_hash": "x"}
    attack(quarantine.FOLD_RULE, "user.added", intruder, actor="ghost")
    attack("payload-schema", "dossier.receive", {"at": MOMENT, "code": "X"}, dossier=new_uuid7())
    stray = {"at": MOMENT, "note": "x", "state": "nowhere"}
    attack("payload-schema", "dossier.resolve", stray, dossier=new_uuid7())
    attack("unknown-type", "dossier.explode", {"at": MOMENT}, dossier=new_uuid7())
    return rules


def held_back(desk: Branch) -> dict[str, str]:
    with desk.store.read() as conn:
        return {e["event_id"]: e["rule"] for e in quarantine.entries(conn)}


def still_honest(victim: Branch, hostile: Branch) -> None:
    with victim.store.read() as conn:
        row = conn.execute(select(t.devices).where(t.devices.c.device_id == victim.device_id)).one()
        users = {r.username for r in conn.execute(select(t.users))}
    assert not row.revoked and row.public_key == victim.key.public_b64
    assert "mallory" not in users
    victim.login("admin", "admin-pass-1")  # the admin's password was not replaced
    assert victim.procedures()["HT-KS"].version == hostile.procedures()["HT-KS"].version


def test_a_hostile_lan_peer_cannot_rekey_revoke_publish_or_take_over(lan: Lan) -> None:
    """GIVEN a hostile desk of the branch whose chain carries a user takeover the table
    judges when folding, an honest dossier, then every event the table refuses outright
    WHEN an honest desk exchanges with it over the LAN, then syncs with the centre
    THEN the exchange succeeds; the takeovers are logged but quarantined; the dossier
    applies; the hostile chain is not taken from the first refused event on (the centre
    refuses it too, so the honest desk never holds what its pushes would carry to a
    refusal); its own sync with the centre still succeeds; the projections equal a
    rebuild; a second exchange is quiet."""
    honest, hostile = lan.a, lan.b
    takeovers = {k: v for k, v in attacks_folded(hostile).items() if v == quarantine.FOLD_RULE}
    after = receive(hostile)
    refused = attacks(hostile, honest)
    summary = sync_with_peer(honest, lan.serve(hostile))
    assert summary.applied == len(takeovers) + 1
    assert held_back(honest) == takeovers
    assert honest.dossiers.get(after.code).code == after.code
    with honest.store.read() as conn:
        assert not set(refused) & {e.event_id for e in event_store.chain(conn, hostile.device_id)}
    still_honest(honest, hostile)
    receive(honest)
    assert lan.net.agent(honest).sync_once().pushed >= 1  # nothing it holds is refused
    assert snapshot(honest) == rebuilt(honest)
    assert held_back(honest) == takeovers  # a rebuild reaches the same verdicts
    again = sync_with_peer(honest, lan.serve(hostile))
    assert again.applied == 0


def attacks_folded(hostile: Branch) -> dict[str, str]:
    """The takeovers the table lets through its stateless rules and refuses when folded."""
    rules: dict[str, str] = {}
    takeover = {"username": "admin", "role": "admin", "password_hash": "x"}
    rules[hostile_write(hostile, "user.added", takeover).event_id] = quarantine.FOLD_RULE
    intruder = {"username": "mallory", "role": "admin", "password_hash": "x"}
    event = hostile_write(hostile, "user.added", intruder, actor="ghost")
    rules[event.event_id] = quarantine.FOLD_RULE
    return rules


def test_events_a_server_stored_before_the_table_never_stop_a_pull(net: Net) -> None:
    """GIVEN forbidden events in the server's log (stored by a server without the table)
    WHEN an honest desk of the branch pulls
    THEN its sync succeeds, the events are quarantined, later events apply."""
    branch = net.branch()
    honest, hostile = net.desktop(branch), net.desktop(branch)
    for desk in (honest, hostile, honest):
        net.agent(desk).sync_once()
    rules = attacks(hostile, honest)
    after = receive(hostile)
    with hostile.store.read() as conn:
        chain = list(event_store.chain(conn, hostile.device_id))
    with net.engine.begin() as conn:  # as an older server would have stored them
        last = ingest.lock_scope(conn, branch)
        heads = ingest.load_heads(conn, branch, [hostile.device_id])
        ingest.append(conn, branch, last, chain[heads[hostile.device_id].seq :], heads)
    summary = net.agent(honest).sync_once()
    structural = [r for r in rules.values() if r != quarantine.FOLD_RULE]
    assert summary.quarantined == len(structural)  # the others are refused when folded
    assert summary.applied >= 1
    assert held_back(honest) == rules
    assert honest.dossiers.get(after.code).code == after.code
    still_honest(honest, hostile)
    assert snapshot(honest) == rebuilt(honest)
