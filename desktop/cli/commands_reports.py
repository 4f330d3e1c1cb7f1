"""`motcua stats`: on-time statistics by the Decision 766 rules (docs/statistics.md).

The figures are ``core.reports``' own: the same report the desktop's screen and the
centre's console show. A period is judged as of its end, or now when it ends later.
"""

from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta
from typing import Any

from core.cli.parser import day
from core.domain.timeutil import VIETNAM
from core.reports import GROUPS, OnTimeRules

from .framework import Context


def register(sub: Any) -> None:
    p = sub.add_parser("stats", help="on-time statistics for a period")
    p.add_argument("--from", dest="start", type=day, required=True, help="first day, dd/mm/yyyy")
    p.add_argument("--to", dest="end", type=day, required=True, help="last day (included)")
    p.add_argument("--by", default="all", choices=list(GROUPS), help="group the figures by")
    p.add_argument(
        "--early-by-moment", action="store_true", help="any end before the appointment is early"
    )
    p.set_defaults(handler=cmd_stats)


def cmd_stats(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    start = datetime.combine(args.start, time(0), VIETNAM)
    end = datetime.combine(args.end + timedelta(days=1), time(0), VIETNAM) - timedelta(seconds=1)
    ctx.services.login(*ctx.acting_user())
    rules = OnTimeRules(early_by_moment=args.early_by_moment)
    report = ctx.services.reports.report(start, end, args.by, rules)
    return {
        **report.as_dict(),
        "from": start.date().isoformat(),
        "to": end.date().isoformat(),
    }
