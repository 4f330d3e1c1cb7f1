"""`motcua backup --out FILE`, `motcua restore FILE --data-dir NEW`.

The passphrase comes from ``MOTCUA_BACKUP_PASSPHRASE`` (never the command line). A
restored desk has a new device identity and must be enrolled again; the events its old
identity never sent to the server are exported beside it and pushed after enrolment.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.domain.errors import N_, ValidationError
from core.i18n import tr
from core.services import backup as backups
from core.services.branch import Branch
from core.storage.db import on_read_only_disk

from .framework import Context, ask_passphrase


def register(sub: Any) -> None:
    p = sub.add_parser(
        "backup",
        help="an encrypted backup of the store and scans, taken while the desk works "
        "(passphrase in MOTCUA_BACKUP_PASSPHRASE)",
    )
    p.add_argument("--out", required=True, type=Path, help="the backup file to write (new)")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="restore a backup into a new data folder, with a new device identity "
        "(then run 'motcua enroll')",
    )
    p.add_argument("file", type=Path, help="the backup file")
    p.set_defaults(handler=cmd_restore)


def cmd_backup(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    secret = backups.passphrase(new=True)
    if not on_read_only_disk(ctx.data_dir):
        return backups.backup(ctx.services, args.out, secret).as_dict()
    # A disk gone read-only: the store cannot be opened where it is; its data can be saved.
    rescued = backups.rescue(ctx.data_dir, args.out, secret, ask_passphrase).as_dict()
    rescued["note"] = tr(
        N_(
            "{path} is on a read-only disk: the backup was made from a copy of the desk's "
            "files beside it, removed again. Restore it on a sound disk ('motcua restore')."
        ),
        path=str(ctx.data_dir),
    )
    return rescued


def cmd_restore(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if getattr(args, "data_dir", None) is None:
        raise ValidationError(N_("Name the new data folder with --data-dir"))
    secret = backups.passphrase()
    restored = backups.restore(args.file, ctx.data_dir, secret)
    branch = Branch.open(ctx.data_dir)
    try:
        unsent, export = _unsent(branch)
    finally:
        branch.close()
    result: dict[str, Any] = {
        "data_dir": str(restored.data_dir),
        "unit_code": restored.branch,
        "device_id": restored.device_id,
        "old_device_id": restored.old_device_id,
        "events": restored.events,
        "dossiers": restored.dossiers,
        "blobs": restored.blobs,
        "unsent_events": unsent,
        "next": tr(
            N_(
                "This desk has a new device identity: run 'motcua enroll --server URL --code "
                "CODE' with a new code from the central admin, then 'motcua sync'"
            )
        ),
    }
    if unsent:
        result["unsent_export"] = str(export)
        result["warning"] = tr(
            N_(
                "{count} events of the old desk never reached the server: they are kept in "
                "this store and are sent at the first sync after enrolment (a copy is in "
                "{path}). Revoke the old desk at the centre only after that sync."
            ),
            count=unsent,
            path=str(export),
        )
    return result


def _unsent(branch: Branch) -> tuple[int, Path | None]:
    """The events the server never acknowledged, exported as the Settings screen does."""
    from core.services.sync import LocalReplica

    count = LocalReplica(branch).pending_event_count()
    if not count:
        return 0, None
    from desktop.sync_status import export_unsent

    path, _ = export_unsent(branch)
    return count, path
