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

from collections.abc import Mapping
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
_ENDS = ("end_at", "returned_at")  # when another unit finished, or returned, the dossier


def check_start_moments(event: Event) -> None:
    """The event that begins a record (a receipt, an online submission, a transfer in)."""
    at = event.payload.get("at")
    if isinstance(at, str):
        _check_carried(event, parse_moment(at), _received_before(event))


def check_step_moments(view: DossierView, event: Event) -> None:
    """A workflow step: also dated from its dossier's receipt on (a day's slack), and its
    appointments not before that receipt (``fold_guarded`` sets a step aside with this
    reason). Every check of a start is one of a step's too, so an online receipt (which
    carries the record, and may arrive before the submission it follows) refused as a
    start is refused as a step: a desk does not fold it again once set aside."""
    at = event.payload.get("at")
    if not isinstance(at, str):
        return
    moment = parse_moment(at)
    received = _received(view, moment)
    check_not_before_receipt(moment, received)
    _check_carried(event, moment, received)


def _check_carried(event: Event, moment: datetime, received: datetime) -> None:
    """The moments an event carries, against the clock that recorded it: its own dated
    from ``HORIZON`` before that clock to a day after it; each appointment from the
    receipt (a receipt's own: from its moment) to ``HORIZON`` past the clock, a promised
    day no later than the appointment made of it; the end another unit reports, from the
    receipt to a day past the clock."""
    recorded_ms = Timestamp.decode(event.hlc).wall_ms
    check_not_after_recording(event, moment)
    if epoch_ms(moment + HORIZON) < recorded_ms:
        raise TransitionRefused(
            N_("The step is dated {at}, more than two years before it was recorded"),
            at=_shown(moment),
        )
    payload = event.payload
    due = payload.get("due")
    for holder, floor in ((payload, received), (due, moment), (_snapshot(payload), received)):
        if isinstance(holder, dict):
            _check_appointments(holder, floor, recorded_ms)
    _check_ends(payload, _ENDS, received, recorded_ms)
    reply = payload.get("reply")
    answered = reply.get("payload") if isinstance(reply, dict) else None
    if isinstance(answered, dict):  # a take-back: the other unit's reply, made before it
        _check_ends(answered, (*_ENDS, "at"), received, recorded_ms)


def _received_before(event: Event) -> datetime:
    """When a record's dossier was received: a transfer in's, by the sending unit."""
    snapshot = _snapshot(event.payload)
    received = snapshot.get("received_at") if snapshot else None
    return parse_moment(str(received or event.payload["at"]))


def _snapshot(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    offer = payload.get("offer")
    inner = offer.get("payload") if isinstance(offer, dict) else None
    snapshot = inner.get("snapshot") if isinstance(inner, dict) else None
    return snapshot if isinstance(snapshot, dict) else None


def check_not_before_receipt(moment: datetime, received: datetime) -> None:
    """Not before its dossier's receipt (by more than a day: clocks differ). A step
    "taken" in 1990 would start a wait no clerk could end (the working time since then is
    past any calendar) and date the dossier's end for the statistics."""
    if moment < received - STEP_SLACK:
        raise TransitionRefused(
            N_("The step is dated {at}, before the dossier was received ({received})"),
            at=_shown(moment),
            received=_shown(received),
        )


def _received(view: DossierView, moment: datetime) -> datetime:
    """When the record began (``first_received_at``); `moment` for a record without it."""
    since = first_received_at(view)
    return parse_moment(since) if since else moment


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


def _check_appointments(holder: Mapping[str, Any], floor: datetime, recorded_ms: int) -> None:
    for name in _APPOINTMENTS:
        value = holder.get(name)
        if isinstance(value, str):
            _check_appointment(value, floor, recorded_ms)
    # The appointment is the promised day, or the working day after it: never before.
    nominal, given = holder.get("nominal_at"), holder.get("deadline_at") or holder.get("due_at")
    if isinstance(nominal, str) and isinstance(given, str):
        _check_promised(nominal, given)


def _check_promised(nominal: str, given: str) -> None:
    if parse_moment(nominal) > parse_moment(given):
        raise TransitionRefused(
            N_("The promised day {nominal} lies after the appointment {due}"),
            nominal=_shown(parse_moment(nominal)),
            due=_shown(parse_moment(given)),
        )


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


def _check_ends(
    holder: Mapping[str, Any], names: tuple[str, ...], floor: datetime, recorded_ms: int
) -> None:
    """A dossier's end another unit reports (a send-back's, or the reply a take-back
    carries, with the moment of that reply): from the receipt to a day past the clock
    that recorded this event."""
    for name in names:
        value = holder.get(name)
        if not isinstance(value, str):
            continue
        end = parse_moment(value)
        if end < floor - STEP_SLACK or epoch_ms(end) > recorded_ms + _ms(STEP_SLACK):
            raise TransitionRefused(
                N_("The other unit's moment {at} lies outside the dossier's time here"),
                at=_shown(end),
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
    return moment >= _received(view, moment) - STEP_SLACK


def check_entry_appointment(appointment: datetime, moment: datetime) -> None:
    """Refuse an appointment a clerk typed (a re-appointment) past ``HORIZON``, which
    every receiver's fold would set aside."""
    if appointment > moment + HORIZON - STEP_SLACK:  # `moment` may run minutes ahead
        raise ValidationError(
            N_("The appointment {due} lies more than two years ahead"), due=_shown(appointment)
        )


def check_imported_moment(moment: datetime, now: datetime) -> None:
    """A moment another system wrote (the national portal's submission): its clock may
    run ahead of this desk's, by as much as the fold allows (``STEP_SLACK``)."""
    if moment > now + STEP_SLACK:
        raise ValidationError(
            N_("The date {at} is in the future: it is now {now}"),
            at=_shown(moment),
            now=_shown(now),
        )
    check_entry_moment(min(moment, now), now)


def capped(appointment: datetime, moment: datetime, before: datetime | None = None) -> datetime:
    """An appointment computed at `moment`, within what every fold takes (``HORIZON``
    past the recording clock, which is never before `moment` by more than minutes), and
    never before the one it replaces (`before`, which a fold took already). Only a record
    another desk pushed near that bound reaches it."""
    bounded = min(appointment, moment + HORIZON - STEP_SLACK)
    return max(bounded, before) if before is not None else bounded
