"""The dossier workflow: states, the national status each maps to, and who may move it.

Each action names the states it may start from, the state it leads to, and the roles
allowed to take it. ``None`` as a target means the state does not change (a re-appointment
or a supplement keeps the dossier where it was; the latter returns to the paused state).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from .errors import N_, PermissionDenied, TransitionRefused


class Role(StrEnum):
    OFFICER = "officer"  # one-stop receiving and returning officer
    SPECIALIST = "specialist"  # processes the dossier at the deciding agency
    LEADER = "leader"  # approves, stops, re-appoints
    ADMIN = "admin"  # branch admin: users, settings, overrides — no dossier decisions


class NationalStatus(IntEnum):
    NEW = 1
    RECEIVED = 2
    NOT_RECEIVED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    FINANCIAL_OBLIGATION = 6
    WITHDRAWAL_REQUESTED = 7
    STOPPED = 8
    FINISHED = 9
    RETURNED = 10


class State(StrEnum):
    SUBMITTED = "submitted"
    RECEIVED = "received"
    REFUSED = "refused"
    TRANSFERRED = "transferred"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PAYMENT_REQUESTED = "payment_requested"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    WITHDRAWAL_REQUESTED = "withdrawal_requested"
    STOPPED = "stopped"
    FINISHED = "finished"
    POSTAL_RETURN = "postal_return"
    RETURNED = "returned"
    AWAY = "away"  # sent to another branch or agency unit for processing (liên thông)
    SENT_BACK = "sent_back"  # a transferred-in dossier handed back to the unit it came from


NATIONAL_STATUS: dict[State, NationalStatus] = {
    State.SUBMITTED: NationalStatus.NEW,
    State.RECEIVED: NationalStatus.RECEIVED,
    State.REFUSED: NationalStatus.NOT_RECEIVED,
    State.TRANSFERRED: NationalStatus.PROCESSING,
    State.PROCESSING: NationalStatus.PROCESSING,
    State.SUPPLEMENT_REQUESTED: NationalStatus.SUPPLEMENT_REQUESTED,
    State.PAYMENT_REQUESTED: NationalStatus.FINANCIAL_OBLIGATION,
    State.AWAITING_APPROVAL: NationalStatus.PROCESSING,
    State.APPROVED: NationalStatus.PROCESSING,
    State.WITHDRAWAL_REQUESTED: NationalStatus.WITHDRAWAL_REQUESTED,
    State.STOPPED: NationalStatus.STOPPED,
    State.FINISHED: NationalStatus.FINISHED,
    State.POSTAL_RETURN: NationalStatus.FINISHED,
    State.RETURNED: NationalStatus.RETURNED,
    State.AWAY: NationalStatus.PROCESSING,
    State.SENT_BACK: NationalStatus.FINISHED,
}

# States in which the dossier is still being worked on (the clock runs or is paused).
OPEN_STATES = frozenset(
    {
        State.RECEIVED,
        State.TRANSFERRED,
        State.PROCESSING,
        State.SUPPLEMENT_REQUESTED,
        State.PAYMENT_REQUESTED,
        State.AWAITING_APPROVAL,
        State.APPROVED,
        State.WITHDRAWAL_REQUESTED,
        State.AWAY,
    }
)
# States that end processing: the "end moment" of Decision 766.
END_STATES = frozenset(
    {
        State.REFUSED,
        State.STOPPED,
        State.FINISHED,
        State.POSTAL_RETURN,
        State.RETURNED,
        State.SENT_BACK,
    }
)


class Action(StrEnum):
    RECEIVE = "receive"
    REFUSE = "refuse"
    REQUEST_SUPPLEMENT = "request-supplement"
    SUPPLEMENT = "supplement"
    TRANSFER = "transfer"
    START = "start"
    REQUEST_PAYMENT = "request-payment"
    PAY = "pay"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    STOP = "stop"
    FINISH = "finish"
    RETURN = "return"
    REGISTER_POSTAL = "register-postal"
    DELIVER = "deliver"
    REAPPOINT = "reappoint"
    # Between units (``core.domain.transfers``): each has its own command, never a plain button.
    SEND_OUT = "send-out"
    SEND_BACK = "send-back"
    TAKE_BACK = "take-back"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[State]
    target: State | None
    roles: frozenset[Role]
    needs_note: bool = False


def _t(
    action: Action,
    sources: set[State],
    target: State | None,
    roles: set[Role],
    needs_note: bool = False,
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles), needs_note)


_O, _S, _L = Role.OFFICER, Role.SPECIALIST, Role.LEADER
_WORKING = {State.RECEIVED, State.TRANSFERRED, State.PROCESSING}

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        _t(Action.RECEIVE, {State.SUBMITTED}, State.RECEIVED, {_O}),
        _t(Action.REFUSE, {State.SUBMITTED, State.RECEIVED}, State.REFUSED, {_O}, True),
        _t(Action.REQUEST_SUPPLEMENT, _WORKING, State.SUPPLEMENT_REQUESTED, {_O, _S}, True),
        _t(Action.SUPPLEMENT, {State.SUPPLEMENT_REQUESTED}, None, {_O}),
        _t(Action.TRANSFER, {State.RECEIVED, State.PROCESSING}, State.TRANSFERRED, {_O, _S}),
        _t(Action.START, {State.TRANSFERRED}, State.PROCESSING, {_S}),
        _t(Action.REQUEST_PAYMENT, {State.PROCESSING}, State.PAYMENT_REQUESTED, {_S}, True),
        _t(Action.PAY, {State.PAYMENT_REQUESTED}, State.PROCESSING, {_O, _S}),
        _t(Action.SUBMIT, {State.PROCESSING}, State.AWAITING_APPROVAL, {_S}),
        _t(Action.APPROVE, {State.AWAITING_APPROVAL}, State.APPROVED, {_L}),
        _t(Action.REJECT, {State.AWAITING_APPROVAL}, State.PROCESSING, {_L}, True),
        _t(
            Action.WITHDRAW,
            set(OPEN_STATES) - {State.WITHDRAWAL_REQUESTED, State.AWAY},
            State.WITHDRAWAL_REQUESTED,
            {_O},
            True,
        ),
        _t(
            Action.STOP,
            {State.WITHDRAWAL_REQUESTED, State.PROCESSING, State.SUPPLEMENT_REQUESTED},
            State.STOPPED,
            {_L},
            True,
        ),
        _t(Action.FINISH, {State.APPROVED}, State.FINISHED, {_O, _S}),
        _t(Action.RETURN, {State.FINISHED}, State.RETURNED, {_O}),
        _t(Action.REGISTER_POSTAL, {State.FINISHED}, State.POSTAL_RETURN, {_O}),
        _t(Action.DELIVER, {State.POSTAL_RETURN}, State.RETURNED, {_O}),
        _t(Action.REAPPOINT, set(OPEN_STATES) - {State.AWAY}, None, {_L}, True),
        _t(Action.SEND_OUT, {State.RECEIVED, State.PROCESSING}, State.AWAY, {_O, _S}),
        _t(
            Action.SEND_BACK,
            {State.RECEIVED, State.FINISHED, State.STOPPED, State.RETURNED, State.POSTAL_RETURN},
            State.SENT_BACK,
            {_O, _S},
        ),
        _t(Action.TAKE_BACK, {State.AWAY}, None, {_O}),
    )
}


# Waits for the citizen (statuses 5 and 6): the clock stops at the action that starts one
# and runs again, with the appointment moved by the time taken, at the one that ends it.
WAITS: dict[Action, Action] = {
    Action.REQUEST_SUPPLEMENT: Action.SUPPLEMENT,
    Action.REQUEST_PAYMENT: Action.PAY,
}
WAIT_ENDS: dict[Action, Action] = {end: begin for begin, end in WAITS.items()}
# Taken through ``core.services.transfers`` with their own details, not offered as buttons.
TRANSFER_ACTIONS = frozenset({Action.SEND_OUT, Action.SEND_BACK, Action.TAKE_BACK})


def transition_for(action: Action, state: State, role: Role) -> Transition:
    """The transition `role` may take from `state`, or a specific refusal."""
    transition = TRANSITIONS[action]
    if state not in transition.sources:
        raise TransitionRefused(
            N_("Action '{action}' is not allowed while the dossier is {state}"),
            action=ACTION_LABELS[action],
            state=STATE_LABELS[state],
        )
    if role not in transition.roles:
        raise PermissionDenied(
            N_("Role '{role}' may not take action '{action}'"),
            role=role.value,
            action=ACTION_LABELS[action],
        )
    return transition


def allowed_actions(state: State, role: Role) -> list[Action]:
    """What a user of `role` may do now: the buttons a screen shows."""
    return [
        a
        for a, t in TRANSITIONS.items()
        if state in t.sources and role in t.roles and a not in TRANSFER_ACTIONS
    ]


# Plain words for people (translated at the edge; the national wording in Vietnamese).
STATE_LABELS: dict[State, str] = {
    State.SUBMITTED: N_("submitted online, not yet received"),
    State.RECEIVED: N_("received"),
    State.REFUSED: N_("not received (refused)"),
    State.TRANSFERRED: N_("transferred for processing"),
    State.PROCESSING: N_("being processed"),
    State.SUPPLEMENT_REQUESTED: N_("waiting for the citizen's supplement"),
    State.PAYMENT_REQUESTED: N_("waiting for the financial obligation"),
    State.AWAITING_APPROVAL: N_("waiting for approval"),
    State.APPROVED: N_("approved"),
    State.WITHDRAWAL_REQUESTED: N_("withdrawal requested"),
    State.STOPPED: N_("processing stopped"),
    State.FINISHED: N_("result ready"),
    State.POSTAL_RETURN: N_("result sent by post"),
    State.RETURNED: N_("result returned"),
    State.AWAY: N_("at another unit for processing"),
    State.SENT_BACK: N_("sent back to the unit it came from"),
}

ACTION_LABELS: dict[Action, str] = {
    Action.RECEIVE: N_("Receive"),
    Action.REFUSE: N_("Refuse"),
    Action.REQUEST_SUPPLEMENT: N_("Request supplement"),
    Action.SUPPLEMENT: N_("Supplement received"),
    Action.TRANSFER: N_("Transfer"),
    Action.START: N_("Start processing"),
    Action.REQUEST_PAYMENT: N_("Request financial obligation"),
    Action.PAY: N_("Obligation paid"),
    Action.SUBMIT: N_("Submit for approval"),
    Action.APPROVE: N_("Approve"),
    Action.REJECT: N_("Send back"),
    Action.WITHDRAW: N_("Citizen withdraws"),
    Action.STOP: N_("Stop processing"),
    Action.FINISH: N_("Result ready"),
    Action.RETURN: N_("Return result"),
    Action.REGISTER_POSTAL: N_("Send by post"),
    Action.DELIVER: N_("Postal delivery confirmed"),
    Action.REAPPOINT: N_("New appointment (apology)"),
    Action.SEND_OUT: N_("Send to another unit"),
    Action.SEND_BACK: N_("Send back to the unit it came from"),
    Action.TAKE_BACK: N_("Take back from the other unit"),
}
