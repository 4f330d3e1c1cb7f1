"""Conflicts: list them, edit a field (the edit that can conflict), record a resolution.

A resolution is an ordinary event, ``dossier.resolve``, whose parents are every head of
the dossier, so every replica folds it the same way. Only a leader may record one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from core.domain.dossier import EDIT, EDITABLE, DossierView
from core.domain.errors import N_, ValidationError
from core.domain.events import EventType
from core.domain.timeutil import iso
from core.domain.workflow import TRANSITIONS, Action, Role, State
from core.storage import event_store, projection
from core.storage import schema as t

from .changes import Changes
from .users import User

if TYPE_CHECKING:
    from .branch import Branch


def list_conflicts(branch: Branch) -> list[dict[str, Any]]:
    with branch.store.read() as conn:
        rows = conn.execute(select(t.dossiers.c.doc).where(t.dossiers.c.conflict.is_(True)))
        views = [projection.view_from_json(r.doc) for r in rows]
    return [
        {
            "code": v.code,
            "state": v.state.value,
            "heads": list(v.heads),
            "conflicts": list(v.conflicts),
        }
        for v in sorted(views, key=lambda v: v.code)
    ]


def _require(branch: Branch, conn: Connection, code: str) -> DossierView:
    view: DossierView = branch.dossiers._require(conn, code)
    return view


def edit_field(branch: Branch, user: User, code: str, field: str, value: str) -> Changes:
    """Change one editable field of a dossier (applicant contact, return method, …)."""
    user.require(Role.OFFICER, Role.LEADER)
    if field not in EDITABLE:
        raise ValidationError(
            N_("Field {field} cannot be edited; editable: {fields}"),
            field=field,
            fields=", ".join(sorted(EDITABLE)),
        )

    def work(conn: Connection) -> str:
        view = _require(branch, conn, code)
        payload = {"at": iso(branch.clock()), "field": field, "value": value.strip()}
        branch.append(conn, view.id, user.username, EDIT, payload, view.heads)
        return view.id

    dossier_id = branch.store.write(work)
    return Changes(dossiers=frozenset({dossier_id}), events_added=1)


def _kept(view: DossierView, conn: Connection, keep: str) -> dict[str, Any]:
    """What keeping event `keep` means: its target state, or its field value."""
    for entry in view.conflicts:
        if entry.get("event_id") == keep and entry.get("kind") == "field":
            return {"state": view.state.value, "fields": {entry["field"]: entry["value"]}}
    for event in event_store.dossier_events(conn, view.id):
        if event.event_id != keep:
            continue
        name = event.type.removeprefix(EventType.DOSSIER_PREFIX)
        if name in Action._value2member_map_:
            target = TRANSITIONS[Action(name)].target
            return {"state": (target or view.state).value}
    raise ValidationError(
        N_("Event {event} is not one of this dossier's conflicting events"), event=keep
    )


def resolve(
    branch: Branch, user: User, code: str, *, keep: str = "", state: str = "", note: str = ""
) -> tuple[DossierView, Changes]:
    """Record the resolution of a dossier's conflict; its parents cover every head."""
    user.require(Role.LEADER)
    if bool(keep) == bool(state):
        raise ValidationError(N_("Give either the event to keep or the state to set"))
    if not note.strip():
        raise ValidationError(N_("A resolution needs a note (the reason)"))
    if state and state not in State._value2member_map_:
        raise ValidationError(N_("Unknown state {state}"), state=state)

    def work(conn: Connection) -> DossierView:
        view = _require(branch, conn, code)
        if not view.conflict:
            raise ValidationError(N_("Dossier {code} has no conflict to resolve"), code=view.code)
        choice = _kept(view, conn, keep) if keep else {"state": state}
        payload = {"at": iso(branch.clock()), "note": note.strip(), "keep": keep, **choice}
        branch.append(
            conn, view.id, user.username, EventType.RESOLVE, payload, view.heads, user.signer
        )
        new_view = projection.load_view(conn, view.id)
        assert new_view is not None
        return new_view

    view = branch.store.write(work)
    return view, Changes(dossiers=frozenset({view.id}), events_added=1)
