"""A dossier as folded from its events: the record every screen and report reads.

Folding is pure and deterministic: the same events in ``fold_order`` always give the same
record, whether applied one by one as they arrive or all at once in a rebuild.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, replace
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
        extra={"unit": p["procedure"].get("unit", "working_days")},
    )


def _after(view: DossierView, event: Event) -> DossierView:
    heads = tuple(sorted((set(view.heads) - set(event.parents)) | {event.event_id}))
    return replace(view, heads=heads, last_event_hlc=event.hlc, last_actor=event.actor)


def _handover(view: DossierView, event: Event, action: str) -> DossierView:
    p = event.payload
    row = Handover(action, p["at"], event.actor, p.get("to", ""), p.get("note", ""))
    return replace(view, handovers=(*view.handovers, row), holder=p.get("to") or view.holder)


def _transition(view: DossierView, event: Event, action: Action) -> DossierView:
    transition = TRANSITIONS[action]
    if view.state not in transition.sources:
        # Only concurrent edits from other replicas can get here: local writes are checked.
        clash = {"event_id": event.event_id, "action": action.value, "state": view.state.value}
        return replace(view, conflict=True, conflicts=(*view.conflicts, clash))
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


def apply(view: DossierView | None, event: Event) -> DossierView:
    """The record after `event` (which must be next in fold order)."""
    if view is None:
        return start(event)
    if event.type.startswith(EventType.DOSSIER_PREFIX):
        name = event.type.removeprefix(EventType.DOSSIER_PREFIX)
        if name in Action._value2member_map_:
            return _after(_transition(view, event, Action(name)), event)
    return _after(_commutative(view, event), event)


def fold(events: Iterable[Event]) -> DossierView | None:
    view: DossierView | None = None
    for event in sort_for_fold(list(events)):
        view = apply(view, event)
    return view
