"""What every `motcua` subcommand shares: its context, output and error handling.

A command module exposes ``register(subparsers)``; each subcommand sets ``handler`` with
``parser.set_defaults(handler=fn)`` where ``fn(args, ctx) -> object``. The returned object
(a dict, a list of dicts, or a string) is printed as JSON with ``--json`` and as a table
otherwise (``core.cli.output``). Help texts are English msgids, translated when printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from core.cli import output
from core.domain.errors import N_
from core.i18n import tr

from .for_people import for_people
from .labels import LABELS

Handler = Callable[[argparse.Namespace, "Context"], Any]


def default_data_dir() -> Path:
    env = os.environ.get("MOTCUA_DATA_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("motcua", "MotCua"))


@dataclass
class Context:
    data_dir: Path
    as_json: bool
    _services: Any = field(default=None, repr=False)

    @property
    def services(self) -> Any:
        """The branch services over the data dir, opened on first use."""
        if self._services is None:
            from core.services.branch import Branch

            self._services = Branch.open(self.data_dir, prompt=ask_passphrase)
        return self._services

    def acting_user(self) -> tuple[str, str]:
        return os.environ.get("MOTCUA_USER", ""), os.environ.get("MOTCUA_PASSWORD", "")

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


def ask_passphrase(label: str = N_("Branch passphrase: ")) -> str | None:
    """The branch passphrase typed at the terminal (not echoed); None without one."""
    if not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass(tr(label)) or None


def emit(result: Any, as_json: bool) -> None:
    output.emit(result if as_json else for_people(result), as_json, LABELS)


def global_options(parser: argparse.ArgumentParser, repeated: bool) -> None:
    """`--data-dir`, `--json`, `--lang`: on the top parser, and repeated on every
    subcommand with suppressed defaults so they may come after it too."""
    unset = argparse.SUPPRESS if repeated else None
    parser.add_argument("--data-dir", type=Path, default=unset, help="store location")
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if repeated else False,
        help="print one JSON document",
    )
    parser.add_argument("--lang", choices=["vi", "en"], default=unset, help="message language")
