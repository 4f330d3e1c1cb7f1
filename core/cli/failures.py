"""Whatever goes wrong in a command becomes one clear line and an exit code.

The core raises `MotcuaError`s with translatable messages. The rest — a damaged SQLite
file, a full disk, a read-only folder, a database that cannot be reached — is named here
in plain words of the user's language, without the library's English text (that goes to
the log). Anything else is a defect: one line pointing at the log, exit 70.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from core.domain.errors import N_, MotcuaError, StoreError, ValidationError
from core.i18n import describe, tr
from core.storage.db import store_error

log = logging.getLogger("motcua.cli")

EXIT_INTERRUPTED = 130
EXIT_DEFECT = 70  # EX_SOFTWARE: a fault of ours, not of the input
ENV_DEBUG = "MOTCUA_DEBUG"

_OS_TEXTS: dict[int, str] = {
    errno.ENOSPC: N_("The disk is full: nothing was saved. Free some space."),
    errno.EDQUOT: N_("The disk quota is used up: nothing was saved."),
    errno.EACCES: N_("Permission denied on {path}."),
    errno.EPERM: N_("Permission denied on {path}."),
    errno.EROFS: N_("{path} is on a read-only disk: nothing was saved."),
    errno.ENOENT: N_("No such file or folder: {path}."),
    errno.EISDIR: N_("{path} is a folder, not a file."),
    errno.ENOTDIR: N_("{path} is not a folder."),
    errno.EIO: N_("The disk failed to read or write {path}."),
}


def explain(exc: BaseException) -> MotcuaError | None:
    """The refusal a user should read for `exc`, or None for a defect of ours."""
    if isinstance(exc, MotcuaError):
        return exc
    if isinstance(exc, DBAPIError | sqlite3.DatabaseError):
        return store_error(exc)
    if isinstance(exc, UnicodeDecodeError):
        return ValidationError(N_("A file is not valid UTF-8 text."))
    if isinstance(exc, OSError):
        return _os(exc)
    return None


def _os(exc: OSError) -> MotcuaError:
    path = exc.filename or ""
    message = _OS_TEXTS.get(exc.errno or 0)
    if message is None:
        return StoreError(N_("Cannot read or write {path}."), path=path)
    return StoreError(message, path=path) if "{path}" in message else StoreError(message)


def run(
    prog: str, work: Callable[[], Any], show: Callable[[Any], None], log_file: Path | None
) -> int:
    """Run one command: its result shown, or one line on stderr and an exit code."""
    try:
        show(work())
    except KeyboardInterrupt:
        print(f"{prog}: {tr(N_('interrupted'))}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: nothing more to say, and nothing lost.
        sys.stderr.close()
        return 0
    except Exception as exc:
        return _refuse(prog, exc, log_file)
    return 0


def _refuse(prog: str, exc: Exception, log_file: Path | None) -> int:
    refusal = explain(exc)
    if refusal is not None:
        log.info("%s refused: %s (%r)", prog, refusal, exc)
        print(f"{prog}: {describe(refusal)}", file=sys.stderr)
        return refusal.exit_code
    if os.environ.get(ENV_DEBUG):
        raise exc
    log.exception("%s failed unexpectedly", prog)
    if log_file is not None:
        text = tr(
            N_("Unexpected error ({kind}); the details are in {path}"),
            kind=type(exc).__name__,
            path=str(log_file),
        )
    else:
        text = tr(
            N_("Unexpected error ({kind}); run again with MOTCUA_DEBUG=1 for the details"),
            kind=type(exc).__name__,
        )
    print(f"{prog}: {text}", file=sys.stderr)
    return EXIT_DEFECT
