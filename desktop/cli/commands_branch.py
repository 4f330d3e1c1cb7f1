"""`motcua init`, `user`, `catalog`, `verify`, `rebuild`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.domain.errors import N_, IntegrityError, ValidationError
from core.domain.workflow import Role
from core.i18n import tr
from core.services import audit, catalogue, consistency
from core.services import sync as sync_service
from core.services.branch import Branch
from core.storage import projection

from . import render
from .commands_users import register_users
from .framework import Context, emit


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create the store, device key, catalogue and first admin")
    p.add_argument(
        "--unit-code",
        required=True,
        help="the unit's code, first in every dossier code (capitals, digits, dots)",
    )
    p.add_argument("--branch-name", required=True, help="the branch's name, printed on forms")
    p.add_argument(
        "--encrypt",
        action="store_true",
        help="encrypt the store, device key and scans (key in the OS keystore, or under "
        "the branch passphrase in MOTCUA_PASSPHRASE)",
    )
    p.set_defaults(handler=cmd_init)

    register_users(sub)

    cat = sub.add_parser("catalog", help="the procedure catalogue").add_subparsers(
        dest="verb", required=True
    )
    p = cat.add_parser("list", help="the procedures in force (with --json: the full catalogue)")
    p.set_defaults(handler=cmd_catalog_list)
    p = cat.add_parser("show", help="one procedure in full")
    p.add_argument("code", help="the procedure's code")
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
    secret = None
    if args.encrypt:
        from core.services.storekey import keystore

        from .commands_store import new_passphrase

        secret = new_passphrase(required=keystore() is None)
    ctx._services = Branch.init(
        ctx.data_dir,
        args.unit_code,
        args.branch_name,
        (name, password),
        encrypt=args.encrypt,
        passphrase=secret,
    )
    b = ctx.services
    return {
        "data_dir": str(ctx.data_dir),
        "unit_code": b.branch_code,
        "device_id": b.device_id,
        "procedures": len(b.procedures()),
        "admin": name.lower(),
        "encrypted": b.store.key is not None,
    }


def cmd_catalog_list(args: argparse.Namespace, ctx: Context) -> list[dict[str, Any]]:
    procedures = ctx.services.procedures().values()
    if ctx.as_json:  # the whole catalogue: what `motcua-server catalogue publish` takes
        return [catalogue.procedure_to_dict(p) for p in procedures]
    return [render.procedure_line(p) for p in procedures]


def cmd_catalog_show(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    shown = ctx.services.dossiers.procedure(args.code)
    if ctx.as_json:  # the catalogue's own form, as `catalog list --json` prints it
        return catalogue.procedure_to_dict(shown)
    return render.procedure(shown)


def cmd_verify(args: argparse.Namespace, ctx: Context) -> dict[str, object]:
    """Chains and signatures, then the file, the projections and the server's head. Every
    problem is listed; the first is named on stderr and the exit code is 9."""
    services = ctx.services
    report = audit.verify(services)
    checks = consistency.integrity(services)
    if not checks and report.ok:  # a rebuild of a damaged file or log proves nothing more
        checks += consistency.projection_drift(services)
    checks += consistency.behind_server(services, _server_vector(services))
    problems = [
        {
            "device": p.device,
            "origin_seq": p.origin_seq,
            "event_id": p.event_id,
            "problem": tr(p.message, **p.params),
        }
        for p in report.problems
    ] + [{"check": c["check"], "problem": tr(c["message"], **c["params"])} for c in checks]
    result: dict[str, object] = {
        "ok": not problems,
        "events_checked": report.events_checked,
        "devices": report.devices,
        "problems": problems,
    }
    if not problems:
        return result
    emit(result, ctx.as_json)
    if report.problems:
        first = report.problems[0]
        raise IntegrityError(
            N_("Audit failed at event {event} (device {device}, sequence {seq}): {problem}"),
            event=first.event_id or "-",
            device=first.device,
            seq=first.origin_seq,
            problem=tr(first.message, **first.params),
        )
    raise IntegrityError(N_("Audit failed: {problem}"), problem=problems[0]["problem"])


def _server_vector(services: Branch) -> dict[str, int]:
    """What the server acknowledged at the last sync ({} before any)."""
    raw = sync_service.meta(services, "sync_server_vector", "{}")
    return {str(k): int(v) for k, v in json.loads(raw).items()}


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
