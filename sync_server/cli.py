"""``motcua-server``: run and administer the central sync server.

motcua-server [--data-dir DIR] [--env-file FILE] [--json] [--lang vi|en] COMMAND
  serve [--host H] [--port P] [--workers N]   migrate, then serve the HTTP API
  migrate                            bring the database schema up to date
  config                             the settings in force and where each came from
  branch add CODE --name NAME | branch list
  enroll-code --branch CODE [--ttl SECONDS]    print a one-time enrolment code
  device list [--branch CODE] | device revoke ID | device clear ID
  user list|add|role|disable|enable|reset-password|unlock --branch CODE ...
  calendar list|set|remove [--branch CODE] ...
  catalogue show | catalogue publish FILE.json [--allow-removals] [--dry-run]
  verify                             check every chain, hash and signature
  rebuild [--branch CODE]            fold the dossiers' projection again from the log
  admin add NAME --role ROLE [--branch CODE ...] | admin list
                                     web console accounts (password from MOTCUA_NEW_PASSWORD)

Settings come from the command line, the environment and the env file
(``/etc/motcua/server.env``), in that order (``sync_server.config``). The SQLite database
and the blobs live in the data dir (default ./motcua-server-data); ``DATABASE_URL``
points the database elsewhere (PostgreSQL in production).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import __version__
from core.cli import failures, output
from core.cli.parser import Parser, choose_language, root_parser
from core.domain.errors import N_, StoreError, ValidationError
from core.i18n import _

from . import cli_branch, cli_release, identity, logs
from .audit import verify
from .config import Config, load
from .db import ENV_DB_CONNECTIONS, connections_per_worker, current_revision, make_engine, migrate

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from core.domain.signing import DeviceKey

LABELS = {
    "code": N_("Code"),
    "name": N_("Name"),
    "events": N_("Events"),
    "device_id": N_("Device"),
    "branch": N_("Branch"),
    "label": N_("Label"),
    "revoked": N_("Revoked"),
    "flagged": N_("Flagged"),
    "enrolled_at": N_("Enrolled"),
    "code_blocks": N_("Code blocks"),
    "expires_at": N_("Expires"),
    "username": N_("User"),
    "full_name": N_("Full name"),
    "role": N_("Role"),
    "disabled": N_("Disabled"),
    "day": N_("Day"),
    "kind": N_("Kind"),
    "reason": N_("Reason"),
    "event_id": N_("Event"),
    "scope": N_("Scope"),
    "type": N_("Type"),
    "origin_seq": N_("Sequence"),
    "ok": N_("Verified"),
    "problems": N_("Problems"),
    "data_dir": N_("Data folder"),
    "database": N_("Database"),
    "key_file": N_("Key file"),
    "env_file": N_("Env file"),
    "sources": N_("Sources"),
    "revision": N_("Schema revision"),
    "added": N_("Added"),
    "removed": N_("Removed"),
    "expires_in_s": N_("Expires in (seconds)"),
    "already": N_("Already so"),
    "fold": N_("Console projections folded"),
    "events_checked": N_("Events checked"),
    "chains": N_("Chains"),
    "branches": N_("Branches"),
    "events_read": N_("Events read"),
    "locked_until": N_("Locked until"),
    "changed": N_("Changed"),
    "published": N_("Published"),
    "procedures": N_("Procedures"),
}


def global_options(parser: argparse.ArgumentParser, repeated: bool) -> None:
    unset = argparse.SUPPRESS if repeated else None
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=unset,
        help="database and blobs (default: MOTCUA_SERVER_DATA_DIR, else ./motcua-server-data)",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=unset,
        help="settings file (default: MOTCUA_SERVER_ENV_FILE, else /etc/motcua/server.env)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if repeated else False,
        help="print one JSON document",
    )
    parser.add_argument("--lang", choices=["vi", "en"], default=unset, help="message language")


def build_parser() -> Parser:
    parser = root_parser("motcua-server", N_("Một Cửa central sync server"), global_options)
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="show the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("serve", help="migrate, then serve the HTTP API")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8470, help="port to listen on")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes sharing the port (default: one per CPU, at most 8, on "
        "PostgreSQL; one on SQLite)",
    )
    p.set_defaults(handler=cmd_serve, creates=True)
    p = sub.add_parser("migrate", help="bring the schema up to date")
    p.add_argument(
        "--new-store",
        action="store_true",
        help="make an empty store even though the server key shows a centre ran here",
    )
    p.set_defaults(handler=cmd_migrate, creates=True)
    p = sub.add_parser("config", help="the settings in force and where each came from")
    p.set_defaults(handler=cmd_config, creates=True)
    branch = sub.add_parser("branch", help="branches").add_subparsers(dest="verb", required=True)
    p = branch.add_parser("add", help="register a branch")
    p.add_argument("code", help="the branch's unit code")
    p.add_argument("--name", required=True, help="the branch's name")
    p.set_defaults(handler=cmd_branch_add, creates=True)
    branch.add_parser("list", help="every branch").set_defaults(handler=cmd_branch_list)
    p = sub.add_parser("enroll-code", help="a one-time enrolment code for a new desktop")
    p.add_argument("--branch", required=True, help="the branch's unit code")
    p.add_argument("--ttl", type=int, default=24 * 3600, help="seconds before the code expires")
    p.set_defaults(handler=cmd_enroll_code)
    device = sub.add_parser("device", help="enrolled devices").add_subparsers(
        dest="verb", required=True
    )
    p = device.add_parser("list", help="enrolled devices")
    p.add_argument("--branch", default=None, help="only this branch")
    p.set_defaults(handler=cmd_device_list)
    p = device.add_parser("revoke", help="refuse this device from now on")
    p.add_argument("device_id", help="the device's id (motcua-server device list)")
    p.set_defaults(handler=cmd_device_revoke)
    p = device.add_parser("clear", help="take a flagged device's pushes again")
    p.add_argument("device_id", help="the device's id (motcua-server device list)")
    p.set_defaults(handler=cmd_device_clear)
    cli_branch.register(sub)
    cli_release.register(sub)
    sub.add_parser("verify", help="check every chain and signature").set_defaults(
        handler=cmd_verify
    )
    add_console_commands(sub)
    return parser


class Ctx:
    """The configuration, and the database opened on first use. Only `serve`, `migrate`
    and the commands that create something may create a new store; the others refuse a
    missing one rather than answer from an empty store made on the spot."""

    def __init__(self, config: Config, creates: bool, new_store: bool = False) -> None:
        self.config = config
        self.settings = config.settings
        self.creates = creates
        self.new_store = new_store
        self._engine: Engine | None = None

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._open()
        return self._engine

    def _open(self) -> Engine:
        url = self.settings.database_url
        sqlite_file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
        if not self.creates and sqlite_file and not Path(sqlite_file).exists():
            raise StoreError(
                N_("No server store in {path}: run 'motcua-server migrate' (or serve) first"),
                path=str(self.data_dir),
            )
        if sqlite_file:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        if not self.creates and current_revision(engine) is None:
            engine.dispose()
            raise StoreError(
                N_("The database holds no server store: run 'motcua-server migrate' first")
            )
        try:
            migrate(engine, self.settings.key_file, new_store=self.new_store)
        except StoreError:
            engine.dispose()
            raise
        return engine

    @property
    def key(self) -> DeviceKey:
        return identity.ensure_identity(self.engine, self.settings.key_file)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def default_workers(database_url: str) -> int:
    """One process per CPU on PostgreSQL (the push path is CPU-bound in Python, one core
    per process); one on SQLite, whose single writer gains nothing from more."""
    if database_url.startswith("sqlite"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _check_listen(host: str, port: int) -> None:
    """The address is tried before anything starts: uvicorn would log "server started",
    then its own English error, and exit 3 (or, for a port past 65535, listen on another)."""
    if not 0 <= port <= 65535:
        raise ValidationError(N_("--port must be from 0 to 65535, not {port}"), port=port)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise StoreError(
                N_("Port {port} on {host} is already in use by another program"),
                port=port,
                host=host,
            ) from None
        raise ValidationError(
            N_("The server cannot listen on {host} port {port}: not an address of this machine"),
            host=host,
            port=port,
        ) from None


def cmd_serve(args: argparse.Namespace, ctx: Ctx) -> None:
    import uvicorn

    from .app import ENV_DATA_DIR, create_app

    logs.setup(logging.INFO)
    workers = default_workers(ctx.settings.database_url) if args.workers is None else args.workers
    if workers < 1:
        raise ValidationError(N_("--workers must be at least 1"))
    _check_listen(args.host, args.port)
    ctx.settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(ctx.settings)  # migrates and makes the server key, once, here
    logs.started(
        version=__version__,
        address=f"{args.host}:{args.port}",
        workers=workers,
        **ctx.config.describe(),
    )
    if workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", log_config=None)
        return
    # Each worker builds its app from the environment (uvicorn spawns them).
    app.state.server.engine.dispose()
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
        log_config=None,
    )


def cmd_migrate(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    engine = ctx.engine
    identity.ensure_identity(engine, ctx.settings.key_file)
    return {
        "database": engine.url.render_as_string(hide_password=True),
        "revision": current_revision(engine),
    }


# How `config` names its values for people (``--json`` keeps the codes).
_SOURCES = {
    "environment": N_("environment"),
    "env file": N_("env file"),
    "command line": N_("command line"),
}
_FOLDS = {
    "background": N_("in the background, after each push"),
    "on-read": N_("when the console reads them"),
}


def cmd_config(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    described = ctx.config.describe()
    if args.json:
        return described
    sources = described["sources"].items()
    return {
        **described,
        "fold": _(_FOLDS.get(described["fold"], described["fold"])),
        "sources": {name: _(_SOURCES.get(source, source)) for name, source in sources},
    }


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
    result = identity.revoke(ctx.engine, ctx.key, args.device_id)
    if not result["already"]:
        logs.security("revoked", 0, device=args.device_id, by="motcua-server device revoke")
    return result


def cmd_device_clear(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return identity.clear_flag(ctx.engine, args.device_id)


def cmd_verify(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    from core.domain.errors import IntegrityError

    report = verify(ctx.engine, ctx.key.public_b64)
    if not report["ok"]:
        first = report["problems"][0]
        raise IntegrityError(
            N_("Audit failed for device {device} at sequence {seq}: {problem}"),
            device=first["device"],
            seq=first["origin_seq"],
            problem=first["problem"],
        )
    return report


# --- projections and the web console's accounts ------------------------------------------------


def add_console_commands(sub: Any) -> None:
    """``rebuild`` and ``admin``: the server's projections and the console's accounts."""
    from .console.accounts import ROLES

    p = sub.add_parser("rebuild", help="fold the dossiers' projection again from the log")
    p.add_argument("--branch", default=None, help="only this branch (default: every branch)")
    p.set_defaults(handler=cmd_rebuild)
    admin = sub.add_parser("admin", help="web console accounts").add_subparsers(
        dest="verb", required=True
    )
    p = admin.add_parser("add", help="a console account (password from MOTCUA_NEW_PASSWORD)")
    p.add_argument("name", help="login name")
    p.add_argument("--role", required=True, choices=ROLES, help="the account's role")
    p.add_argument("--branch", action="append", default=[], help="a branch manager's branch")
    p.add_argument("--full-name", default="", help="name shown in the console")
    p.set_defaults(handler=cmd_admin_add)
    admin.add_parser("list", help="the console accounts").set_defaults(handler=cmd_admin_list)


def cmd_rebuild(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    from . import projections

    if args.branch is not None and args.branch not in {
        b["code"] for b in identity.list_branches(ctx.engine)
    }:
        raise ValidationError(N_("Unknown branch {branch}"), branch=args.branch)
    folded = projections.rebuild(ctx.engine, args.branch)
    return {"branches": len(folded), "events_read": sum(folded.values())}


def cmd_admin_add(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    from .console import accounts

    password = os.environ.get("MOTCUA_NEW_PASSWORD", "")
    return accounts.add_account(
        ctx.engine, args.name, args.role, password, tuple(args.branch), args.full_name
    )


def cmd_admin_list(args: argparse.Namespace, ctx: Ctx) -> list[dict[str, Any]]:
    from .console import accounts

    return accounts.list_accounts(ctx.engine)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    choose_language(arguments)
    args = build_parser().parse_args(arguments)
    logs.setup(logging.WARNING)  # `serve` logs its start and requests at INFO
    ctx: Ctx | None = None

    def work() -> Any:
        nonlocal ctx
        creates = getattr(args, "creates", False)
        ctx = Ctx(load(args.data_dir, args.env_file), creates, getattr(args, "new_store", False))
        return args.handler(args, ctx)

    try:
        return failures.run(
            "motcua-server", work, lambda result: output.emit(result, args.json, LABELS), None
        )
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
