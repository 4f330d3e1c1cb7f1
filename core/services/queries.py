"""Reading dossiers: by code, lists and queues, and diacritics-insensitive search."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, text, true

from core.domain.codes import looks_like_code
from core.domain.dossier import DossierView
from core.domain.errors import N_, NotFoundError, ValidationError
from core.domain.events import Event, sort_for_fold
from core.domain.text import fold
from core.domain.timeutil import iso
from core.domain.workflow import OPEN_STATES, State
from core.storage import event_store, projection, scan_text
from core.storage import schema as t

if TYPE_CHECKING:
    from .branch import Branch

SEARCH_LIMIT = 50
_FTS_TOKEN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def fts_query(query: str) -> str:
    """An FTS5 query: every word must match; the last may be a prefix (type-ahead)."""
    tokens = ["".join(ch for ch in w if ch in _FTS_TOKEN_CHARS) for w in fold(query).split()]
    tokens = [tok.strip("-") for tok in tokens if tok.strip("-")]
    if not tokens:
        raise ValidationError(N_("Type a code, a citizen ID, a phone number or a name"))
    quoted = [f'"{tok}"' for tok in tokens]
    quoted[-1] += "*"
    return " ".join(quoted)


class DossierQueries:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    def _require(self, conn: Connection, code: str) -> DossierView:
        row = conn.execute(
            select(t.dossiers.c.doc).where(t.dossiers.c.code == code.strip().upper())
        ).first()
        if row is None:
            raise NotFoundError(N_("No dossier with code {code}"), code=code)
        return projection.view_from_json(row.doc)

    def get(self, code: str) -> DossierView:
        with self.branch.store.read() as conn:
            return self._require(conn, code)

    def events(self, code: str) -> list[Event]:
        """Every event of a dossier, in fold order."""
        with self.branch.store.read() as conn:
            view = self._require(conn, code)
            return sort_for_fold(event_store.dossier_events(conn, view.id))

    def timeline(self, code: str) -> list[dict[str, Any]]:
        """Every event of a dossier in fold order: who, when, from which desk, what."""
        return [
            {
                "event_id": e.event_id,
                "type": e.type,
                "actor": e.actor,
                "device": e.origin_device,
                "at": e.payload.get("at", ""),
                "note": e.payload.get("note", e.payload.get("text", "")),
            }
            for e in self.events(code)
        ]

    def browse(self, state: str | None = None, limit: int = 200) -> list[DossierView]:
        """The newest dossiers, optionally of one internal state or national status (1–10)."""
        query = select(t.dossiers.c.doc).order_by(t.dossiers.c.num.desc()).limit(limit)
        if state and state.isdigit():
            query = query.where(t.dossiers.c.national_status == int(state))
        elif state:
            if state not in State._value2member_map_:
                raise ValidationError(N_("Unknown dossier state: {state}"), state=state)
            query = query.where(t.dossiers.c.state == state)
        with self.branch.store.read() as conn:
            return [projection.view_from_json(r.doc) for r in conn.execute(query)]

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[DossierView]:
        """By code, citizen ID, phone or name, or a word OCR read in its scans;
        insensitive to diacritics and case."""
        if looks_like_code(query):
            try:
                return [self.get(query)]
            except NotFoundError:
                return []
        sql = text(
            "SELECT d.doc FROM dossier_search s JOIN dossiers d ON d.num = s.rowid "
            "WHERE dossier_search MATCH :q ORDER BY s.rowid DESC LIMIT :limit"
        )
        fts = fts_query(query)
        with self.branch.store.read() as conn:
            rows = conn.execute(sql, {"q": fts, "limit": limit})
            found = [projection.view_from_json(r.doc) for r in rows]
            if len(found) < limit:  # then the dossiers a word of whose scans matches
                seen = {view.id for view in found}
                for dossier_id in scan_text.dossiers_matching(conn, fts, limit):
                    view = projection.load_view(conn, dossier_id)
                    if view is not None and view.id not in seen and len(found) < limit:
                        seen.add(view.id)
                        found.append(view)
            return found

    def lookup(self, code: str, secret: str) -> DossierView:
        """A citizen's lookup: the code with the slip's lookup key or the citizen ID."""
        with self.branch.store.read() as conn:
            try:
                view = self._require(conn, code)
            except NotFoundError:
                view = None
        if view is None or secret.strip().upper() not in (
            view.lookup_token,
            view.applicant["id_number"],
        ):
            raise NotFoundError(N_("No dossier matches this code and ID number"))
        return view

    def dashboard(self, username: str, now: datetime | None = None) -> dict[str, int]:
        """The counts a clerk sees first: today's work, queues and deadlines."""
        moment = now or self.branch.clock()
        today = moment.date().isoformat()
        tomorrow = (moment.date() + timedelta(days=1)).isoformat()
        open_states = [s.value for s in OPEN_STATES if s is not State.SUPPLEMENT_REQUESTED]
        d = t.dossiers.c

        def count(*conditions: Any) -> int:
            with self.branch.store.read() as conn:
                return int(
                    conn.execute(
                        select(func.count()).select_from(t.dossiers).where(*conditions)
                    ).scalar_one()
                )

        return {
            "received_today": count(d.received_at >= today, d.received_at < tomorrow),
            "my_queue": count(d.holder == username, d.state.in_(open_states)),
            "due_today": count(d.state.in_(open_states), d.due_at >= today, d.due_at < tomorrow),
            "overdue": count(d.state.in_(open_states), d.due_at < iso(moment)),
            "in_conflict": count(d.conflict == true()),  # literal: the partial index needs it
            "waiting_supplement": count(d.state == State.SUPPLEMENT_REQUESTED.value),
        }
