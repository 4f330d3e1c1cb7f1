"""`motcua user list|add|role|disable|enable|reset-password|unlock` (branch admin).

Each change is an event in this desk's chain: every desk of the branch applies it at its
next sync. New passwords come from MOTCUA_NEW_PASSWORD, never from the command line
(which other users of the machine can read).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from core.domain.errors import N_, ValidationError
from core.domain.workflow import Role

from .framework import Context

ROLES = [r.value for r in Role]


def register_users(sub: Any) -> None:
    users = sub.add_parser("user", help="branch users").add_subparsers(dest="verb", required=True)
    p = users.add_parser("list", help="every user, her role and state")
    p.set_defaults(handler=cmd_list)
    p = users.add_parser("add", help="add a user (password from MOTCUA_NEW_PASSWORD)")
    p.add_argument("name", help="login name")
    p.add_argument("--role", required=True, choices=ROLES, help="the user's role")
    p.add_argument("--full-name", default="", help="name shown on forms")
    p.set_defaults(handler=cmd_add)
    p = users.add_parser("role", help="change a user's role")
    p.add_argument("name", help="login name")
    p.add_argument("role", choices=ROLES, help="the new role")
    p.set_defaults(handler=cmd_role)
    for verb, text, handler in (
        ("disable", N_("stop a user from logging in"), cmd_disable),
        ("enable", N_("let a disabled user log in again"), cmd_enable),
        ("unlock", N_("clear the failed logins that locked a user"), cmd_unlock),
        ("reset-password", N_("set a user's password (from MOTCUA_NEW_PASSWORD)"), cmd_reset),
    ):
        p = users.add_parser(verb, help=text)
        p.add_argument("name", help="login name")
        p.set_defaults(handler=handler)


def new_password() -> str:
    password = os.environ.get("MOTCUA_NEW_PASSWORD", "")
    if not password:
        raise ValidationError(N_("Set MOTCUA_NEW_PASSWORD to the new password first"))
    return password


def _done(name: str, **fields: Any) -> dict[str, Any]:
    return {"username": name.lower(), **fields}


def cmd_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, object]]:
    ctx.services.login(*ctx.acting_user())
    result: list[dict[str, object]] = ctx.services.admin.list_users()
    return result


def cmd_add(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    actor = ctx.services.login(*ctx.acting_user())
    actor.require(Role.ADMIN)  # a clerk is told she may not, before what she lacks
    ctx.services.admin.add_user(actor, args.name, args.role, new_password(), args.full_name)
    return _done(args.name, role=args.role)


def cmd_role(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    actor = ctx.services.login(*ctx.acting_user())
    ctx.services.admin.set_role(actor, args.name, args.role)
    return _done(args.name, role=args.role)


def cmd_disable(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    actor = ctx.services.login(*ctx.acting_user())
    ctx.services.admin.disable_user(actor, args.name, True)
    return _done(args.name, disabled=True)


def cmd_enable(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    actor = ctx.services.login(*ctx.acting_user())
    ctx.services.admin.disable_user(actor, args.name, False)
    return _done(args.name, disabled=False)


def cmd_unlock(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    actor = ctx.services.login(*ctx.acting_user())
    ctx.services.admin.unlock(actor, args.name)
    return _done(args.name, locked_until=None)


def cmd_reset(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    actor = ctx.services.login(*ctx.acting_user())
    password = new_password()
    with ctx.services.store.read() as conn:
        from core.services import users

        users.require_user(conn, args.name)
    ctx.services.admin.set_password(actor, args.name, password)
    return _done(args.name, password_set=True)
