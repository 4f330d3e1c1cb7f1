"""`motcua transfer send|list|accept|back|take-back`: dossiers between units
(``core.domain.transfers``)."""

from __future__ import annotations

import argparse
from typing import Any

from core.services.transfers import TransferMessage, TransferService

from . import render
from .framework import Context


def register(sub: Any) -> None:
    transfer = sub.add_parser(
        "transfer", help="send dossiers to another unit and take them back"
    ).add_subparsers(dest="verb", required=True)

    p = transfer.add_parser("send", help="send a dossier to another unit for processing")
    p.add_argument("code", help="the dossier's code")
    p.add_argument("--to", required=True, help="the other unit's code (a branch or agency unit)")
    p.add_argument(
        "--return-at",
        default="origin",
        choices=["origin", "destination"],
        help="where the citizen gets the result: here (origin) or at the other unit",
    )
    p.add_argument("--note", default="", help="a remark for the other unit")
    p.set_defaults(handler=cmd_send)

    p = transfer.add_parser("list", help="offers and replies other units sent this unit")
    p.add_argument("--all", action="store_true", help="also those already acted on")
    p.set_defaults(handler=cmd_list)

    p = transfer.add_parser("accept", help="accept a dossier another unit sent here")
    p.add_argument("message", help="the offer's id (motcua transfer list)")
    p.set_defaults(handler=cmd_accept)

    p = transfer.add_parser("back", help="send a dossier back to the unit it came from")
    p.add_argument("code", help="the dossier's code")
    p.add_argument("--note", default="", help="required when sending it back unprocessed")
    p.set_defaults(handler=cmd_back)

    p = transfer.add_parser("take-back", help="take back a dossier the other unit sent back")
    p.add_argument("message", help="the reply's id (motcua transfer list)")
    p.add_argument("--note", default="", help="a remark recorded with it")
    p.set_defaults(handler=cmd_take_back)


def _service(ctx: Context) -> TransferService:
    return TransferService(ctx.services)


def cmd_send(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    view, _ = _service(ctx).send_out(user, args.code, args.to, args.return_at, args.note)
    return render.dossier(view)


def cmd_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    return [_message(m) for m in _service(ctx).messages(pending=not args.all)]


def cmd_accept(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    view, _ = _service(ctx).accept(user, args.message)
    return render.dossier(view)


def cmd_back(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    view, _ = _service(ctx).send_back(user, args.code, args.note)
    return render.dossier(view)


def cmd_take_back(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    user = ctx.services.login(*ctx.acting_user())
    view, _ = _service(ctx).take_back(user, args.message, args.note)
    return render.dossier(view)


def _message(message: TransferMessage) -> dict[str, Any]:
    return {
        "id": message.event_id,
        "kind": message.kind,
        "from": message.from_branch,
        "code": message.code,
        "received_at": message.received_at,
        "taken": message.taken,
        **message.summary,
    }
