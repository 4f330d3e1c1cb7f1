"""The moments an event of a dossier may carry, judged in the fold on every receiver alike.

A desk writes each event's moment (``at``) and, for some events, appointments it computed:
the receipt's, an online receipt's, those after a wait (``due_at``, ``deadline_at``,
``nominal_at``) and a re-appointment's. The on-time figures are read from them, so a
hostile desk of the branch could otherwise date a refusal in 9998 or move a deadline
there (and the next honest wait's end would overflow the calendar). The fold cannot
recompute them: each desk computed them with the calendar it held then, and a desk that
has not yet received a day off would fold to another record. Nor does it bound how far
one event moves an appointment from the record it folds onto: that record may hold a
concurrent re-appointment, or a calendar changed since, so an honest step would be set
aside. It bounds every moment by the clock that recorded the event instead
(docs/security.md, "Moments and clocks").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import N_, TransitionRefused, ValidationError
from .events import Event
from .hlc import Timestamp
from .timeutil import epoch_ms, parse_moment, to_vietnam

if TYPE_CHECKING:
    from .dossier import DossierView

NOMINAL = "nominal"  # calendar days: the promised day before a move off a day off
CREATED = "created_at"  # the receipt or online submission that began the record

# How far a moment may stray from the clocks: the desks of a branch keep their own, and a
# PC whose hardware clock keeps local time as UTC runs 7 h off (as ``hlc.MAX_AHEAD_MS``).
STEP_SLACK = timedelta(days=1)
# How far from the clock that recorded it an appointment may lie, and a receipt be dated
# back. An appointment is set at most a time limit ahead (45 working days is the longest
# in use; a wait's end sets it the rest of that time ahead); a receipt is dated back when
# the paper records of an outage are entered. Two years is far past both, so that no
# honest event is set aside, and short of the moments no period of the statistics reaches.
HORIZON = timedelta(days=731)

_APPOINTMENTS = ("due_at", "deadline_at", "nominal_at")


def check_start_moments(event: Event) -> None:
    """The event that begins a record (a receipt, an online submission, a transfer in):
    dated no later than its recording clock allows, no earlier than ``HORIZON`` before it,
    and its appointments between its moment and ``HORIZON`` past that clock."""
    at = event.payload.get("at")
    if not isinstance(at, str):
        return
    moment = parse_moment(at)
    check_not_after_recording(event, moment)
    recorded_ms = Timestamp.decode(event.hlc).wall_ms
    if epoch_ms(moment + HORIZON) < recorded_ms:
        raise TransitionRefused(
            N_("The receipt is dated {at}, more than two years before it was recorded"),
            at=_shown(moment),
        )
    floor = moment
    offer = event.payload.get("offer")
    if isinstance(offer, dict):  # a transfer in: the sender's record, received before
        received = offer.get("payload", {}).get("snapshot", {}).get("received_at")
        floor = parse_moment(received) if isinstance(received, str) else floor
    for value in _appointments(event.payload):
        _check_appointment(value, floor, recorded_ms)


def check_step_moments(view: DossierView, event: Event) -> None:
    """A workflow step: dated between its dossier's receipt and its recording clock (a
    day's slack each way), its appointments between the receipt and ``HORIZON`` past that
    clock (``fold_guarded`` sets a step aside with this reason)."""
    at = event.payload.get("at")
    if not isinstance(at, str):
        return
    moment = parse_moment(at)
    check_not_before_receipt(view, moment)
    check_not_after_recording(event, moment)
    since = first_received_at(view)
    floor = parse_moment(since) if since else moment
    recorded_ms = Timestamp.decode(event.hlc).wall_ms
    for value in _appointments(event.payload):
        _check_appointment(value, floor, recorded_ms)


def check_not_before_receipt(view: DossierView, moment: datetime) -> None:
    """Not before its dossier's receipt (by more than a day: clocks differ). A step
    "taken" in 1990 would start a wait no clerk could end (the working time since then is
    past any calendar) and date the dossier's end for the statistics."""
    since = first_received_at(view)
    if not since:
        return
    received = parse_moment(since)
    if moment < received - STEP_SLACK:
        raise TransitionRefused(
            N_("The step is dated {at}, before the dossier was received ({received})"),
            at=_shown(moment),
            received=_shown(received),
        )


def check_not_after_recording(event: Event, moment: datetime) -> None:
    """Not after the clock that recorded it (by more than a day). The server and every
    desk refuse clocks more than a day ahead of their own (``hlc.MAX_AHEAD_MS``), so a
    step cannot be dated "on" 31/12/9998. Compared in milliseconds: an old event's clock
    may lie past the years a datetime holds."""
    recorded_ms = Timestamp.decode(event.hlc).wall_ms
    if epoch_ms(moment) > recorded_ms + _ms(STEP_SLACK):
        raise TransitionRefused(
            N_("The step is dated {at}, after the moment it was recorded"), at=_shown(moment)
        )


def _appointments(payload: Mapping[str, Any]) -> Iterator[str]:
    """The appointments an event sets: at its top (a wait's end, a re-appointment), in
    its ``due`` (a receipt), or in the record a transfer in carries."""
    due = payload.get("due")
    offer = payload.get("offer")
    snapshot = offer.get("payload", {}).get("snapshot") if isinstance(offer, dict) else None
    for holder in (payload, due, snapshot):
        if isinstance(holder, dict):
            yield from (v for k in _APPOINTMENTS if isinstance(v := holder.get(k), str))


def _check_appointment(value: str, floor: datetime, recorded_ms: int) -> None:
    appointment = parse_moment(value)
    if appointment < floor - STEP_SLACK:
        raise TransitionRefused(
            N_("The appointment {due} lies before the dossier was received ({received})"),
            due=_shown(appointment),
            received=_shown(floor),
        )
    if epoch_ms(appointment) > recorded_ms + _ms(HORIZON):
        raise TransitionRefused(
            N_("The appointment {due} lies more than two years past the moment it was set"),
            due=_shown(appointment),
        )


def first_received_at(view: DossierView) -> str:
    """When the record began here: its receipt, or its online submission. A later online
    receipt moves ``received_at`` (the appointment counts from it), but no step may be
    judged against a moment another desk can move: one dated far ahead would make every
    step before it "earlier than the receipt"."""
    return str(view.extra.get(CREATED) or view.received_at)


def _ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def _shown(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")


# A clerk's own entry may be dated no later than now: the minutes allow for a moment typed
# to the minute while the desk's clock turns. The fold's day of slack is for other desks.
ENTRY_AHEAD = timedelta(minutes=5)


def check_entry_moment(moment: datetime, now: datetime) -> None:
    """Refuse a moment a clerk typed (``--at``, ``--received``) in the future, or further
    back than ``HORIZON``: a step dated ahead is a mistake here, and past the fold's bounds
    every receiver would set it aside."""
    if moment > now + ENTRY_AHEAD:
        raise ValidationError(
            N_("The date {at} is in the future: it is now {now}"),
            at=_shown(moment),
            now=_shown(now),
        )
    if moment < now - HORIZON:
        raise ValidationError(
            N_("The date {at} is more than two years ago: enter a recent date"),
            at=_shown(moment),
        )


def dated_after_receipt(moment: datetime, view: DossierView) -> bool:
    """Whether a clerk may date an action at `moment`: from the receipt on, with the
    slack the fold allows (the desk that received it may keep a clock hours ahead)."""
    return moment >= parse_moment(first_received_at(view)) - STEP_SLACK


def check_entry_appointment(appointment: datetime, moment: datetime) -> None:
    """Refuse an appointment a clerk typed (a re-appointment) past ``HORIZON``, which
    every receiver's fold would set aside."""
    if appointment > moment + HORIZON:
        raise ValidationError(
            N_("The appointment {due} lies more than two years ahead"), due=_shown(appointment)
        )
