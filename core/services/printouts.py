"""Printed forms kept as files (slips 01, 02, 06…): where, and for how long.

A plain desk keeps each printed form under ``DATA_DIR/slips``, to print again or send
on. An encrypted desk must not leave citizens' names in the clear on its disk: its forms
go to a session folder — on Linux under ``$XDG_RUNTIME_DIR``, a memory-backed folder of
the logged-in user, else ``DATA_DIR/slips-session`` — emptied when the application
closes and again at its next start (after a crash). A form can always be printed again
from its dossier. ``store encrypt`` removes the forms a plain desk kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from core.sync import sealed

from . import storekey

SLIP_DIR = "slips"  # a plain desk's printed forms
SESSION_DIR = "slips-session"  # an encrypted desk's, where there is no runtime folder
EXPORT_DIR = "exports"  # events exported for the centre (files meant to leave the desk)
RUNTIME_ENV = "XDG_RUNTIME_DIR"


def folder(data_dir: Path) -> Path:
    """Where this desk keeps the forms it prints (see the module's docstring)."""
    if not storekey.is_encrypted(data_dir):
        return data_dir / SLIP_DIR
    runtime = os.environ.get(RUNTIME_ENV, "")
    if runtime and Path(runtime).is_dir():
        tag = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
        return Path(runtime) / "motcua" / tag
    return data_dir / SESSION_DIR


def save(data_dir: Path, name: str, pdf: bytes) -> Path:
    """Keep a printed form as `name` (readable by this user only); returns its path."""
    target = folder(data_dir)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = target / Path(name).name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pdf)
    return path


def clear_session(data_dir: Path) -> int:
    """Remove an encrypted desk's session forms (at close, and at start after a crash);
    a plain desk's forms stay. Returns the files removed."""
    if not storekey.is_encrypted(data_dir):
        return 0
    return _remove(folder(data_dir)) + _remove(data_dir / SESSION_DIR)


def remove_plain(data_dir: Path) -> int:
    """Remove the forms a plain desk kept (``store encrypt``: they hold citizens' names
    in the clear and can be printed again). Returns the files removed."""
    return _remove(data_dir / SLIP_DIR)


def plain_leftovers(data_dir: Path) -> list[Path]:
    """Files an encrypted desk holds in the clear under its folder: forms kept before
    it was encrypted, exported events not yet taken away."""
    found: list[Path] = []
    for name in (SLIP_DIR, EXPORT_DIR):
        root = data_dir / name
        if root.is_dir():
            found += sorted(p for p in root.rglob("*") if p.is_file())
    return found


def _remove(root: Path) -> int:
    if not root.is_dir():
        return 0
    files = [p for p in root.rglob("*") if p.is_file()]
    for path in files:
        sealed.scrub(path)  # best effort on flash and copy-on-write disks
    shutil.rmtree(root, ignore_errors=True)
    return len(files)
