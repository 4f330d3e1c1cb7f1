"""What a desk knows of its updates, in ``<data dir>/updates/state.json``.

Layout of ``<data dir>/updates/``::

    state.json        this file
    metadata/         the TUF metadata this desk trusts (root.json first)
    downloads/        verified archives, deleted once unpacked
    versions/<v>/     unpacked bundles: the current one and the previous one
    started/<v>       written by version v when it reaches its login screen

The installed program (``/opt/motcua``, ``C:\\Program Files\\Mot Cua``) is never written:
versions of its own live in the user's data folder, and the installed one is the
fallback of last resort. Only the standard library is used (the launcher reads this).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


@dataclass
class UpdateState:
    current: str | None = None  # the version started; None: the installed program
    previous: str | None = None  # where a failed start goes back to; None: installed
    confirmed: bool = True  # the current version reached its login screen once
    starts: int = 0  # starts of the current version without reaching it
    staged: str | None = None  # unpacked and verified, switched to at the next start
    held: str = ""  # why the staged version waits for a confirmation ("" = it does not)
    pinned: str | None = None  # branch IT keeps this version
    failed: list[str] = field(default_factory=list)  # rolled back from: never offered again
    rolled_back: str = ""  # the last rollback, said once by `motcua update status`
    download: dict[str, Any] = field(default_factory=dict)  # {"version", "done", "total"}
    checked_at: str = ""  # ISO moment of the last check


def updates_dir(data_dir: Path) -> Path:
    return data_dir / "updates"


def versions_dir(data_dir: Path) -> Path:
    return updates_dir(data_dir) / "versions"


def marker(data_dir: Path, version: str) -> Path:
    return updates_dir(data_dir) / "started" / version


def load(data_dir: Path) -> UpdateState:
    """The saved state; a missing or unreadable file is a fresh state (the installed
    program runs), never a reason not to start."""
    try:
        raw = json.loads((updates_dir(data_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UpdateState()
    known = {f.name for f in fields(UpdateState)}
    if not isinstance(raw, dict):
        return UpdateState()
    try:
        return UpdateState(**{k: v for k, v in raw.items() if k in known})
    except TypeError:
        return UpdateState()


def save(data_dir: Path, state: UpdateState) -> None:
    """Written whole and renamed: a crash leaves the old state or the new, never half."""
    folder = updates_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".state-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(asdict(state), out, indent=2, sort_keys=True)
        os.replace(temp, folder / STATE_FILE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
