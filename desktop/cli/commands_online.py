"""`motcua dossier import FILE.json`, `dossier receive-online CODE`, `dossier fee-receipt`:
online dossiers from the national portal (status 1) and fee receipts (docs/forms.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.cli.parser import Subcommands
from core.domain.errors import N_, ValidationError
from core.domain.timeutil import parse_moment
from core.services.fees import PAYMENT_METHODS, FeeService
from core.services.online import OnlineService

from .framework import Context


def _dossier_verbs(sub: Any) -> Subcommands:
    """The `dossier` command's verbs (registered by commands_dossier, before this module)."""
    dossier = sub.choices["dossier"]
    for action in dossier._actions:
        if isinstance(action, Subcommands):
            return action
    raise RuntimeError("the dossier command has no verbs")


def register(sub: Any) -> None:
    verbs = _dossier_verbs(sub)
    p = verbs.add_parser(
        "import", help="import online dossiers (status 1) from the national portal's JSON"
    )
    p.add_argument("file", type=Path, help="JSON file: one dossier object or a list")
    p.set_defaults(handler=cmd_import)

    p = verbs.add_parser("receive-online", help="receive an imported online dossier")
    p.add_argument("code", help="the dossier's code")
    p.add_argument("--at", help="ISO date-time (default: now)")
    p.add_argument(
        "--override-incomplete",
        default="",
        metavar="REASON",
        help="receive it with documents missing: the reason, recorded",
    )
    p.set_defaults(handler=cmd_receive_online)

    p = verbs.add_parser("fee-receipt", help="record a fee receipt against a dossier")
    p.add_argument("code", help="the dossier's code")
    p.add_argument("--number", required=True, help="the receipt's number")
    p.add_argument("--amount", required=True, type=int, help="amount in đồng")
    p.add_argument(
        "--method", default="cash", choices=list(PAYMENT_METHODS), help="how the fee was paid"
    )
    p.add_argument("--note", default="", help="a remark recorded with it")
    p.set_defaults(handler=cmd_fee_receipt)


def cmd_import(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    user = ctx.services.login(*ctx.acting_user())
    try:
        doc = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as err:
        raise ValidationError(
            N_("Cannot read {path}: {detail}"), path=str(args.file), detail=err.strerror
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValidationError(
            N_("{path} is not a JSON file: {detail}"), path=str(args.file), detail=str(err)
        ) from None
    views, _changes = OnlineService(ctx.services).import_dossiers(user, doc)
    return [
        {
            "code": v.code,
            "status": v.national_status,
            "procedure": v.procedure_code,
            "applicant": v.applicant["full_name"],
            "submitted_at": v.received_at,
        }
        for v in views
    ]


def cmd_receive_online(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    at = parse_moment(args.at) if args.at else None
    view, _changes = OnlineService(ctx.services).receive(
        user, args.code, at, args.override_incomplete
    )
    return {
        "code": view.code,
        "status": view.national_status,
        "received_at": view.received_at,
        "due_at": view.due_at,
        "fees_vnd": view.fees_vnd,
    }


def cmd_fee_receipt(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    fees = FeeService(ctx.services)
    fees.record_receipt(user, args.code, args.number, args.amount, args.method, args.note)
    return {
        "code": args.code,
        "receipts": [vars(r) for r in fees.receipts(args.code)],
    }
