"""Dossiers transferred between units: branches of the centre and agency units (liên thông;
since Decree 118/2025/NĐ-CP a citizen may file at any branch of the province).

Each unit keeps only its own events. A transfer is four events, each in its writer's own
scope, and two relayed messages:

1. unit A writes ``dossier.send-out`` (to B, with a snapshot of the dossier); its dossier
   is then ``away`` and A writes no processing step on it;
2. the centre (or a desk of A over the LAN) hands B that event with the centre's
   enrolment of the desk that wrote it: an *offer* B's desks check on their own — the
   centre's key vouches for the desk's key, the desk's key for the event;
3. B accepts explicitly: ``dossier.transfer-in`` starts B's own dossier from the offer's
   snapshot (same code, same appointment: the due moment stays the one given at receipt)
   and carries the offer, so every replica of B and the centre check it again;
4. B processes it with its own clerks, then writes ``dossier.send-back`` with the outcome
   (finished, stopped, returned to the citizen at B, or declined) and the result files;
5. A takes it back explicitly: ``dossier.take-back`` carries B's signed send-back.

So B never holds an event of A's (only the offers addressed to it), A never holds B's, and
each step is proved by its writer's signature wherever it is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .authority import CENTRE_PREFIX, AuthorityRefused, MalformedEvent, check
from .dossier import DossierView
from .errors import N_, ValidationError
from .events import Event
from .workflow import Action, State

SEND_OUT = "dossier." + Action.SEND_OUT.value
SEND_BACK = "dossier." + Action.SEND_BACK.value
TAKE_BACK = "dossier." + Action.TAKE_BACK.value
TRANSFER_IN = "dossier.transfer-in"
DEVICE_ENROLLED = "device.enrolled"
# The events another unit must be handed: what kind of message each is to its receiver.
RELAYED = {SEND_OUT: "offer", SEND_BACK: "reply"}
# How the other unit's state reads as an outcome of the transfer.
OUTCOMES: dict[State, str] = {
    State.RECEIVED: "declined",
    State.FINISHED: "finished",
    State.STOPPED: "stopped",
    State.RETURNED: "returned",
    State.POSTAL_RETURN: "returned",
}
RULE = "transfer-proof"


def snapshot(view: DossierView) -> dict[str, Any]:
    """What the receiving unit starts its dossier from."""
    return {
        "code": view.code,
        "procedure": {
            "code": view.procedure_code,
            "version": view.procedure_version,
            "name": view.procedure_name,
            "field": view.field,
            "unit": str(view.extra.get("unit", "working_days")),
        },
        "applicant": dict(view.applicant),
        "channel": view.channel,
        "components": [dict(c) for c in view.components],
        "fees_vnd": view.fees_vnd,
        "return_method": view.return_method,
        "postal_address": view.postal_address,
        "received_at": view.received_at,
        "received_by": view.received_by,
        "due_at": view.due_at,
        "deadline_at": view.deadline,
        "due_explanation": [dict(step) for step in view.due_explanation],
        "lookup_token": view.lookup_token,
    }


def relayed_to(event: Event) -> str | None:
    """The unit `event` must be handed to, or None."""
    if event.type not in RELAYED:
        return None
    return str(event.payload.get("to_branch", "")) or None


def verify_message(
    message: Mapping[str, Any],
    enrolment: Mapping[str, Any],
    centre_key: str,
    expected_type: str,
    to_branch: str,
) -> Event:
    """The other unit's event, once the centre's enrolment vouches for its desk's key, its
    own signature holds, the authority table admits it and it is addressed to `to_branch`.
    """
    try:
        enrolled = Event.from_wire(enrolment)
        event = Event.from_wire(message)
    except ValidationError as err:
        raise MalformedEvent(RULE, err.message, **err.params) from None
    _check_enrolment(enrolled, event, centre_key)
    if not (event.hash_ok() and event.signature_ok(str(enrolled.payload["public_key"]))):
        raise _refused(N_("The other unit's event {event} is not signed by its desk"), event)
    if event.type != expected_type:
        raise _refused(N_("The other unit's event {event} is not the one expected here"), event)
    check(event, str(enrolled.payload["branch"]))
    if event.payload.get("to_branch") != to_branch:
        raise _refused(N_("The other unit's event {event} is addressed to another unit"), event)
    return event


def enrolled_desk(enrolment: Mapping[str, Any], centre_key: str) -> tuple[str, str, str]:
    """(device id, branch, public key) of a desk of another unit, as the centre's
    ``device.enrolled`` says (a LAN peer of another unit introduces itself with it)."""
    try:
        enrolled = Event.from_wire(enrolment)
    except ValidationError as err:
        raise MalformedEvent(RULE, err.message, **err.params) from None
    p = enrolled.payload
    if (
        enrolled.type != DEVICE_ENROLLED
        or enrolled.origin_device != CENTRE_PREFIX + enrolled.branch
        or not enrolled.hash_ok()
        or not enrolled.signature_ok(centre_key)
        or p.get("branch") != enrolled.branch
    ):
        raise _refused(N_("The enrolment sent with event {event} is not the centre's"), enrolled)
    return str(p["device_id"]), enrolled.branch, str(p["public_key"])


def _check_enrolment(enrolled: Event, event: Event, centre_key: str) -> None:
    p = enrolled.payload
    if (
        enrolled.type != DEVICE_ENROLLED
        or enrolled.origin_device != CENTRE_PREFIX + enrolled.branch
        or not enrolled.hash_ok()
        or not enrolled.signature_ok(centre_key)
    ):
        raise _refused(N_("The enrolment sent with event {event} is not the centre's"), event)
    if p.get("device_id") != event.origin_device or p.get("branch") != event.branch:
        raise _refused(N_("The enrolment sent with event {event} names another desk"), event)


def _refused(message: str, event: Event) -> AuthorityRefused:
    return AuthorityRefused(RULE, message, event=event.event_id)


def check_event(event: Event, centre_key: str | None) -> None:
    """Refuse a ``transfer-in`` or ``take-back`` whose carried message does not hold
    (`centre_key` None: this replica cannot check it — a desk never enrolled)."""
    if event.type not in (TRANSFER_IN, TAKE_BACK):
        return
    if not centre_key:
        raise AuthorityRefused(
            RULE,
            N_("Event {event} carries another unit's message: only an enrolled desk can check it"),
            event=event.event_id,
        )
    p = event.payload
    if event.type == TRANSFER_IN:
        verify_message(p["offer"], p["enrolment"], centre_key, SEND_OUT, event.branch)
        return
    reply = verify_message(p["reply"], p["enrolment"], centre_key, SEND_BACK, event.branch)
    if reply.payload.get("origin_dossier") != event.dossier_id:
        raise _refused(N_("The send-back in event {event} is about another dossier"), event)
