"""On-time statistics over this branch's dossiers (the same rules the server uses)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from core.domain.dossier import DossierView
from core.domain.errors import N_, ValidationError
from core.reports.ontime import OnTimeRules, Stats, summarise
from core.storage import projection
from core.storage import schema as t

if TYPE_CHECKING:
    from .branch import Branch

GROUPS: dict[str, Callable[[DossierView], str]] = {
    "all": lambda d: "all",
    "field": lambda d: d.field,
    "procedure": lambda d: d.procedure_code,
    "clerk": lambda d: d.received_by,
    "branch": lambda d: d.branch,
    "month": lambda d: d.received_at[:7],
}


class ReportService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    def stats(
        self, start: datetime, end: datetime, by: str = "all", rules: OnTimeRules | None = None
    ) -> dict[str, Stats]:
        if by not in GROUPS:
            raise ValidationError(
                N_("Cannot group by {by}: use {choices}"), by=by, choices=", ".join(GROUPS)
            )
        if end < start:
            raise ValidationError(N_("The period ends before it starts"))
        c = t.dossiers.c
        query = select(c.doc).where(c.received_at <= end.isoformat(), c.state != "refused")
        with self.branch.store.read() as conn:
            views = [projection.view_from_json(r.doc) for r in conn.execute(query)]
        return summarise(views, start, end, GROUPS[by], rules or OnTimeRules())  # type: ignore[arg-type]
