"""Transfers between units on the dossier screen (``core.services.transfers``): send a
dossier to another unit, send a transferred-in one back, take one back when the other
unit's reply has arrived. Each has its own form; none is a plain workflow button."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.domain.dossier import DossierView
from core.domain.workflow import TRANSITIONS, Action, Role, State
from core.services.changes import Changes
from core.services.transfers import TransferMessage, TransferService

if TYPE_CHECKING:
    from core.services.branch import Branch
    from core.services.users import User


def reply_for(branch: Branch, view: DossierView) -> TransferMessage | None:
    """The other unit's reply about this dossier, waiting to be taken back."""
    if view.state is not State.AWAY:
        return None
    replies = [
        m
        for m in TransferService(branch).messages()
        if m.kind == "reply" and m.dossier_id == view.id
    ]
    return replies[0] if replies else None


def transfer_actions(view: DossierView, role: Role, reply: TransferMessage | None) -> list[Action]:
    """The transfer steps this user may take on `view` now."""
    found: list[Action] = []
    came_from = view.extra.get("transfer", {}).get("from")
    for action in (Action.SEND_OUT, Action.SEND_BACK, Action.TAKE_BACK):
        transition = TRANSITIONS[action]
        if view.state not in transition.sources or role not in transition.roles:
            continue
        if action is Action.SEND_BACK and not came_from:
            continue
        if action is Action.TAKE_BACK and reply is None:
            continue
        found.append(action)
    return found


def run(
    branch: Branch,
    user: User,
    view: DossierView,
    action: Action,
    note: str,
    unit: str,
    reply: TransferMessage | None,
    return_at: str = "origin",
) -> tuple[DossierView, Changes]:
    """Take `action` (on the writer worker); returns what the service returns."""
    service = TransferService(branch)
    if action is Action.SEND_OUT:
        return service.send_out(user, view.code, unit, return_at, note)
    if action is Action.SEND_BACK:
        return service.send_back(user, view.code, note)
    assert reply is not None
    return service.take_back(user, reply.event_id, note)
