"""The desktop's rotating log file, in its data dir, for `doctor` and support to read.

The app and the `motcua` command both write it: one line per record, ISO time first.
Five files of 1 MiB at most; readable by the owner only (it names users and dossiers).
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_DIR = "logs"
LOG_NAME = "motcua.log"
MAX_BYTES = 1 << 20
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def log_path(data_dir: Path) -> Path:
    return data_dir / LOG_DIR / LOG_NAME


def attach(data_dir: Path, level: int = logging.INFO, *, desk_only: bool = True) -> Path | None:
    """Send the root logger's records to the data dir's log file too. Returns its path,
    or None when the data dir holds no desk (nothing is created for a log: `restore` and
    `init` want their folder new or empty, and a mistyped --data-dir gets no litter) or
    cannot be written (a read-only copy): logging must never stop a command. The app,
    whose first start makes its desk, passes `desk_only` False: any existing folder."""
    from core.services.branch import DB_NAME

    if not data_dir.is_dir():
        return None
    if desk_only and not (data_dir / DB_NAME).is_file() and not (data_dir / LOG_DIR).is_dir():
        return None
    path = log_path(data_dir)
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        handler = RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return path
