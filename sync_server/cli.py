"""``motcua-server``: run and administer the central sync server.

motcua-server [--data-dir DIR] [--json] COMMAND
  serve [--host H] [--port P] [--workers N]   migrate, then serve the HTTP API
  migrate                            bring the database schema up to date
  branch add CODE --name NAME | branch list
  enroll-code --branch CODE [--ttl SECONDS]    print a one-time enrolment code
  device list [--branch CODE] | device revoke ID
  user add NAME --branch CODE --role ROLE      (password from MOTCUA_NEW_PASSWORD)
  calendar set DAY --kind holiday|workday|none --reason TEXT
  catalogue publish FILE.json
  verify                             check every chain, hash and signature

The SQLite database and the blobs live in DIR (default ./motcua-server-data);
``DATABASE_URL`` points the database elsewhere (PostgreSQL in production).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from core.domain.errors import N_, MotcuaError, ValidationError
from core.domain.workflow import Role
from core.i18n import describe, set_language
from core.services import catalogue, users

from . import identity
from .audit import verify
from .db import ENV_DB_CONNECTIONS, Settings, connections_per_worker, make_engine, migrate

DEFAULT_DIR = Path("motcua-server-data")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motcua-server", description="Một Cửa central sync server"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="database and blobs (default ./motcua-server-data)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--lang", choices=["vi", "en"], default=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("serve", help="migrate, then serve the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes sharing the port (default: one per CPU, at most 8, on "
        "PostgreSQL; one on SQLite)",
    )
    p.set_defaults(handler=cmd_serve)
    sub.add_parser("migrate", help="bring the schema up to date").set_defaults(handler=cmd_migrate)
    branch = sub.add_parser("branch", help="branches").add_subparsers(dest="verb", required=True)
    p = branch.add_parser("add")
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.set_defaults(handler=cmd_branch_add)
    branch.add_parser("list").set_defaults(handler=cmd_branch_list)
    p = sub.add_parser("enroll-code", help="a one-time enrolment code for a new desktop")
    p.add_argument("--branch", required=True)
    p.add_argument("--ttl", type=int, default=24 * 3600, help="seconds before the code expires")
    p.set_defaults(handler=cmd_enroll_code)
    device = sub.add_parser("device", help="enrolled devices").add_subparsers(
        dest="verb", required=True
    )
    p = device.add_parser("list")
    p.add_argument("--branch", default=None)
    p.set_defaults(handler=cmd_device_list)
    p = device.add_parser("revoke")
    p.add_argument("device_id")
    p.set_defaults(handler=cmd_device_revoke)
    p = device.add_parser("clear", help="take a flagged device's pushes again")
    p.add_argument("device_id")
    p.set_defaults(handler=cmd_device_clear)
    user = sub.add_parser("user", help="branch users, authored centrally").add_subparsers(
        dest="verb", required=True
    )
    p = user.add_parser("add")
    p.add_argument("name")
    p.add_argument("--branch", required=True)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--full-name", default="")
    p.set_defaults(handler=cmd_user_add)
    cal = sub.add_parser("calendar", help="holiday calendar overrides").add_subparsers(
        dest="verb", required=True
    )
    p = cal.add_parser("set")
    p.add_argument("day", type=date.fromisoformat)
    p.add_argument("--kind", required=True, choices=["holiday", "workday", "none"])
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=cmd_calendar_set)
    cat = sub.add_parser("catalogue", help="procedure catalogue").add_subparsers(
        dest="verb", required=True
    )
    p = cat.add_parser("publish")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_catalogue_publish)
    sub.add_parser("verify", help="check every chain and signature").set_defaults(
        handler=cmd_verify
    )
    return parser


class Ctx:
    def __init__(self, args: argparse.Namespace) -> None:
        self.data_dir: Path = args.data_dir or DEFAULT_DIR
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = Settings.from_env(self.data_dir)
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            migrate(self._engine)
        return self._engine

    @property
    def key(self) -> Any:
        return identity.ensure_identity(self.engine, self.settings.key_file)


def default_workers(database_url: str) -> int:
    """One process per CPU on PostgreSQL (the push path is CPU-bound in Python, one core
    per process); one on SQLite, whose single writer gains nothing from more."""
    if database_url.startswith("sqlite"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def cmd_serve(args: argparse.Namespace, ctx: Ctx) -> None:
    import uvicorn

    from .app import ENV_DATA_DIR, create_app

    workers = args.workers or default_workers(ctx.settings.database_url)
    if workers <= 1:
        app = create_app(ctx.settings)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
        return
    # Migrate and make the server key once, here, before the workers start; each worker
    # then builds its app from the environment (uvicorn spawns them).
    create_app(ctx.settings).state.server.engine.dispose()
    os.environ[ENV_DATA_DIR] = str(ctx.settings.data_dir.resolve())
    os.environ["DATABASE_URL"] = ctx.settings.database_url
    os.environ.setdefault(ENV_DB_CONNECTIONS, str(connections_per_worker(workers)))
    uvicorn.run(
        "sync_server.app:app_from_env",
        factory=True,
        workers=workers,
        host=args.host,
        port=args.port,
        log_level="warning",
    )


def cmd_migrate(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    engine = make_engine(ctx.settings.database_url)
    revision = migrate(engine)
    identity.ensure_identity(engine, ctx.settings.key_file)
    return {"database": engine.url.render_as_string(hide_password=True), "revision": revision}


def cmd_branch_add(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return identity.add_branch(ctx.engine, args.code, args.name)


def cmd_branch_list(args: argparse.Namespace, ctx: Ctx) -> list[dict[str, Any]]:
    return identity.list_branches(ctx.engine)


def cmd_enroll_code(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    if args.ttl <= 0:
        raise ValidationError(N_("The code's lifetime must be positive"))
    return identity.new_enrol_code(ctx.engine, args.branch, args.ttl)


def cmd_device_list(args: argparse.Namespace, ctx: Ctx) -> list[dict[str, Any]]:
    return identity.list_devices(ctx.engine, args.branch)


def cmd_device_revoke(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return identity.revoke(ctx.engine, ctx.key, args.device_id)


def cmd_device_clear(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return identity.clear_flag(ctx.engine, args.device_id)


def cmd_user_add(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    name = users.check_username(args.name)
    payload = {
        "username": name,
        "full_name": args.full_name.strip() or name,
        "role": args.role,
        **users.credentials(os.environ.get("MOTCUA_NEW_PASSWORD", "")),
    }
    return identity.author_one(ctx.engine, ctx.key, args.branch, "user.added", payload)


def cmd_calendar_set(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    if not args.reason.strip():
        raise ValidationError(N_("An override needs its reason (the decision)"))
    payload = {"day": args.day.isoformat(), "kind": args.kind, "reason": args.reason.strip()}
    return identity.author_one(ctx.engine, ctx.key, "*", "calendar.override_set", payload)


def cmd_catalogue_publish(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    try:
        doc = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValidationError(
            N_("Cannot read the catalogue file: {detail}"), detail=str(err)
        ) from None
    procedures = catalogue.parse_catalogue(doc)
    payload = {"procedures": [catalogue.procedure_to_dict(p) for p in procedures]}
    return identity.author_one(ctx.engine, ctx.key, "*", "catalogue.published", payload)


def cmd_verify(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    report = verify(ctx.engine, ctx.key.public_b64)
    if not report["ok"]:
        first = report["problems"][0]
        raise ValidationError(
            N_("Audit failed for device {device} at sequence {seq}: {problem}"),
            device=first["device"],
            seq=first["origin_seq"],
            problem=first["problem"],
        )
    return report


def emit(result: Any, as_json: bool) -> None:
    if result is None:
        return
    if as_json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    elif isinstance(result, list):
        for item in result:
            print("  ".join(f"{k}={v}" for k, v in item.items()))
    elif isinstance(result, dict):
        for key, value in result.items():
            print(f"{key}: {value}")
    else:
        print(result)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_language(args.lang)
    try:
        emit(args.handler(args, Ctx(args)), args.json)
    except MotcuaError as err:
        print(f"motcua-server: {describe(err)}", file=sys.stderr)
        return err.exit_code if err.exit_code != 2 else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
