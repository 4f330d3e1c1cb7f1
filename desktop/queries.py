"""Read-only lists the screens need beyond the core's queries (queues, due soon).

They read the ``dossiers`` projection with the same indexes the core's dashboard uses.
Candidates to move into ``core.services.queries`` once they settle.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select, true

from core.domain.dossier import DossierView
from core.domain.timeutil import iso
from core.domain.workflow import OPEN_STATES, State
from core.services.branch import Branch
from core.storage import projection
from core.storage import schema as t

RUNNING = [s.value for s in OPEN_STATES if s is not State.SUPPLEMENT_REQUESTED]


def _views(branch: Branch, query: Select[tuple[str]]) -> list[DossierView]:
    with branch.store.read() as conn:
        return [projection.view_from_json(r.doc) for r in conn.execute(query)]


def due_soon(branch: Branch, limit: int = 8) -> list[DossierView]:
    """Open dossiers whose clock runs and whose appointment is still ahead, the nearest
    first (the overdue ones are ``overdue``'s)."""
    d = t.dossiers.c
    ahead = iso(branch.clock())
    query = select(d.doc).where(d.state.in_(RUNNING), d.due_at >= ahead)
    return _views(branch, query.order_by(d.due_at).limit(limit))


def overdue(branch: Branch, limit: int = 8) -> list[DossierView]:
    """Open dossiers whose clock runs past their appointment, the longest overdue first."""
    d = t.dossiers.c
    now = iso(branch.clock())
    query = select(d.doc).where(d.state.in_(RUNNING), d.due_at < now)
    return _views(branch, query.order_by(d.due_at).limit(limit))


def in_states(
    branch: Branch, states: Iterable[str], holder: str | None = None, limit: int = 200
) -> list[DossierView]:
    d = t.dossiers.c
    query = select(d.doc).where(d.state.in_(list(states)))
    if holder:
        query = query.where(d.holder == holder)
    return _views(branch, query.order_by(d.due_at).limit(limit))


def conflicted(branch: Branch, limit: int = 200) -> list[DossierView]:
    d = t.dossiers.c
    return _views(branch, select(d.doc).where(d.conflict == true()).order_by(d.num).limit(limit))


def usernames(branch: Branch) -> list[tuple[str, str, str]]:
    """Active users: (username, full name, role)."""
    with branch.store.read() as conn:
        rows = conn.execute(select(t.users).where(t.users.c.disabled.is_(False)))
        return [(r.username, r.full_name, r.role) for r in rows]


def event_count(branch: Branch) -> int:
    from sqlalchemy import func

    with branch.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())
