"""Every transition of the national status model: allowed from the right states to the
right roles, refused otherwise, and a refusal changes nothing."""

from __future__ import annotations

import itertools

import pytest

from core.domain.errors import PermissionDenied, TransitionRefused, ValidationError
from core.domain.workflow import (
    ACTION_LABELS,
    NATIONAL_STATUS,
    STATE_LABELS,
    TRANSFER_ACTIONS,
    TRANSITIONS,
    Action,
    Role,
    State,
    allowed_actions,
    transition_for,
)
from core.storage import event_store

from .conftest import World

# How to bring a counter dossier to each state: (user, action) steps after receipt.
PATHS: dict[State, list[tuple[str, str]]] = {
    State.RECEIVED: [],
    State.REFUSED: [("lan", "refuse")],
    State.TRANSFERRED: [("lan", "transfer")],
    State.PROCESSING: [("lan", "transfer"), ("minh", "start")],
    State.SUPPLEMENT_REQUESTED: [("lan", "request-supplement")],
    State.PAYMENT_REQUESTED: [("lan", "transfer"), ("minh", "start"), ("minh", "request-payment")],
    State.AWAITING_APPROVAL: [("lan", "transfer"), ("minh", "start"), ("minh", "submit")],
    State.APPROVED: [
        ("lan", "transfer"),
        ("minh", "start"),
        ("minh", "submit"),
        ("hung", "approve"),
    ],
    State.WITHDRAWAL_REQUESTED: [("lan", "withdraw")],
    State.STOPPED: [("lan", "withdraw"), ("hung", "stop")],
    State.FINISHED: [
        ("lan", "transfer"),
        ("minh", "start"),
        ("minh", "submit"),
        ("hung", "approve"),
        ("minh", "finish"),
    ],
}
PATHS[State.POSTAL_RETURN] = [*PATHS[State.FINISHED], ("lan", "register-postal")]
PATHS[State.RETURNED] = [*PATHS[State.FINISHED], ("lan", "return")]
USER_OF_ROLE = {
    Role.OFFICER: "lan",
    Role.SPECIALIST: "minh",
    Role.LEADER: "hung",
    Role.ADMIN: "admin",
}


def kwargs_for(action: Action, world: World) -> dict[str, object]:
    details: dict[str, object] = {"postal_address": "Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội"}
    if action is Action.REAPPOINT:
        details["due_at"] = "2027-06-01T09:00"
    return {"note": "lý do", "details": details}


def bring_to(world: World, state: State) -> str:
    code = world.receive().code
    for who, action in PATHS[state]:
        world.act(who, code, action, **kwargs_for(Action(action), world))
    assert world.branch.dossiers.get(code).state is state
    return code


def test_every_state_has_a_path_and_a_national_status() -> None:
    # Away and sent back come through a transfer between units (tests/sync/test_transfers.py).
    assert set(PATHS) == set(State) - {State.SUBMITTED, State.AWAY, State.SENT_BACK}
    assert set(NATIONAL_STATUS) == set(State) == set(STATE_LABELS)
    assert set(ACTION_LABELS) == set(Action)


@pytest.mark.parametrize(("action", "state", "role"), list(itertools.product(Action, State, Role)))
def test_transition_matrix(action: Action, state: State, role: Role) -> None:
    """Each (action, state, role) is allowed exactly when the table says so; otherwise the
    refusal names the reason: the state (TransitionRefused) before the role (PermissionDenied)."""
    transition = TRANSITIONS[action]
    if state in transition.sources and role in transition.roles:
        assert transition_for(action, state, role) is transition
        # Transfers between units have their own commands, never a plain button.
        assert (action in allowed_actions(state, role)) is (action not in TRANSFER_ACTIONS)
        return
    expected = TransitionRefused if state not in transition.sources else PermissionDenied
    with pytest.raises(expected):
        transition_for(action, state, role)
    assert action not in allowed_actions(state, role)


ALLOWED = [
    (state, action, role)
    for state in PATHS
    for action, t in TRANSITIONS.items()
    if state in t.sources and action not in TRANSFER_ACTIONS
    for role in sorted(t.roles)
]


@pytest.mark.parametrize(("state", "action", "role"), ALLOWED)
def test_allowed_transition_through_the_service(
    world: World, state: State, action: Action, role: Role
) -> None:
    """GIVEN a dossier in `state` WHEN a user of `role` takes `action` THEN the dossier moves
    to the target state (or stays, for re-appointment) and one event is recorded."""
    code = bring_to(world, state)
    before = world.branch.dossiers.get(code)
    view = world.act(USER_OF_ROLE[role], code, action.value, **kwargs_for(action, world))
    target = TRANSITIONS[action].target
    if action is Action.SUPPLEMENT:
        target = State.RECEIVED  # back to where the pause started
    assert view.state is (target or before.state)
    assert view.national_status == NATIONAL_STATUS[view.state]
    assert len(world.branch.dossiers.timeline(code)) == len(PATHS[state]) + 2


@pytest.mark.parametrize("state", list(PATHS))
def test_refused_transitions_change_nothing(world: World, state: State) -> None:
    """GIVEN a dossier in `state` WHEN every action not allowed from it is attempted
    THEN each is refused and the event log is untouched."""
    code = bring_to(world, state)
    with world.branch.store.read() as conn:
        events_before = event_store.count(conn)
    refused = [a for a in Action if a is not Action.RECEIVE and state not in TRANSITIONS[a].sources]
    for action in TRANSFER_ACTIONS:  # never through the plain step: they have their own commands
        with pytest.raises(ValidationError, match="transfer"):
            world.act("lan", code, action.value, **kwargs_for(action, world))
    for action in set(refused) - TRANSFER_ACTIONS:
        with pytest.raises(TransitionRefused):
            world.act(
                "hung" if Role.LEADER in TRANSITIONS[action].roles else "lan",
                code,
                action.value,
                **kwargs_for(action, world),
            )
    with world.branch.store.read() as conn:
        assert event_store.count(conn) == events_before
    assert world.branch.dossiers.get(code).state is state


def test_wrong_role_is_refused_and_changes_nothing(world: World) -> None:
    code = bring_to(world, State.AWAITING_APPROVAL)
    with pytest.raises(PermissionDenied):
        world.act("minh", code, "approve")
    with pytest.raises(PermissionDenied):
        world.act("admin", code, "approve")
    assert world.branch.dossiers.get(code).state is State.AWAITING_APPROVAL


def test_actions_that_need_a_reason_refuse_an_empty_note(world: World) -> None:
    code = world.receive().code
    with pytest.raises(ValidationError):
        world.branch.dossiers.act(world.users["lan"], code, Action.REFUSE, note="  ")
    assert world.branch.dossiers.get(code).state is State.RECEIVED


def test_reappoint_must_move_the_appointment_later(world: World) -> None:
    code = world.receive().code
    with pytest.raises(ValidationError):
        world.act("hung", code, "reappoint", note="xin lỗi", details={"due_at": "2026-11-23T10:00"})


def test_action_dated_before_receipt_is_refused(world: World) -> None:
    code = world.receive(received_at=None).code
    with pytest.raises(ValidationError):
        world.act("lan", code, "transfer", at="2020-01-01T09:00")


def test_supplement_returns_to_the_state_it_paused_and_moves_the_due_moment(world: World) -> None:
    """GIVEN a 3-working-day dossier received Monday 23/11/2026 09:00 (24/11 is a holiday, so
    due Friday 27/11 09:00) WHEN the specialist requests a supplement Monday 14:00 and the
    citizen brings it Wednesday 25/11 09:00 (3 + 2 = 5 working hours)
    THEN it is back in processing and due 5 working hours later, Friday 16:00."""
    world.clock.set("2026-11-23T09:00")
    code = bring_to(world, State.PROCESSING)
    due_before = world.branch.dossiers.get(code).due_at
    world.act("minh", code, "request-supplement", at="2026-11-23T14:00", note="Thiếu tờ khai")
    view = world.act("lan", code, "supplement", at="2026-11-25T09:00")
    assert view.state is State.PROCESSING
    assert due_before == "2026-11-27T09:00:00+07:00"
    assert view.due_at == "2026-11-27T16:00:00+07:00"
    assert view.supplement_count == 1


def test_handover_rows_feed_the_control_slip(world: World) -> None:
    code = bring_to(world, State.FINISHED)
    view = world.branch.dossiers.get(code)
    assert [h.action for h in view.handovers] == [
        "transfer",
        "start",
        "submit",
        "approve",
        "finish",
    ]
    assert [h.giver for h in view.handovers] == ["lan", "minh", "minh", "hung", "minh"]
