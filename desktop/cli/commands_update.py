"""`motcua update status|check|install|pin|unpin|trust`: the desk's signed self-update.

Releases come from the sync server's TUF repository and are verified against the
centre's root this desk trusts (``motcua update trust``). A verified release is staged
and starts at the next start; the previous version is kept and comes back by itself if
the new one never reaches its login screen (``core.update``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.domain.errors import N_
from core.update import client, service

from .framework import Context
from .labels import LABELS

UPDATE_LABELS = {
    "running": N_("Running"),
    "previous": N_("Previous version"),
    "staged": N_("Staged"),
    "pinned": N_("Pinned"),
    "checked_at": N_("Last check"),
    "held": N_("Held"),
    "downloading": N_("Downloading"),
    "failed": N_("Failed to start"),
    "rolled_back": N_("Rolled back"),
    "available": N_("Available"),
    "trusted_root": N_("Trusted root"),
    "root_version": N_("Root version"),
}


def register(sub: Any) -> None:
    for key, text in UPDATE_LABELS.items():
        LABELS.setdefault(key, text)
    update = sub.add_parser("update", help="signed updates of this desk").add_subparsers(
        dest="verb", required=True
    )
    p = update.add_parser("status", help="the running, staged and pinned versions")
    p.set_defaults(handler=cmd_status)
    p = update.add_parser(
        "check", help="ask the server for a newer release; download, verify and stage it"
    )
    p.add_argument("--server", default=None, help="server URL (default: the enrolled one)")
    p.add_argument("--no-download", action="store_true", help="only say what is available")
    p.add_argument("--force", action="store_true", help="stage it even with old unsynced events")
    p.add_argument("--progress", action="store_true", help="print progress on stderr")
    p.set_defaults(handler=cmd_check)
    p = update.add_parser("install", help="let a held staged version start at the next start")
    p.add_argument(
        "--force", action="store_true", help="even with unsynced events older than 3 days"
    )
    p.set_defaults(handler=cmd_install)
    p = update.add_parser("pin", help="keep this desk at one version")
    p.add_argument("version", help="the version to keep, X.Y.Z")
    p.set_defaults(handler=cmd_pin)
    p = update.add_parser("unpin", help="follow the newest release again")
    p.set_defaults(handler=cmd_unpin)
    p = update.add_parser("trust", help="trust the centre's update root (root.json)")
    p.add_argument("root", type=Path, help="the root.json the central admin gave")
    p.set_defaults(handler=cmd_trust)


def cmd_status(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return service.status(ctx.data_dir)


def _print_progress(done: int, total: int) -> None:
    print(f"{done}/{total}", file=sys.stderr)


def cmd_check(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    from core.services.sync import server_url

    branch = ctx.services
    return service.check_and_stage(
        ctx.data_dir,
        server_url(branch, args.server),
        branch,
        download=not args.no_download,
        force=args.force,
        progress=_print_progress if args.progress else None,
    )


def cmd_install(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return service.release_hold(ctx.data_dir, ctx.services, args.force)


def cmd_pin(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return service.pin(ctx.data_dir, args.version)


def cmd_unpin(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return service.pin(ctx.data_dir, None)


def cmd_trust(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return client.trust(ctx.data_dir, args.root)
