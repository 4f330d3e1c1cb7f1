"""``motcua-server user|calendar|catalogue``: the reference data the centre authors.

Every change is an event the centre signs into the branch's chain (users, a branch's
days off) or the national one (the calendar's ``*`` scope, the catalogue); every desk
applies it at its next sync.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cli.parser import day
from core.domain.catalogue import Procedure
from core.domain.errors import N_, ValidationError
from core.domain.workflow import Role
from core.services import catalogue, catalogue_schema

from . import branch_admin
from . import schema as t

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .cli import Ctx

ROLES = [r.value for r in Role]


def register(sub: Any) -> None:
    _register_users(sub)
    _register_calendar(sub)
    _register_catalogue(sub)


def _register_users(sub: Any) -> None:
    user = sub.add_parser("user", help="branch users, authored centrally").add_subparsers(
        dest="verb", required=True
    )
    p = user.add_parser("list", help="a branch's users as its chain leaves them")
    p.add_argument("--branch", required=True, help="the branch's unit code")
    p.set_defaults(handler=cmd_user_list)
    p = user.add_parser("add", help="add a user (password from MOTCUA_NEW_PASSWORD)")
    p.add_argument("name", help="login name")
    p.add_argument("--branch", required=True, help="the branch's unit code")
    p.add_argument("--role", required=True, choices=ROLES, help="the user's role")
    p.add_argument("--full-name", default="", help="name shown on forms")
    p.set_defaults(handler=cmd_user_add)
    p = user.add_parser("role", help="change a user's role")
    p.add_argument("name", help="login name")
    p.add_argument("role", choices=ROLES, help="the new role")
    p.add_argument("--branch", required=True, help="the branch's unit code")
    p.set_defaults(handler=cmd_user_role)
    for verb, text, handler in (
        ("disable", N_("stop a user from logging in"), cmd_user_disable),
        ("enable", N_("let a disabled user log in again"), cmd_user_enable),
        ("unlock", N_("clear the failed logins that locked a user"), cmd_user_unlock),
        ("reset-password", N_("set a user's password (from MOTCUA_NEW_PASSWORD)"), cmd_user_reset),
    ):
        p = user.add_parser(verb, help=text)
        p.add_argument("name", help="login name")
        p.add_argument("--branch", required=True, help="the branch's unit code")
        p.set_defaults(handler=handler)


def _register_calendar(sub: Any) -> None:
    cal = sub.add_parser("calendar", help="holiday calendar overrides").add_subparsers(
        dest="verb", required=True
    )
    scope_help = N_("a branch's own day (default: national, every branch)")
    p = cal.add_parser("list", help="the overrides in force")
    p.add_argument("--branch", default=t.GLOBAL_SCOPE, help=scope_help)
    p.set_defaults(handler=cmd_calendar_list)
    p = cal.add_parser("set", help="record a government decision for one day")
    p.add_argument("day", type=day, help="the day, dd/mm/yyyy")
    p.add_argument(
        "--kind",
        required=True,
        choices=["holiday", "workday"],
        help="holiday: a day off; workday: a made-up working day",
    )
    p.add_argument("--reason", required=True, help="the decision that sets it")
    p.add_argument("--branch", default=t.GLOBAL_SCOPE, help=scope_help)
    p.set_defaults(handler=cmd_calendar_set)
    p = cal.add_parser("remove", help="withdraw an override: the national calendar applies")
    p.add_argument("day", type=day, help="the day, dd/mm/yyyy")
    p.add_argument("--reason", required=True, help="the decision that withdraws it")
    p.add_argument("--branch", default=t.GLOBAL_SCOPE, help=scope_help)
    p.set_defaults(handler=cmd_calendar_remove)


def _register_catalogue(sub: Any) -> None:
    cat = sub.add_parser("catalogue", help="procedure catalogue").add_subparsers(
        dest="verb", required=True
    )
    p = cat.add_parser("show", help="the catalogue in force, as published")
    p.set_defaults(handler=cmd_catalogue_show)
    p = cat.add_parser("schema", help="the JSON Schema a catalogue file follows")
    p.set_defaults(handler=cmd_catalogue_schema, creates=True)
    p = cat.add_parser("publish", help="check a catalogue file, show its changes, and publish it")
    p.add_argument("file", type=Path, help='JSON: {"procedures": [...]} or a list')
    p.add_argument(
        "--allow-removals", action="store_true", help="publish even if procedures are dropped"
    )
    p.add_argument("--dry-run", action="store_true", help="check and show the changes only")
    p.set_defaults(handler=cmd_catalogue_publish)


def new_password() -> str:
    password = os.environ.get("MOTCUA_NEW_PASSWORD", "")
    if not password:
        raise ValidationError(N_("Set MOTCUA_NEW_PASSWORD to the new password first"))
    return password


def cmd_user_list(args: argparse.Namespace, ctx: Ctx) -> list[dict[str, Any]]:
    return list(branch_admin.branch_users(ctx.engine, args.branch).values())


def cmd_user_add(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    password = new_password()
    return branch_admin.add_user(
        ctx.engine, ctx.key, args.branch, args.name, args.role, args.full_name, password
    )


def cmd_user_role(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return branch_admin.set_role(ctx.engine, ctx.key, args.branch, args.name, args.role)


def cmd_user_disable(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return branch_admin.set_disabled(ctx.engine, ctx.key, args.branch, args.name, True)


def cmd_user_enable(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return branch_admin.set_disabled(ctx.engine, ctx.key, args.branch, args.name, False)


def cmd_user_unlock(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return branch_admin.unlock(ctx.engine, ctx.key, args.branch, args.name)


def cmd_user_reset(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    password = new_password()
    return branch_admin.reset_password(ctx.engine, ctx.key, args.branch, args.name, password)


def cmd_calendar_list(args: argparse.Namespace, ctx: Ctx) -> list[dict[str, str]]:
    return branch_admin.overrides(ctx.engine, args.branch)


def cmd_calendar_set(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return branch_admin.set_override(
        ctx.engine, ctx.key, args.branch, args.day, args.kind, args.reason
    )


def cmd_calendar_remove(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return branch_admin.set_override(
        ctx.engine, ctx.key, args.branch, args.day, "none", args.reason
    )


def in_force(engine: Engine) -> list[Procedure]:
    """The catalogue the last publication set, else the one every desk ships with."""
    published = branch_admin.last_payload(engine, t.GLOBAL_SCOPE, "catalogue.published")
    if published is None:
        return catalogue.shipped_catalogue()
    return catalogue.parse_catalogue(published)


def cmd_catalogue_show(args: argparse.Namespace, ctx: Ctx) -> list[dict[str, Any]]:
    return [catalogue.procedure_to_dict(p) for p in in_force(ctx.engine)]


def cmd_catalogue_schema(args: argparse.Namespace, ctx: Ctx) -> str:
    return json.dumps(catalogue_schema.json_schema(), ensure_ascii=False, indent=2)


def cmd_catalogue_publish(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    try:
        doc = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as err:
        raise ValidationError(
            N_("Cannot read the catalogue file {path}"), path=str(args.file)
        ) from err
    except ValueError:
        raise ValidationError(
            N_("The catalogue file {path} is not valid JSON"), path=str(args.file)
        ) from None
    proposed = catalogue_schema.validate(doc)
    changes = catalogue_schema.diff(in_force(ctx.engine), proposed)
    if not any(changes.values()):
        raise ValidationError(N_("The catalogue is the one in force: nothing to publish"))
    catalogue_schema.check_removals(changes, args.allow_removals)
    result: dict[str, Any] = {**changes, "procedures": len(proposed), "published": False}
    if args.dry_run:
        return result
    from . import identity

    payload = {"procedures": [catalogue.procedure_to_dict(p) for p in proposed]}
    event = identity.author_one(ctx.engine, ctx.key, "*", "catalogue.published", payload)
    return {**result, "published": True, "event_id": event["event_id"]}
