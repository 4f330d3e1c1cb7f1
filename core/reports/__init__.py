"""Reports: on-time statistics by the Decision 766 rules, the same code on desktop and server.

A replica with the events calls ``ontime_report(histories, start, end, now, group_by)``;
docs/statistics.md states each rule with its legal source.
"""

from .facts import (
    DossierFacts,
    complete_as_of,
    facts_as_of,
    facts_from_view,
    readable_facts,
    view_as_of,
)
from .ontime import (
    GROUPS,
    Bucket,
    OnTimeReport,
    OnTimeRules,
    ReportBuilder,
    Stats,
    Tally,
    Timeline,
    as_of_moment,
    check_period,
    judge,
    ontime_report,
    report_from_facts,
    timeline,
)

__all__ = [
    "GROUPS",
    "Bucket",
    "DossierFacts",
    "OnTimeReport",
    "OnTimeRules",
    "ReportBuilder",
    "Stats",
    "Tally",
    "Timeline",
    "as_of_moment",
    "check_period",
    "complete_as_of",
    "facts_as_of",
    "facts_from_view",
    "judge",
    "ontime_report",
    "readable_facts",
    "report_from_facts",
    "timeline",
    "view_as_of",
]
