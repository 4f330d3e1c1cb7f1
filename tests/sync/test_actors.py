"""Actors proved, not claimed: a step that needs a role carries its user's own signature,
made with her key (sealed under her password). A hostile desk of the branch cannot write
a leader's approval, nor reset the admin's password, under their names."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from core.domain import userkeys
from core.domain.signing import DeviceKey
from core.domain.workflow import Action, State
from core.services import audit
from core.services.branch import Branch
from core.services.sync import LocalReplica
from core.services.users import credentials
from core.storage import actors, event_store, projection, quarantine
from core.storage import schema as t
from tests.sync.fixtures import LEADER, SPECIALIST, Net, act, rebuilt, receive, snapshot
from tests.sync.test_quarantine import held_back, hostile_write

MOMENT = "2026-11-23T09:00:00+07:00"


def branch_of_three(net: Net) -> tuple[Branch, Branch]:
    branch = net.branch()
    honest, hostile = net.desktop(branch), net.desktop(branch)
    for desk in (honest, hostile, honest):
        net.agent(desk).sync_once()
    return honest, hostile


def awaiting_approval(desk: Branch) -> Any:
    view = receive(desk)
    for action, user in [
        (Action.TRANSFER, None),
        (Action.START, SPECIALIST),
        (Action.SUBMIT, SPECIALIST),
    ]:
        act(desk, view.code, action, *([user] if user else []))
    return view


def test_a_forged_approval_under_a_leaders_name_is_not_applied(net: Net) -> None:
    """GIVEN a dossier awaiting approval, known to both desks
    WHEN the hostile desk writes an approval under the leader's name, without her proof or
    with a proof made by a key of its own, and syncs
    THEN the honest desk's sync succeeds, both approvals are quarantined as unproven, the
    dossier still awaits approval; the leader's own approval then applies everywhere."""
    honest, hostile = branch_of_three(net)
    view = awaiting_approval(honest)
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    heads = hostile.dossiers.get(view.code).heads
    step = {"at": MOMENT, "note": ""}
    bare = hostile_write(hostile, "dossier.approve", step, dossier=view.id, actor="hung")
    proof = userkeys.prove(
        DeviceKey.generate(), "dossier.approve", hostile.branch_code, view.id, "hung", heads, step
    )
    signed = hostile_write(
        hostile, "dossier.approve", {**step, "proof": proof}, dossier=view.id, actor="hung"
    )
    net.agent(hostile).sync_once()
    net.agent(honest).sync_once()
    rules = held_back(honest)
    assert rules[bare.event_id] == rules[signed.event_id] == quarantine.UNPROVEN
    assert honest.dossiers.get(view.code).state is State.AWAITING_APPROVAL
    assert audit.verify(honest).ok  # the chains hold; nothing unproven was applied
    honest.store.write(lambda conn: conn.execute(delete(quarantine.quarantine)))
    edited = audit.verify(honest)  # as if someone emptied the quarantine by hand
    assert {p.event_id for p in edited.problems} == {bare.event_id, signed.event_id}
    honest.store.write(projection.rebuild)  # a rebuild judges them again
    assert set(held_back(honest).values()) == {quarantine.UNPROVEN}
    approved = act(honest, view.code, Action.APPROVE, LEADER)
    assert approved.state is State.APPROVED
    net.agent(honest).sync_once()
    net.agent(hostile).sync_once()
    assert snapshot(honest)["dossiers"] == rebuilt(honest)["dossiers"]


def test_a_desk_cannot_reset_the_admins_password_by_claiming_to_be_the_admin(net: Net) -> None:
    """GIVEN the branch's admin (the first admin, vouched for by the centre)
    WHEN a hostile desk writes password resets and a new admin under the admin's name,
    without the admin's proof
    THEN the honest desk quarantines them as unproven; the admin's password still works
    there; and the honest admin's own changes apply."""
    honest, hostile = branch_of_three(net)
    fresh = credentials("mat-khau-moi-1", DeviceKey.generate())
    hostile_write(hostile, "user.password_set", {"username": "admin", **fresh})
    mallory = {"username": "mallory", "role": "admin", **fresh}
    hostile_write(hostile, "user.added", mallory)
    net.agent(hostile).sync_once()
    net.agent(honest).sync_once()
    assert sorted(held_back(honest).values()) == [quarantine.UNPROVEN] * 2
    with honest.store.read() as conn:
        names = {r.username for r in conn.execute(select(t.users))}
    assert "mallory" not in names
    admin = honest.login("admin", "admin-pass-1")
    honest.admin.add_user(admin, "thu", "officer", "officer-pass-2")
    net.agent(honest).sync_once()
    net.agent(hostile).sync_once()
    hostile.login("thu", "officer-pass-2")  # the proven change reached the other desk


def test_a_proof_made_before_a_password_reset_still_verifies(net: Net) -> None:
    """GIVEN an approval the leader signed with her key
    WHEN the admin resets her password (a new key) and every desk rebuilds
    THEN the approval still applies (every key a user had is kept)."""
    honest, other = branch_of_three(net)
    view = awaiting_approval(honest)
    act(honest, view.code, Action.APPROVE, LEADER)
    admin = honest.login("admin", "admin-pass-1")
    honest.admin.set_password(admin, "hung", "leader-pass-2")
    for desk in (honest, other, honest):
        net.agent(desk).sync_once()
    for desk in (honest, other):
        assert rebuilt(desk)["dossiers"] == snapshot(desk)["dossiers"]
        assert desk.dossiers.get(view.code).state is State.APPROVED
        assert quarantine.UNPROVEN not in held_back(desk).values()
    hung = other.login("hung", "leader-pass-2")
    assert hung.signer is not None and hung.signer.public_b64 != LEADER.signer.public_b64  # type: ignore[union-attr]


def test_an_approval_that_arrives_before_its_leader_applies_once_she_does(
    net: Net,
) -> None:
    """GIVEN a leader created by the admin on desk C, who then approves on desk A
    WHEN desk B is handed A's chain (with the approval) before C's (with her creation), as
    LAN peers may
    THEN B first holds the approval back as unproven, and applies it once she is known;
    B's projections then equal a rebuild."""
    branch = net.branch()
    a, b, c = net.desktop(branch), net.desktop(branch), net.desktop(branch)
    for desk in (a, b, c):
        net.agent(desk).sync_once()
    view = awaiting_approval(a)
    admin = c.login("admin", "admin-pass-1")
    c.admin.add_user(admin, "nga", "leader", "leader-pass-9")
    net.agent(c).sync_once()
    net.agent(a).sync_once()
    act(a, view.code, Action.APPROVE, a.login("nga", "leader-pass-9"))
    replica = LocalReplica(b)
    replica.ingest(branch, chain_above(a, b), None)
    assert held_back(b) and set(held_back(b).values()) == {quarantine.UNPROVEN}
    assert b.dossiers.get(view.code).state is State.AWAITING_APPROVAL
    replica.ingest(branch, chain_above(c, b), None)
    assert held_back(b) == {}
    assert b.dossiers.get(view.code).state is State.APPROVED
    assert snapshot(b) == rebuilt(b)


def test_step_verdicts_are_forgotten_without_reading_the_whole_log(net: Net) -> None:
    """Every user change pulled or received refolds the users and forgets the steps held
    back as unproven, so they are judged again: that statement reads the quarantine's rows
    and looks each up in the events' unique index, never a scan of the event log (a desk's
    log grows to hundreds of thousands of events; SQLite's plan for the statement)."""
    desk = net.desktop(net.branch())
    with desk.store.read() as conn:
        plan = [
            str(row[3])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + actors._FORGET_STEP_VERDICTS, (quarantine.UNPROVEN,)
            )
        ]
    assert any(step.startswith("SEARCH e USING INDEX") for step in plan), plan
    assert not any(step.startswith("SCAN e") or "SCAN events" in step for step in plan), plan


def chain_above(source: Branch, target: Branch) -> list[Any]:
    """`source`'s own events that `target` lacks, in chain order."""
    with target.store.read() as conn:
        held = event_store.device_head(conn, source.device_id)[0]
    with source.store.read() as conn:
        return [e for e in event_store.chain(conn, source.device_id) if e.origin_seq > held]


def test_a_decision_needs_the_role_its_actor_held_at_that_moment(net: Net) -> None:
    """GIVEN a dossier awaiting approval and a modified desk that holds the officer's and
    the leader's keys (their passwords leaked)
    WHEN it writes an approval by the officer, with her valid proof, and then — after the
    centre demoted the leader to officer — one by the leader, with hers
    THEN the honest desk quarantines both as `step-role` and the dossier still awaits
    approval; an approval the leader made before her demotion stays applied elsewhere."""
    from tests.sync.fixtures import KEYS

    honest, hostile = branch_of_three(net)
    view = awaiting_approval(honest)
    earlier = awaiting_approval(honest)
    act(honest, earlier.code, Action.APPROVE, LEADER)
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    step = {"at": MOMENT, "note": ""}

    def approval_by(actor: str) -> Any:
        heads = hostile.dossiers.get(view.code).heads
        proof = userkeys.prove(
            KEYS[actor], "dossier.approve", hostile.branch_code, view.id, actor, heads, step
        )
        payload = {**step, "proof": proof}
        return hostile_write(
            hostile, "dossier.approve", payload, dossier=view.id, actor=actor, parents=heads
        )

    by_officer = approval_by("lan")
    net.agent(hostile).sync_once()
    net.identity_role("hung", "officer", honest.branch_code)
    net.agent(hostile).sync_once()  # the hostile desk learns the demotion: its clock passes it
    by_demoted = approval_by("hung")
    net.agent(hostile).sync_once()
    net.agent(honest).sync_once()
    rules = held_back(honest)
    assert rules[by_officer.event_id] == quarantine.STEP_ROLE
    assert rules[by_demoted.event_id] == quarantine.STEP_ROLE
    assert honest.dossiers.get(view.code).state is State.AWAITING_APPROVAL
    assert honest.dossiers.get(earlier.code).state is State.APPROVED  # judged at its moment
    assert snapshot(honest)["dossiers"] == rebuilt(honest)["dossiers"]
    assert set(held_back(honest).values()) == {quarantine.STEP_ROLE}


def test_proofs_verified_ahead_in_parallel_refuse_a_forgery_among_honest_ones(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN six dossiers approved by their leader on one desk, and a forged approval of a
    seventh under her name written by a hostile desk, all on the server
    WHEN a new desk catches up, its batch's proofs verified ahead on several threads
    (the threshold lowered so that six decisions take that path)
    THEN the parallel path ran, the six approvals apply and the forged one is
    quarantined as unproven, as the one-by-one path judges them."""
    honest, hostile = branch_of_three(net)
    views = [awaiting_approval(honest) for _ in range(7)]
    for view in views[:6]:
        act(honest, view.code, Action.APPROVE, LEADER)
    for desk in (honest, hostile):
        net.agent(desk).sync_once()
    last = views[6]
    step = {"at": MOMENT, "note": ""}
    heads = hostile.dossiers.get(last.code).heads
    proof = userkeys.prove(
        DeviceKey.generate(), "dossier.approve", hostile.branch_code, last.id, "hung", heads, step
    )
    forged = hostile_write(
        hostile, "dossier.approve", {**step, "proof": proof}, dossier=last.id, actor="hung"
    )
    net.agent(hostile).sync_once()
    shares: list[int] = []
    verify_share = actors._verify_share
    monkeypatch.setattr(actors, "PROOFS_IN_PARALLEL", 4)
    monkeypatch.setattr(
        actors, "_verify_share", lambda share: shares.append(len(share)) or verify_share(share)
    )
    late = net.desktop(honest.branch_code)
    net.agent(late).sync_once()
    assert sum(shares) >= 7 and len(shares) == actors._proof_threads()
    assert held_back(late) == {forged.event_id: quarantine.UNPROVEN}
    states = [late.dossiers.get(v.code).state for v in views]
    assert states == [State.APPROVED] * 6 + [State.AWAITING_APPROVAL]
    assert snapshot(late)["dossiers"] == snapshot(honest)["dossiers"]
