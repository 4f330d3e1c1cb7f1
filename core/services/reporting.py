"""On-time statistics over this branch's dossiers (the same rules the server uses).

The report is the pure ``core.reports.ontime_report`` over the event log as of the
period's end. Reading every event of a year would be slow, so a dossier none of whose
events is dated after that moment is read from its projection (the same fold of the same
events); only the others are folded again from the log, up to the moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from core.domain.timeutil import iso
from core.reports import (
    DossierFacts,
    OnTimeReport,
    OnTimeRules,
    Stats,
    as_of_moment,
    check_period,
    complete_as_of,
    facts_as_of,
    readable_facts,
    report_from_facts,
)
from core.storage import projection, quarantine
from core.storage import schema as t

if TYPE_CHECKING:
    from .branch import Branch

# Stored moments are compared as text to narrow the read; a day's margin keeps a moment
# written with another offset in, and the facts decide exactly.
_MARGIN = timedelta(days=1)


class ReportService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    def report(
        self, start: datetime, end: datetime, by: str = "all", rules: OnTimeRules | None = None
    ) -> OnTimeReport:
        check_period(start, end, by)
        now = self.branch.clock()
        facts = self._facts(start, as_of_moment(end, now))
        return report_from_facts(facts, start, end, now, by, rules or OnTimeRules())

    def stats(
        self, start: datetime, end: datetime, by: str = "all", rules: OnTimeRules | None = None
    ) -> dict[str, Stats]:
        """The figures per group (``report(...).groups``)."""
        return self.report(start, end, by, rules).groups

    def _facts(self, start: datetime, as_of: datetime) -> list[DossierFacts]:
        c = t.dossiers.c
        query = select(c.doc).where(
            c.received_at <= iso(as_of + _MARGIN),
            or_(c.end_at == "", c.end_at >= iso(start - _MARGIN)),
        )
        with self.branch.store.read() as conn:
            views = [projection.view_from_json(r.doc) for r in conn.execute(query)]
            later = [v.id for v in views if not complete_as_of(v, as_of)]
            logged = projection.stored_dossier_events(conn, later) if later else {}
            skipped = quarantine.ids(conn) if later else frozenset()
        readable = (readable_facts(v) for v in views if complete_as_of(v, as_of))
        facts = [f for f in readable if f is not None]
        for events in logged.values():
            found = facts_as_of([e for e in events if e.event_id not in skipped], as_of)
            if found is not None:
                facts.append(found)
        return facts
