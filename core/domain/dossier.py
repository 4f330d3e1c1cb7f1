"""A dossier as folded from its events: the record every screen and report reads.

Folding is pure and deterministic: the same events in ``fold_order`` always give the same
record, whether applied one by one as they arrive or all at once in a rebuild.

Conflicts are data. The fold tracks causality through each event's ``parents``: for every
"register" (``_t`` for the workflow state, a field name for field edits) it counts the
writes folded so far and, per event, the writes in that event's causal past. A write
whose past lacks some earlier write of the same register was made concurrently:

- a concurrent state transition flags the dossier with a visible conflict (the state is
  still folded deterministically) until a ``dossier.resolve`` event whose parents cover
  all heads sets the state and clears it;
- a concurrent edit of one field keeps both values in ``conflicts`` (the later in fold
  order shows), until an edit that saw both, or a resolution;
- notes, scans and ratings commute and never conflict.

Events with no parents (written before parents were recorded for them) are taken to have
seen everything folded before them.

Appointments (docs/statistics.md): ``due_at`` is the appointment shown to the citizen
(moved by waits and by re-appointments, form 04); ``deadline_at`` is the one the dossier
is judged on (the appointment given at receipt, moved only by the waits for the
citizen, statuses 5 and 6). Each move adds its lines to ``due_explanation``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from .errors import N_, TransitionRefused, ValidationError
from .events import Event, EventType, sort_for_fold
from .hlc import Timestamp
from .step_moments import CREATED, NOMINAL, check_start_moments, check_step_moments
from .timeutil import from_epoch_ms, iso, parse_moment, to_vietnam
from .workflow import END_STATES, NATIONAL_STATUS, TRANSITIONS, WAIT_ENDS, WAITS, Action, State

# The fold's edition. Raise it with any change that folds other records from the same
# events: the centre then folds its projection again on its next start
# (``sync_server.projections.refold_outdated``); a desk's store gets a migration that marks
# its dossiers stale, as revision 0013 did. 1: steps' moments bounded by their clocks.
FOLD_VERSION = 1

# An attachment to this component key is the electronic result (Circular 01/2023/TT-VPCP).
RESULT_COMPONENT = "result"


@dataclass(frozen=True)
class Handover:
    """One row of the processing control slip (form 06)."""

    action: str
    at: str
    giver: str
    receiver: str
    note: str


@dataclass(frozen=True)
class DossierView:
    id: str
    code: str
    branch: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    field: str
    applicant: dict[str, str]
    channel: str
    components: tuple[dict[str, Any], ...]
    fees_vnd: int
    return_method: str
    postal_address: str
    received_at: str
    received_by: str
    due_at: str
    due_original: str
    due_explanation: tuple[dict[str, Any], ...]
    lookup_token: str
    state: State
    supplement_count: int = 0
    paused_since: str = ""
    end_at: str = ""
    returned_at: str = ""
    holder: str = ""
    notes: tuple[dict[str, str], ...] = ()
    handovers: tuple[Handover, ...] = ()
    rating: int = 0
    complaint: bool = False
    heads: tuple[str, ...] = ()
    conflict: bool = False
    conflicts: tuple[dict[str, str], ...] = ()
    last_event_hlc: str = ""
    last_actor: str = ""
    override_reason: str = ""
    deadline_at: str = ""  # judged on: the receipt's appointment moved only by the waits
    reappointments: int = 0  # form 04 letters: each moved due_at, never deadline_at
    withdrawn_at: str = ""  # the citizen asked to withdraw (status 7)
    last_at: str = ""  # the latest moment of any folded event (payload ``at``)
    result_files: int = 0  # electronic result files attached
    payment: str = ""  # how fees or the financial obligation were paid, where recorded
    # Between units (``core.domain.transfers``): where it was received and where it is (or
    # was last) processed, when not this record's own branch.
    received_unit: str = ""
    processing_unit: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def national_status(self) -> int:
        return int(NATIONAL_STATUS[self.state])

    @property
    def deadline(self) -> str:
        """The moment the dossier is judged on (a record folded before deadlines were kept:
        the shown appointment, or the receipt's when it was re-appointed)."""
        if self.deadline_at:
            return self.deadline_at
        reappointed = any(h.action == Action.REAPPOINT.value for h in self.handovers)
        return self.due_original if reappointed or self.reappointments else self.due_at

    @property
    def withdrawn(self) -> bool:
        """Withdrawn at the citizen's request (status 7, then stopped): neither on time nor
        late (docs/statistics.md)."""
        return bool(self.withdrawn_at) and self.state in (
            State.WITHDRAWAL_REQUESTED,
            State.STOPPED,
        )


_VIEW_FIELDS = frozenset(f.name for f in fields(DossierView))


def replace(view: DossierView, **changes: Any) -> DossierView:
    """``dataclasses.replace`` without re-running ``__init__``: a fold copies the view for
    every event, and this is most of a projection rebuild's time otherwise."""
    if not changes.keys() <= _VIEW_FIELDS:
        raise TypeError(f"DossierView has no field {sorted(changes.keys() - _VIEW_FIELDS)}")
    copy = object.__new__(DossierView)
    copy.__dict__.update(view.__dict__)
    copy.__dict__.update(changes)
    return copy


TRANSFER_IN = "dossier.transfer-in"


def starts(event: Event) -> bool:
    """Whether a dossier can start from `event`: a receipt, an online submission (both
    carry its code), or a transfer in from another unit. Not an online dossier's receipt,
    which carries the record too but follows its submission (its parent): a desk it
    reaches first waits for the submission, so every replica judges the steps after it
    against the same beginning (the moment the record began is the submission's)."""
    if event.type == TRANSFER_IN:
        return True
    return "code" in event.payload and not event.parents


def start(event: Event) -> DossierView:
    """The record created by a receipt (or an online submission, or a transfer in)."""
    if event.type == TRANSFER_IN:
        return _transferred_in(event)
    p = event.payload
    return DossierView(
        id=str(event.dossier_id),
        code=p["code"],
        branch=event.branch,
        procedure_code=p["procedure"]["code"],
        procedure_version=p["procedure"]["version"],
        procedure_name=p["procedure"]["name"],
        field=p["procedure"]["field"],
        applicant=dict(p["applicant"]),
        channel=p.get("channel", "counter"),
        components=tuple(dict(c) for c in p["components"]),
        fees_vnd=int(p.get("fees_vnd", 0)),
        return_method=p.get("return_method", "counter"),
        postal_address=p.get("postal_address", ""),
        received_at=p["at"],
        received_by=event.actor,
        due_at=p["due"]["due_at"],
        due_original=p["due"]["due_at"],
        deadline_at=p["due"]["due_at"],
        last_at=_moment_text(event),
        payment="online" if p.get("fees_paid_online") else "",
        due_explanation=tuple(p["due"]["steps"]),
        lookup_token=p["lookup_token"],
        state=State.RECEIVED if event.type == EventType.for_action("receive") else State.SUBMITTED,
        holder=event.actor,
        override_reason=p.get("override_incomplete", ""),
        heads=(event.event_id,),
        last_event_hlc=event.hlc,
        last_actor=event.actor,
        extra={
            "unit": p["procedure"].get("unit", "working_days"),
            CREATED: p["at"],
            REGS: {STATE_REG: 1},
            PAST: {event.event_id: {STATE_REG: 1}},
            **({NOMINAL: p["due"]["nominal_at"]} if p["due"].get("nominal_at") else {}),
        },
    )


def _transferred_in(event: Event) -> DossierView:
    """A dossier another unit sent, accepted here: the sender's record, same code, same
    appointment (the due moment stays the one given at receipt)."""
    offer = event.payload["offer"]
    snap = offer["payload"]["snapshot"]
    at = event.payload["at"]
    row = Handover(
        Action.SEND_OUT.value, offer["payload"]["at"], _unit_actor(offer), event.actor, ""
    )
    return DossierView(
        id=str(event.dossier_id),
        code=snap["code"],
        branch=event.branch,
        procedure_code=snap["procedure"]["code"],
        procedure_version=snap["procedure"]["version"],
        procedure_name=snap["procedure"]["name"],
        field=snap["procedure"]["field"],
        applicant=dict(snap["applicant"]),
        channel=snap.get("channel", "counter"),
        components=tuple(dict(c) for c in snap["components"]),
        fees_vnd=int(snap.get("fees_vnd", 0)),
        return_method=snap.get("return_method", "counter"),
        postal_address=snap.get("postal_address", ""),
        received_at=snap["received_at"],
        received_by=snap["received_by"],
        due_at=snap["due_at"],
        due_original=snap["due_at"],
        deadline_at=snap["deadline_at"],
        last_at=_moment_text(event),
        due_explanation=tuple(snap.get("due_explanation", ())),
        lookup_token=snap["lookup_token"],
        state=State.RECEIVED,
        holder=event.actor,
        handovers=(row,),
        heads=(event.event_id,),
        last_event_hlc=event.hlc,
        last_actor=event.actor,
        received_unit=str(offer["branch"]),
        extra={
            "unit": snap["procedure"].get("unit", "working_days"),
            REGS: {STATE_REG: 1},
            PAST: {event.event_id: {STATE_REG: 1}},
            TRANSFER: {
                "from": str(offer["branch"]),
                "origin_dossier": str(offer["dossier_id"]),
                "offer": str(offer["event_id"]),
                "return_at": str(offer["payload"].get("return_at", "origin")),
                "accepted_at": at,
            },
        },
    )


def _unit_actor(message: dict[str, Any]) -> str:
    """A person of another unit, as a hand-over row names her: ``user @ UNIT``."""
    return f"{message['actor']} @ {message['branch']}"


# --- between units ----------------------------------------------------------------------

TRANSFER = "transfer"  # extra: the transfer this dossier is part of
# The state a taken-back dossier is in, per outcome the other unit sent.
TAKEN_BACK: dict[str, State] = {
    "declined": State.RECEIVED,
    "finished": State.FINISHED,
    "stopped": State.STOPPED,
    "returned": State.RETURNED,
}


def _between_units(view: DossierView, event: Event, action: Action) -> DossierView:
    """The hand-over row and record changes of a transfer step (the state moves after)."""
    p = event.payload
    if action is Action.SEND_OUT:
        row = Handover(action.value, p["at"], event.actor, p["to_branch"], p.get("note", ""))
        transfer = {"to": p["to_branch"], "offer": event.event_id, "return_at": p["return_at"]}
        return replace(
            view,
            handovers=(*view.handovers, row),
            holder=p["to_branch"],
            processing_unit=p["to_branch"],
            extra={**view.extra, TRANSFER: transfer},
        )
    if action is Action.SEND_BACK:
        row = Handover(action.value, p["at"], event.actor, p["to_branch"], p.get("note", ""))
        moved: dict[str, Any] = {"handovers": (*view.handovers, row), "holder": p["to_branch"]}
        if p.get("end_at") and not view.end_at:
            moved["end_at"] = p["end_at"]
        return replace(view, **moved)
    reply = p["reply"]
    outcome = str(reply["payload"]["outcome"])
    row = Handover(action.value, p["at"], _unit_actor(reply), event.actor, p.get("note", ""))
    state = TAKEN_BACK[outcome]
    moved = {
        "handovers": (*view.handovers, row),
        "holder": event.actor,
        "state": state,
        "result_files": view.result_files + len(reply["payload"].get("result_files", ())),
        "extra": {**view.extra, TRANSFER: {**view.extra.get(TRANSFER, {}), "outcome": outcome}},
    }
    if outcome == "declined":
        moved["processing_unit"] = ""
    else:
        end = str(reply["payload"].get("end_at") or reply["payload"]["at"])
        moved["end_at"] = view.end_at or end
        if state is State.RETURNED:
            moved["returned_at"] = str(reply["payload"].get("returned_at") or end)
    return replace(view, **moved)


# --- moments --------------------------------------------------------------------------


def event_moment(event: Event) -> datetime:
    """When an event happened: its payload's ``at``, else its clock's wall time. Reports
    are computed as of a moment from the events dated up to it (docs/statistics.md)."""
    at = event.payload.get("at")
    if isinstance(at, str):
        try:
            return to_vietnam(datetime.fromisoformat(at))
        except ValueError:
            pass
    return from_epoch_ms(Timestamp.decode(event.hlc).wall_ms)


def _moment_text(event: Event) -> str:
    """The event's moment as text that compares as the moment does: Vietnam time, in the
    form ``iso`` writes (which every desk's ``at`` already has: kept as it is)."""
    at = event.payload.get("at")
    if isinstance(at, str) and len(at) == 25 and at.endswith("+07:00") and at[10] == "T":
        return at
    return event_moment(event).isoformat()


# --- causality ------------------------------------------------------------------------

EDIT = "dossier.edit"
REGS = "regs"
PAST = "past"
STATE_REG = "_t"
EDITABLE = frozenset(
    {
        "applicant.full_name",
        "applicant.phone",
        "applicant.email",
        "applicant.address",
        "postal_address",
        "return_method",
    }
)


def _past_of(view: DossierView, event: Event) -> dict[str, int]:
    """Writes per register in `event`'s causal past (before its own write)."""
    regs: dict[str, int] = view.extra.get(REGS, {})
    if not event.parents:
        return dict(regs)
    pasts: dict[str, dict[str, int]] = view.extra.get(PAST, {})
    merged: dict[str, int] = {}
    for parent in event.parents:
        for reg, count in pasts.get(parent, {}).items():
            merged[reg] = max(merged.get(reg, 0), count)
    return merged


def _concurrent(view: DossierView, past: dict[str, int], reg: str) -> bool:
    regs: dict[str, int] = view.extra.get(REGS, {})
    return past.get(reg, 0) < regs.get(reg, 0)


def _recorded(
    view: DossierView, event: Event, past: dict[str, int], reg: str | None
) -> dict[str, Any]:
    """The change that counts `event`'s write of `reg` (if any) and remembers its causal
    past (a change, not a view: ``apply`` copies the view once for this and ``_after``)."""
    regs = dict(view.extra.get(REGS, {}))
    past = dict(past)
    if reg is not None:
        regs[reg] = regs.get(reg, 0) + 1
        past[reg] = regs[reg]
    pasts = {**view.extra.get(PAST, {}), event.event_id: past}
    return {"extra": {**view.extra, REGS: regs, PAST: pasts}}


def _flag(view: DossierView, *entries: dict[str, str]) -> DossierView:
    conflicts = (*view.conflicts, *entries)
    return replace(view, conflict=bool(conflicts), conflicts=conflicts)


def _after(view: DossierView, event: Event) -> dict[str, Any]:
    """The change that moves the view's heads and clock past `event`."""
    heads = tuple(sorted((set(view.heads) - set(event.parents)) | {event.event_id}))
    # A record folded before ``last_at`` was kept leaves it unknown ("") until it is
    # folded again from all its events: its earlier events' moments are not known here.
    moment = _moment_text(event)
    last_at = moment if view.last_at and moment > view.last_at else view.last_at
    return {
        "heads": heads,
        "last_event_hlc": event.hlc,
        "last_actor": event.actor,
        "last_at": last_at,
    }


def _handover(view: DossierView, event: Event, action: str) -> DossierView:
    p = event.payload
    row = Handover(action, p["at"], event.actor, p.get("to", ""), p.get("note", ""))
    return replace(view, handovers=(*view.handovers, row), holder=p.get("to") or view.holder)


def _transition(view: DossierView, event: Event, action: Action, concurrent: bool) -> DossierView:
    transition = TRANSITIONS[action]
    clash = {
        "kind": "transition",
        "event_id": event.event_id,
        "action": action.value,
        "state": view.state.value,
        "actor": event.actor,
    }
    if view.state not in transition.sources:
        # Only concurrent edits from other replicas can get here: local writes are checked.
        return _flag(view, clash)
    if concurrent:
        view = _flag(view, clash)
    p = event.payload
    if action in _BETWEEN_UNITS:
        return _between_units_moved(view, event, action, transition.target)
    view = _handover(view, event, action.value)
    target = transition.target
    if action in WAITS:
        view = replace(view, paused_since=p["at"])
        if action is Action.REQUEST_SUPPLEMENT:
            view = replace(view, supplement_count=view.supplement_count + 1)
            view = replace(view, extra={**view.extra, "resume_state": view.state.value})
    elif action in WAIT_ENDS:
        view = _resume(view, p)
        if action is Action.SUPPLEMENT:
            target = State(view.extra.get("resume_state", State.RECEIVED.value))
        elif p.get("payment_method"):
            view = replace(view, payment=str(p["payment_method"]))
    elif action is Action.REAPPOINT:
        steps = tuple(p.get("due_steps") or ())
        view = replace(
            view,
            due_at=p["due_at"],
            reappointments=view.reappointments + 1,
            due_explanation=(*view.due_explanation, *steps),
        )
    elif action is Action.WITHDRAW:
        view = replace(view, withdrawn_at=p["at"])
    elif action is Action.RECEIVE:
        view = _received_online(view, event)
    if action is Action.REGISTER_POSTAL:
        view = replace(view, postal_address=p.get("postal_address") or view.postal_address)
    if target is not None:
        moved: dict[str, Any] = {"state": target}
        if target in END_STATES and not view.end_at:
            moved["end_at"] = p["at"]
        if target is State.RETURNED:
            moved["returned_at"] = p["at"]
        view = replace(view, **moved)
    return view


_BETWEEN_UNITS = frozenset({Action.SEND_OUT, Action.SEND_BACK, Action.TAKE_BACK})


def _between_units_moved(
    view: DossierView, event: Event, action: Action, target: State | None
) -> DossierView:
    """A transfer step; a send-back after the citizen got her result at this unit keeps
    the record returned."""
    view = _between_units(view, event, action)
    if target is None or view.state in (State.RETURNED, State.POSTAL_RETURN):
        return view
    moved: dict[str, Any] = {"state": target}
    if target in END_STATES and not view.end_at:
        moved["end_at"] = event.payload["at"]
    return replace(view, **moved)


def _received_online(view: DossierView, event: Event) -> DossierView:
    """An online dossier (status 1) received by an officer: the appointment counts from
    this receipt, which carries the record as received (``core.services.online``)."""
    p = event.payload
    if "due" not in p:
        return view
    due = p["due"]["due_at"]
    return replace(
        view,
        received_at=p["at"],
        received_by=event.actor,
        due_at=due,
        due_original=due,
        deadline_at=due,
        due_explanation=tuple(p["due"]["steps"]),
        fees_vnd=int(p.get("fees_vnd", view.fees_vnd)),
        components=tuple(dict(c) for c in p.get("components", view.components)),
        extra={
            **view.extra,
            **({NOMINAL: p["due"]["nominal_at"]} if p["due"].get("nominal_at") else {}),
        },
    )


def _resume(view: DossierView, p: Any) -> DossierView:
    """The end of a wait for the citizen: the clock runs again, both appointments moved
    (the service computed them; an event from before deadlines were recorded moved the
    shown appointment only, and the deadline follows it)."""
    due = str(p.get("due_at") or view.due_at)
    deadline = str(p.get("deadline_at") or _legacy_deadline(view, due))
    extra = dict(view.extra)
    if p.get("nominal_at"):
        extra[NOMINAL] = p["nominal_at"]
    return replace(
        view,
        paused_since="",
        due_at=due,
        deadline_at=deadline,
        due_explanation=(*view.due_explanation, *tuple(p.get("due_steps") or ())),
        extra=extra,
    )


def _legacy_deadline(view: DossierView, due: str) -> str:
    deadline = view.deadline
    if due == view.due_at:
        return deadline
    if not view.reappointments:
        return due
    moved = parse_moment(due) - parse_moment(view.due_at)
    return iso(parse_moment(deadline) + moved)


def _commutative(view: DossierView, event: Event) -> DossierView:
    p = event.payload
    if event.type == EventType.NOTE:
        note = {"at": p["at"], "actor": event.actor, "text": p["text"]}
        return replace(view, notes=(*view.notes, note))
    if event.type == EventType.ATTACH and p["component"] == RESULT_COMPONENT:
        return replace(view, result_files=view.result_files + 1)
    if event.type == EventType.ATTACH:
        comps = tuple(
            {**c, "files": [*c.get("files", []), p["file"]]} if c["key"] == p["component"] else c
            for c in view.components
        )
        return replace(view, components=comps)
    if event.type == EventType.RATE:
        return replace(view, rating=int(p["score"]), complaint=bool(p.get("complaint", False)))
    return view


def _edit(view: DossierView, event: Event, past: dict[str, int]) -> DossierView:
    """A field edit: the later value shows; concurrent values are all kept as conflicts."""
    name, value = str(event.payload["field"]), str(event.payload["value"])
    last: dict[str, dict[str, str]] = view.extra.get("last_edit", {})
    entry = {"kind": "field", "field": name, "event_id": event.event_id, "value": value}
    if _concurrent(view, past, name) and name in last:
        known = {c.get("event_id") for c in view.conflicts}
        previous = {"kind": "field", "field": name, **last[name]}
        view = _flag(view, *([previous] if previous["event_id"] not in known else []), entry)
    else:
        kept = tuple(c for c in view.conflicts if c.get("field") != name)
        view = replace(view, conflicts=kept, conflict=bool(kept))
    view = _set_field(view, name, value)
    latest = {"event_id": event.event_id, "value": value}
    return replace(view, extra={**view.extra, "last_edit": {**last, name: latest}})


def _set_field(view: DossierView, name: str, value: str) -> DossierView:
    if name.startswith("applicant."):
        return replace(view, applicant={**view.applicant, name.removeprefix("applicant."): value})
    if name == "postal_address":
        return replace(view, postal_address=value)
    if name == "return_method":
        return replace(view, return_method=value)
    return view


def _resolve(view: DossierView, event: Event) -> DossierView:
    """A resolution applies only when its parents cover every head."""
    if not set(view.heads) <= set(event.parents):
        return view
    p = event.payload
    state = State(p["state"]) if p.get("state") else view.state
    for name, value in dict(p.get("fields", {})).items():
        view = _set_field(view, str(name), str(value))
    resolved = view.extra.get("resolved", 0) + len(view.conflicts)
    row = Handover("resolve", p.get("at", ""), event.actor, "", p.get("note", ""))
    return replace(
        view,
        state=state,
        conflict=False,
        conflicts=(),
        handovers=(*view.handovers, row),
        extra={**view.extra, "resolved": resolved},
    )


def _register(event: Event) -> str | None:
    """The register an event writes: the state, a field, or none (commutative)."""
    if event.type == EventType.RESOLVE:
        return STATE_REG
    if event.type == EDIT:
        return str(event.payload.get("field", ""))
    name = event.type.removeprefix(EventType.DOSSIER_PREFIX)
    if event.type.startswith(EventType.DOSSIER_PREFIX) and name in Action._value2member_map_:
        return "due_at" if name == Action.REAPPOINT.value else STATE_REG
    return None


def apply(view: DossierView | None, event: Event) -> DossierView:
    """The record after `event` (which must be next in fold order)."""
    if view is None:
        check_start_moments(event)
        return start(event)
    past = _past_of(view, event)
    reg = _register(event)
    if event.type == EventType.RESOLVE:
        if set(view.heads) <= set(event.parents):
            past = dict(view.extra.get(REGS, {}))  # it saw every write
        view = _resolve(view, event)
    elif event.type == EDIT:
        view = _edit(view, event, past)
    elif reg is not None:
        action = Action(event.type.removeprefix(EventType.DOSSIER_PREFIX))
        check_step_moments(view, event)
        view = _transition(view, event, action, _concurrent(view, past, reg))
    else:
        view = _commutative(view, event)
    return replace(view, **_recorded(view, event, past, reg), **_after(view, event))


def check_reappointment(
    view: DossierView, moment: datetime, new_due: datetime, repeat_reason: str = ""
) -> None:
    """The rules of a new appointment (form 04, Decree 61/2018/NĐ-CP Art. 19 as amended):
    set before the appointment it replaces passes, later than it, and a second one only
    with the leader's reason for it."""
    current = parse_moment(view.due_at)
    if moment >= current:
        raise TransitionRefused(
            N_("A new appointment can only be set before the current one ({due}) passes"),
            due=current.strftime("%H:%M %d/%m/%Y"),
        )
    if new_due <= current:
        raise ValidationError(N_("The new appointment must be later than the current one"))
    if view.reappointments >= 1 and not repeat_reason.strip():
        raise ValidationError(
            N_(
                "The dossier was re-appointed already: "
                "a second new appointment needs the leader's reason"
            )
        )


def fold(events: Iterable[Event]) -> DossierView | None:
    view: DossierView | None = None
    for event in sort_for_fold(list(events)):
        view = apply(view, event)
    return view
