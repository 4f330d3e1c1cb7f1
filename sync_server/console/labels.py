"""Plain words for what the console shows: the citizen's status and next step, fields,
roles, event types; and the display format of moments (14:30 05/03/2026) and days
(05/03/2026), the same in both languages as the centres write them."""

from __future__ import annotations

from datetime import date, datetime

from core.domain.catalogue import Field
from core.domain.errors import N_, MotcuaError
from core.domain.timeutil import parse_moment, to_vietnam
from core.domain.workflow import ACTION_LABELS, STATE_LABELS, Action, State

from .accounts import AUDITOR, BRANCH_MANAGER, CENTRAL_ADMIN

# The status as the citizen reads it on the lookup page.
CITIZEN_STATUS: dict[State, str] = {
    State.SUBMITTED: N_("Submitted online, not yet received at the counter"),
    State.RECEIVED: N_("Received, waiting to be processed"),
    State.REFUSED: N_("Not received"),
    State.TRANSFERRED: N_("Being processed"),
    State.PROCESSING: N_("Being processed"),
    State.SUPPLEMENT_REQUESTED: N_("Waiting for additional papers from you"),
    State.PAYMENT_REQUESTED: N_("Waiting for your payment"),
    State.AWAITING_APPROVAL: N_("Being processed: waiting for approval"),
    State.APPROVED: N_("Approved: the result is being prepared"),
    State.WITHDRAWAL_REQUESTED: N_("Your withdrawal request is being handled"),
    State.STOPPED: N_("Processing stopped"),
    State.FINISHED: N_("Result ready to collect"),
    State.POSTAL_RETURN: N_("Result sent by post"),
    State.RETURNED: N_("Result returned to you"),
}

_WAIT = N_("Nothing to do: the dossier is being handled. Come back on the appointment day.")

# What the citizen should do next, by state.
NEXT_STEP: dict[State, str] = {
    State.SUBMITTED: N_("Bring your papers to the counter to have the dossier received."),
    State.RECEIVED: _WAIT,
    State.REFUSED: N_("The dossier was not received. Ask the counter for the reason."),
    State.TRANSFERRED: _WAIT,
    State.PROCESSING: _WAIT,
    State.SUPPLEMENT_REQUESTED: N_(
        "Please bring the missing papers to the counter; the clock is paused until then."
    ),
    State.PAYMENT_REQUESTED: N_(
        "Please pay the financial obligation, then bring the receipt to the counter."
    ),
    State.AWAITING_APPROVAL: N_("Nothing to do: the result is waiting for the leader's signature."),
    State.APPROVED: N_("Nothing to do: the result is approved and will be ready soon."),
    State.WITHDRAWAL_REQUESTED: N_("Your withdrawal request is being handled."),
    State.STOPPED: N_("Processing was stopped. Ask the counter for the reason."),
    State.FINISHED: N_("The result is ready: bring your slip and citizen ID card to the counter."),
    State.POSTAL_RETURN: N_("The result was sent by post to your address."),
    State.RETURNED: N_("The result has been returned to you. Thank you."),
}

# States whose appointment is still ahead of the citizen.
SHOW_APPOINTMENT = frozenset(State) - {State.REFUSED, State.STOPPED, State.RETURNED}

FIELD_LABELS: dict[str, str] = {
    Field.CIVIL_STATUS: N_("Civil status"),
    Field.CERTIFICATION: N_("Certification"),
    Field.LAND: N_("Land"),
    Field.CONSTRUCTION: N_("Construction"),
    Field.PLANNING: N_("Planning"),
    Field.BUSINESS: N_("Business registration"),
    Field.INVESTMENT: N_("Investment"),
    Field.FINANCE: N_("Finance"),
    Field.AGRICULTURE: N_("Agriculture"),
    Field.JUSTICE: N_("Justice"),
    Field.LABOUR: N_("Labour and social affairs"),
    Field.RESIDENCE: N_("Residence"),
    Field.ENVIRONMENT: N_("Environment"),
}

ROLE_LABELS: dict[str, str] = {
    CENTRAL_ADMIN: N_("Central admin"),
    AUDITOR: N_("Auditor (read only)"),
    BRANCH_MANAGER: N_("Branch manager"),
}

CHANNEL_LABELS: dict[str, str] = {
    "counter": N_("At the counter"),
    "online": N_("Online"),
    "postal": N_("By post"),
}

EVENT_LABELS: dict[str, str] = {
    "dossier.note": N_("Note"),
    "dossier.attach": N_("Pages attached"),
    "dossier.rate": N_("Citizen rating"),
    "dossier.resolve": N_("Conflict resolved"),
    "dossier.transfer-in": N_("Accepted from another unit"),
    "dossier.edit": N_("Details corrected"),
}


def state_label(state: str) -> str:
    return STATE_LABELS.get(State(state), state) if state in State._value2member_map_ else state


def event_label(event_type: str) -> str:
    """The msgid naming an event type (translated by the caller)."""
    if event_type in EVENT_LABELS:
        return EVENT_LABELS[event_type]
    name = event_type.removeprefix("dossier.")
    if name in Action._value2member_map_:
        return ACTION_LABELS[Action(name)]
    return event_type


def moment(value: str | None) -> str:
    """A moment as Vietnamese counters write it: 14:30 05/03/2026."""
    if not value:
        return "—"
    try:
        return to_vietnam(parse_moment(value)).strftime("%H:%M %d/%m/%Y")
    except (MotcuaError, ValueError):  # a malformed moment is shown as it is
        return value


def day(value: str | date | None) -> str:
    """A day (an ISO text, a date or a moment) as 05/03/2026."""
    if not value:
        return "—"
    if isinstance(value, datetime):
        return to_vietnam(value).strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    try:
        if len(value) > 10:  # a moment: its day in Vietnam, not in the zone it was written
            return to_vietnam(parse_moment(value)).strftime("%d/%m/%Y")
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except (MotcuaError, ValueError):  # a malformed day is shown as it is
        return value
