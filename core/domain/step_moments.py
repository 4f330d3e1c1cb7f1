"""The moments a workflow step may carry, judged in the fold on every receiver alike.

A desk writes each step's moment (``at``) and, for some steps, moments it computed: the
appointments after a wait (``due_at``, ``deadline_at``, ``nominal_at``) and those of an
online dossier's receipt. The on-time figures are read from them, so a hostile desk of
the branch could otherwise date a refusal in 9998 or move a deadline there. The fold
cannot recompute them: each desk computed them with the calendar it held then, and a
desk that has not yet received a day off would fold to a different record. It bounds
them instead, by what an honest desk can write (docs/security.md, "Moments and clocks").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import N_, TransitionRefused, ValidationError
from .events import Event
from .hlc import Timestamp
from .timeutil import epoch_ms, parse_moment, to_vietnam
from .workflow import WAIT_ENDS, Action

if TYPE_CHECKING:
    from .dossier import DossierView

NOMINAL = "nominal"  # calendar days: the promised day before a move off a day off
CREATED = "created_at"  # the receipt or online submission that began the record

# How far a step's moment may stray: the desks of a branch keep their own clocks, and a PC
# whose hardware clock keeps local time as UTC runs 7 h off (the slack of ``hlc.MAX_AHEAD_MS``).
STEP_SLACK = timedelta(days=1)
# How much further than the wait itself a wait's end may move an appointment: working
# time runs at least 40 h in 168 (x 4.2, rounded up to 5), and the moved day may then
# step over days off to a working day: Tết's nine, or a closure the calendar declared
# ahead (in 2021 offices closed for weeks). A quarter, so that an honest desk's step is
# never set aside; the bound is there against moments no period would ever reach.
MOVE_FACTOR = 5
MOVE_SLACK = timedelta(days=92)
# How much longer than at its submission an online dossier's time limit may be at its
# receipt: the catalogue may have changed the procedure in between.
LIMIT_FACTOR = 4


def check_step_moments(view: DossierView, event: Event, action: Action) -> None:
    """Refuse a step whose moments no honest desk could have written (``fold_guarded``
    sets it aside, with this reason)."""
    at = event.payload.get("at")
    if not isinstance(at, str):
        return
    moment = parse_moment(at)
    check_not_before_receipt(view, moment)
    check_not_after_recording(event, moment)
    if action in WAIT_ENDS:
        _check_wait_end(view, event.payload, moment)
    elif action is Action.RECEIVE and isinstance(event.payload.get("due"), dict):
        _check_online_receipt(view, event.payload["due"], moment)


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
    slack_ms = int(STEP_SLACK.total_seconds() * 1000)
    if epoch_ms(moment) > recorded_ms + slack_ms:
        raise TransitionRefused(
            N_("The step is dated {at}, after the moment it was recorded"), at=_shown(moment)
        )


def _check_wait_end(view: DossierView, payload: Mapping[str, Any], moment: datetime) -> None:
    """A wait's end moves the appointments by the time the citizen took: never earlier
    (beyond the clocks' slack), never further than ``MOVE_FACTOR`` times the wait plus
    ``MOVE_SLACK``."""
    began = parse_moment(view.paused_since) if view.paused_since else moment
    waited = max(moment - began, timedelta(0))
    nominal = str(view.extra.get(NOMINAL) or view.deadline)
    for name, before in (("due_at", view.due_at), ("deadline_at", view.deadline)):
        _check_moved(payload.get(name), before, waited)
    _check_moved(payload.get("nominal_at"), nominal, waited)


def wait_moves_within_measure(moved: timedelta, waited: timedelta) -> bool:
    """Whether a wait of `waited` may move an appointment by `moved`."""
    return -STEP_SLACK <= moved <= waited * MOVE_FACTOR + MOVE_SLACK


def _check_moved(value: Any, before: str, waited: timedelta) -> None:
    if not isinstance(value, str) or not before:
        return
    if wait_moves_within_measure(parse_moment(value) - parse_moment(before), waited):
        return
    raise TransitionRefused(
        N_("The wait's end moves the appointment from {before} to {after}, out of all measure"),
        before=_shown(parse_moment(before)),
        after=_shown(parse_moment(value)),
    )


def _check_online_receipt(view: DossierView, due: dict[str, Any], moment: datetime) -> None:
    """An online dossier's appointment counts from its receipt, by the procedure's time
    limit, which the submission already counted from its own moment."""
    limit = parse_moment(view.deadline) - parse_moment(view.received_at)
    for name in ("due_at", "nominal_at"):
        value = due.get(name)
        if not isinstance(value, str):
            continue
        span = parse_moment(value) - moment
        if -STEP_SLACK <= span <= max(limit, timedelta(0)) * LIMIT_FACTOR + MOVE_SLACK:
            continue
        raise TransitionRefused(
            N_("The receipt sets the appointment at {due}, out of all measure"),
            due=_shown(parse_moment(value)),
        )


def first_received_at(view: DossierView) -> str:
    """When the record began here: its receipt, or its online submission. A later online
    receipt moves ``received_at`` (the appointment counts from it), but no step may be
    judged against a moment another desk can move: one dated far ahead would make every
    step before it "earlier than the receipt"."""
    return str(view.extra.get(CREATED) or view.received_at)


def _shown(moment: datetime) -> str:
    return to_vietnam(moment).strftime("%H:%M %d/%m/%Y")


# A clerk's own entry may be dated no later than now: the minutes allow for a moment typed
# to the minute while the desk's clock turns. The fold's day of slack is for other desks.
ENTRY_AHEAD = timedelta(minutes=5)


def check_entry_not_ahead(moment: datetime, now: datetime) -> None:
    """Refuse a moment a clerk typed in the future (``--at``, ``--received``): a step dated
    ahead is a mistake here, and past a day every receiver would set it aside."""
    if moment > now + ENTRY_AHEAD:
        raise ValidationError(
            N_("The date {at} is in the future: it is now {now}"),
            at=_shown(moment),
            now=_shown(now),
        )
