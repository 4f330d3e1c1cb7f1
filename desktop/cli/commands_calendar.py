"""`motcua calendar due|holidays|override`."""

from __future__ import annotations

import argparse
from datetime import time
from typing import Any

from core.cli.parser import day
from core.domain.calendar import WorkCalendar
from core.domain.catalogue import ProcessingUnit
from core.domain.due import compute_due
from core.domain.errors import N_, StoreError, ValidationError
from core.domain.timeutil import parse_moment
from core.i18n import tr

from .framework import Context


def register(sub: Any) -> None:
    cal = sub.add_parser("calendar", help="working-time calendar").add_subparsers(
        dest="verb", required=True
    )
    p = cal.add_parser("due", help="compute a due moment")
    p.add_argument(
        "--received", required=True, help="when the dossier was received (ISO date-time)"
    )
    amount = p.add_mutually_exclusive_group(required=True)
    amount.add_argument("--working-days", type=int, help="time allowed, in working days")
    amount.add_argument("--working-hours", type=int, help="time allowed, in working hours")
    amount.add_argument("--calendar-days", type=int, help="time allowed, in calendar days")
    p.add_argument("--cutoff", help="HH:MM same-day cut-off")
    p.set_defaults(handler=cmd_due)
    p = cal.add_parser("holidays", help="public holidays and make-up working days of a year")
    p.add_argument("year", type=int, help="the year (e.g. 2027)")
    p.set_defaults(handler=cmd_holidays)
    override = cal.add_parser(
        "override", help="a day off or a working day the government set"
    ).add_subparsers(dest="override_verb", required=True)
    p = override.add_parser("add", help="record a government decision for one day")
    p.add_argument("day", type=day, help="the day, dd/mm/yyyy")
    p.add_argument(
        "kind",
        choices=["holiday", "workday"],
        help="holiday: a day off; workday: a made-up working day",
    )
    p.add_argument("--reason", required=True, help="the decision that sets it")
    p.set_defaults(handler=cmd_override_add)
    p = override.add_parser("list", help="the overrides in force for this branch")
    p.set_defaults(handler=cmd_override_list)
    p = override.add_parser("remove", help="withdraw an override: the national calendar applies")
    p.add_argument("day", type=day, help="the day, dd/mm/yyyy")
    p.add_argument("--reason", required=True, help="the decision that withdraws it")
    p.set_defaults(handler=cmd_override_remove)


def _calendar(ctx: Context) -> WorkCalendar:
    """The branch calendar with its overrides, or the national one when no store exists."""
    try:
        calendar: WorkCalendar = ctx.services.calendar()
    except StoreError:
        ctx._services = None
        return WorkCalendar()
    return calendar


def _amount(args: argparse.Namespace) -> tuple[int, ProcessingUnit]:
    if args.working_days is not None:
        return args.working_days, ProcessingUnit.WORKING_DAYS
    if args.working_hours is not None:
        return args.working_hours, ProcessingUnit.WORKING_HOURS
    return args.calendar_days, ProcessingUnit.CALENDAR_DAYS


def _cutoff(text: str | None) -> time | None:
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValidationError(N_("Cut-off must be HH:MM: {value}"), value=text) from None


def cmd_due(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    amount, unit = _amount(args)
    due = compute_due(
        _calendar(ctx), parse_moment(args.received), amount, unit, _cutoff(args.cutoff)
    )
    doc = due.as_dict()
    doc["explanation"] = [tr(s.message, **s.params) for s in due.steps]
    del doc["steps"]
    return doc


def cmd_holidays(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    calendar = _calendar(ctx)
    return {
        "year": args.year,
        "holidays": [
            {"date": d.isoformat(), "name": n} for d, n in calendar.holidays_of(args.year)
        ],
        "workday_saturdays": [d.isoformat() for d in calendar.workday_saturdays(args.year)],
    }


def cmd_override_add(args: argparse.Namespace, ctx: Context) -> dict[str, str]:
    user = ctx.services.login(*ctx.acting_user())
    ctx.services.admin.set_override(user, args.day, args.kind, args.reason)
    return {"date": args.day.isoformat(), "kind": args.kind, "reason": args.reason}


def cmd_override_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, str]]:
    ctx.services.login(*ctx.acting_user())
    overrides: list[dict[str, str]] = ctx.services.admin.overrides()
    return overrides


def cmd_override_remove(args: argparse.Namespace, ctx: Context) -> dict[str, str]:
    user = ctx.services.login(*ctx.acting_user())
    ctx.services.admin.remove_override(user, args.day, args.reason)
    return {"date": args.day.isoformat(), "kind": "none", "reason": args.reason}
