"""`motcua init`, `user`, `catalog`, `verify`, `rebuild`."""

from __future__ import annotations

import argparse
import os
from typing import Any

from core.domain.errors import N_, IntegrityError, ValidationError
from core.domain.workflow import Role
from core.i18n import tr
from core.services import audit
from core.services.branch import Branch
from core.storage import projection

from . import render
from .framework import Context


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create the store, device key, catalogue and first admin")
    p.add_argument("--unit-code", required=True)
    p.add_argument("--branch-name", required=True)
    p.set_defaults(handler=cmd_init)

    users = sub.add_parser("user", help="branch users").add_subparsers(dest="verb", required=True)
    p = users.add_parser("add", help="add a user (password from MOTCUA_NEW_PASSWORD)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["officer", "specialist", "leader", "admin"])
    p.add_argument("--full-name", default="")
    p.set_defaults(handler=cmd_user_add)
    p = users.add_parser("list")
    p.set_defaults(handler=cmd_user_list)

    cat = sub.add_parser("catalog", help="the procedure catalogue").add_subparsers(
        dest="verb", required=True
    )
    p = cat.add_parser("list")
    p.set_defaults(handler=cmd_catalog_list)
    p = cat.add_parser("show")
    p.add_argument("code")
    p.set_defaults(handler=cmd_catalog_show)

    p = sub.add_parser("verify", help="check every event chain and signature")
    p.set_defaults(handler=cmd_verify)
    p = sub.add_parser("rebuild", help="rebuild every projection from the event log")
    p.set_defaults(handler=cmd_rebuild)
    p = sub.add_parser(
        "quarantine", help="events held back: refused by the authority table or failing to apply"
    )
    p.set_defaults(handler=cmd_quarantine)


def cmd_init(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    name, password = ctx.acting_user()
    if not name or not password:
        raise ValidationError(N_("Set MOTCUA_USER and MOTCUA_PASSWORD for the first branch admin"))
    ctx._services = Branch.init(ctx.data_dir, args.unit_code, args.branch_name, (name, password))
    b = ctx.services
    return {
        "data_dir": str(ctx.data_dir),
        "unit_code": b.branch_code,
        "device_id": b.device_id,
        "procedures": len(b.procedures()),
        "admin": name.lower(),
    }


def cmd_user_add(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    actor = ctx.services.login(*ctx.acting_user())
    password = os.environ.get("MOTCUA_NEW_PASSWORD", "")
    ctx.services.admin.add_user(actor, args.name, args.role, password, args.full_name)
    return {"username": args.name.lower(), "role": args.role}


def cmd_user_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, object]]:
    ctx.services.login(*ctx.acting_user())
    result: list[dict[str, object]] = ctx.services.admin.list_users()
    return result


def cmd_catalog_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    return [render.procedure(p) for p in ctx.services.procedures().values()]


def cmd_catalog_show(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return render.procedure(ctx.services.dossiers.procedure(args.code), full=True)


def cmd_verify(args: argparse.Namespace, ctx: Context) -> dict[str, object]:
    report = audit.verify(ctx.services)
    if not report.ok:
        first = report.problems[0]
        raise IntegrityError(
            N_("Audit failed at event {event} (device {device}, sequence {seq}): {problem}"),
            event=first["event_id"],
            device=first["device"],
            seq=first["origin_seq"],
            problem=first["problem"],
        )
    return report.as_dict()


def cmd_rebuild(args: argparse.Namespace, ctx: Context) -> dict[str, int]:
    ctx.services.login(*ctx.acting_user()).require(Role.ADMIN)
    replayed = ctx.services.store.write(projection.rebuild)
    return {"events_replayed": replayed}


def cmd_quarantine(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    actor = ctx.services.login(*ctx.acting_user())
    return [
        {
            "event_id": e["event_id"],
            "origin_device": e["origin_device"],
            "origin_seq": e["origin_seq"],
            "type": e["type"],
            "rule": e["rule"],
            "problem": tr(e["message"], **e["params"]),
            "at": e["at"],
        }
        for e in ctx.services.admin.quarantine(actor)
    ]
