"""Plain words for codes the core stores (fields, roles, events) and display formats."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.domain.catalogue import Field, Level, ProcessingUnit
from core.domain.errors import N_
from core.domain.timeutil import parse_moment, to_vietnam
from core.domain.workflow import ACTION_LABELS, STATE_LABELS, Action, Role, State
from core.i18n import _, tr

if TYPE_CHECKING:
    from collections.abc import Iterable

    from core.domain.due import ExplanationStep

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

LEVEL_LABELS: dict[str, str] = {
    Level.COMMUNE: N_("Commune level"),
    Level.PROVINCE: N_("Province level"),
}

ROLE_LABELS: dict[str, str] = {
    Role.OFFICER: N_("Receiving officer"),
    Role.SPECIALIST: N_("Specialist"),
    Role.LEADER: N_("Leader"),
    Role.ADMIN: N_("Branch admin"),
}

UNIT_LABELS: dict[str, str] = {
    ProcessingUnit.WORKING_DAYS: N_("{n} working days"),
    ProcessingUnit.WORKING_HOURS: N_("{n} working hours"),
    ProcessingUnit.CALENDAR_DAYS: N_("{n} calendar days"),
    ProcessingUnit.WITHIN_DAY: N_("within the working day"),
}

EVENT_LABELS: dict[str, str] = {
    "dossier.note": N_("Note"),
    "dossier.attach": N_("Pages attached"),
    "dossier.rate": N_("Citizen rating"),
    "dossier.resolve": N_("Conflict resolved"),
    "dossier.transfer-in": N_("Accepted from another unit"),
}

_WAIT = N_("Nothing to do: the dossier is being handled. Come back on the appointment day.")
_BRING = N_("Please bring the missing papers to the counter; the clock is paused until then.")
_PAY = N_("Please pay the financial obligation, then bring the receipt to the counter.")

# What the citizen should do next, by state (kiosk and lookup).
NEXT_STEP: dict[State, str] = {
    State.SUBMITTED: N_("Bring your papers to the counter to have the dossier received."),
    State.RECEIVED: N_(
        "Nothing to do: the dossier is being handled. Come back on the appointment day."
    ),
    State.REFUSED: N_("The dossier was not received. Ask the counter for the reason."),
    State.TRANSFERRED: N_(
        "Nothing to do: the dossier is being handled. Come back on the appointment day."
    ),
    State.PROCESSING: N_(
        "Nothing to do: the dossier is being handled. Come back on the appointment day."
    ),
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


def state_label(state: str) -> str:
    return _(STATE_LABELS[State(state)])


def action_label(action: Action | str) -> str:
    return _(ACTION_LABELS[Action(action)])


def field_label(field: str) -> str:
    return _(FIELD_LABELS.get(field, field))


def level_label(level: str) -> str:
    return _(LEVEL_LABELS.get(level, level))


def role_label(role: str) -> str:
    return _(ROLE_LABELS.get(role, role))


def processing_time(amount: int, unit: str) -> str:
    return tr(UNIT_LABELS.get(unit, "{n}"), n=amount)


def event_label(event_type: str) -> str:
    if event_type in EVENT_LABELS:
        return _(EVENT_LABELS[event_type])
    name = event_type.removeprefix("dossier.")
    if name in Action._value2member_map_:
        return action_label(name)
    return event_type


def moment(value: str | datetime | None) -> str:
    """A moment as Vietnamese counters write it: 14:30 05/03/2026."""
    if not value:
        return "—"
    when = parse_moment(value) if isinstance(value, str) else value
    return to_vietnam(when).strftime("%H:%M %d/%m/%Y")


def day(value: str | datetime | None) -> str:
    if not value:
        return "—"
    when = parse_moment(value) if isinstance(value, str) else value
    return to_vietnam(when).strftime("%d/%m/%Y")


PAYMENT_LABELS = {
    "cash": N_("in cash"),
    "transfer": N_("by bank transfer"),
    "online": N_("paid online"),
}


def receipt_line(number: str, amount_vnd: int, method: str, at: str) -> str:
    """One fee receipt as the dossier screen lists it."""
    return tr(
        "Receipt {number}: {amount}, {method}, {moment}",
        number=number,
        amount=money(amount_vnd),
        method=_(PAYMENT_LABELS.get(method, method)),
        moment=moment(at),
    )


def money(amount_vnd: int) -> str:
    grouped = f"{amount_vnd:,}".replace(",", ".")
    return tr("{amount} VND", amount=grouped)


def explanation(steps: Iterable[ExplanationStep | dict[str, Any]]) -> list[str]:
    """The due moment's explanation, each step translated."""
    lines = []
    for step in steps:
        message = step["message"] if isinstance(step, dict) else step.message
        params = step["params"] if isinstance(step, dict) else step.params
        lines.append(tr(message, **params))
    return lines
