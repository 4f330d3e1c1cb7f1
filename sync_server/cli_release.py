"""``motcua-server release init|publish|list|refresh``: the desktops' signed updates.

The root and targets keys are written to the admin's key folder (``--keys DIR``) and
never to the server: keep that folder offline (a USB stick in a safe) and bring it only
to publish. The snapshot and timestamp keys stay in the server's data folder, so the
server keeps the repository's signatures fresh by itself (``sync_server.updates``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.domain.errors import N_
from core.i18n import tr
from core.update import repository

from .updates import repository_dir

if TYPE_CHECKING:
    from .cli import Ctx

LABELS = {
    "repository": N_("Repository"),
    "root": N_("Root metadata"),
    "offline_keys": N_("Offline keys"),
    "version": N_("Version"),
    "platform": N_("Platform"),
    "target": N_("Target"),
    "size": N_("Size (bytes)"),
    "releases": N_("Releases"),
    "expires": N_("Expires"),
    "resigned": N_("Re-signed"),
    "next": N_("Next"),
}


def register(sub: Any) -> None:
    from .cli import LABELS as SHOWN

    for key, text in LABELS.items():
        SHOWN.setdefault(key, text)
    release = sub.add_parser("release", help="signed desktop updates (TUF)").add_subparsers(
        dest="verb", required=True
    )
    p = release.add_parser(
        "init", help="create the update keys and repository (root and targets keys into --keys)"
    )
    p.add_argument("--keys", required=True, type=Path, help="an empty folder for the offline keys")
    p.set_defaults(handler=cmd_init)
    p = release.add_parser("publish", help="sign and publish a desktop bundle as a release")
    p.add_argument("archive", type=Path, help="the bundle: a folder, .tar.gz or .zip")
    p.add_argument("--version", required=True, help="the release's version, X.Y.Z")
    p.add_argument("--keys", required=True, type=Path, help="the offline keys folder")
    p.add_argument(
        "--platform", default=None, help="system and processor, e.g. linux-x86_64 (default: this)"
    )
    p.set_defaults(handler=cmd_publish)
    p = release.add_parser("list", help="the releases published and when signatures expire")
    p.set_defaults(handler=cmd_list)
    p = release.add_parser("refresh", help="sign again what expires soon")
    p.add_argument(
        "--keys", default=None, type=Path, help="the offline keys folder: root and targets too"
    )
    p.add_argument("--force", action="store_true", help="sign again even what is not due")
    p.set_defaults(handler=cmd_refresh)


def cmd_init(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    result = repository.init(repository_dir(ctx.settings), args.keys)
    result["next"] = tr(
        N_(
            "Move {keys} off this server and keep it safe; give each desk {root} "
            "('motcua update trust')"
        ),
        keys=str(args.keys),
        root=result["root"],
    )
    return result


def cmd_publish(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return repository.publish(
        repository_dir(ctx.settings), args.archive, args.version, args.keys, args.platform
    )


def cmd_list(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    return repository.describe(repository_dir(ctx.settings))


def cmd_refresh(args: argparse.Namespace, ctx: Ctx) -> dict[str, Any]:
    done = repository.refresh(repository_dir(ctx.settings), args.keys, force=args.force)
    return {"resigned": ", ".join(done)}
