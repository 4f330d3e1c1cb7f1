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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from .events import Event, EventType, sort_for_fold
from .workflow import END_STATES, NATIONAL_STATUS, TRANSITIONS, Action, State


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
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def national_status(self) -> int:
        return int(NATIONAL_STATUS[self.state])


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


def start(event: Event) -> DossierView:
    """The record created by a receipt (or an online submission)."""
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
            REGS: {STATE_REG: 1},
            PAST: {event.event_id: {STATE_REG: 1}},
        },
    )


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


def _record(view: DossierView, event: Event, past: dict[str, int], reg: str | None) -> DossierView:
    """Count `event`'s write of `reg` (if any) and remember its causal past."""
    regs = dict(view.extra.get(REGS, {}))
    past = dict(past)
    if reg is not None:
        regs[reg] = regs.get(reg, 0) + 1
        past[reg] = regs[reg]
    pasts = {**view.extra.get(PAST, {}), event.event_id: past}
    return replace(view, extra={**view.extra, REGS: regs, PAST: pasts})


def _flag(view: DossierView, *entries: dict[str, str]) -> DossierView:
    conflicts = (*view.conflicts, *entries)
    return replace(view, conflict=bool(conflicts), conflicts=conflicts)


def _after(view: DossierView, event: Event) -> DossierView:
    heads = tuple(sorted((set(view.heads) - set(event.parents)) | {event.event_id}))
    return replace(view, heads=heads, last_event_hlc=event.hlc, last_actor=event.actor)


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
    view = _handover(view, event, action.value)
    target = transition.target
    if action is Action.REQUEST_SUPPLEMENT:
        view = replace(view, supplement_count=view.supplement_count + 1, paused_since=p["at"])
        view = replace(view, extra={**view.extra, "resume_state": view.state.value})
    elif action is Action.SUPPLEMENT:
        target = State(view.extra.get("resume_state", State.RECEIVED.value))
        view = replace(view, paused_since="", due_at=p.get("due_at", view.due_at))
    elif action is Action.REAPPOINT:
        view = replace(view, due_at=p["due_at"])
    if action is Action.REGISTER_POSTAL:
        view = replace(view, postal_address=p.get("postal_address") or view.postal_address)
    if target is not None:
        view = replace(view, state=target)
        if target in END_STATES and not view.end_at:
            view = replace(view, end_at=p["at"])
        if target is State.RETURNED:
            view = replace(view, returned_at=p["at"])
    return view


def _commutative(view: DossierView, event: Event) -> DossierView:
    p = event.payload
    if event.type == EventType.NOTE:
        note = {"at": p["at"], "actor": event.actor, "text": p["text"]}
        return replace(view, notes=(*view.notes, note))
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
        view = _transition(view, event, action, _concurrent(view, past, reg))
    else:
        view = _commutative(view, event)
    return _after(_record(view, event, past, reg), event)


def fold(events: Iterable[Event]) -> DossierView | None:
    view: DossierView | None = None
    for event in sort_for_fold(list(events)):
        view = apply(view, event)
    return view
