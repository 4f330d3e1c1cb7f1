"""Entry point of the `motcua` command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from core.i18n import set_language

from .framework import Context, default_data_dir, run_handler

# Each module registers its subcommands; see framework.py for the convention.
COMMAND_MODULES = (
    "desktop.cli.commands_branch",
    "desktop.cli.commands_dossier",
    "desktop.cli.commands_calendar",
    "desktop.cli.commands_reports",
    "desktop.cli.commands_hardware",
    "desktop.cli.commands_print",
    "desktop.cli.commands_sync",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motcua",
        description="Một Cửa — one-stop counter workflow (branch IT and scripting interface)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="store location")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--lang", choices=["vi", "en"], default=None, help="message language")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_language(args.lang)
    ctx = Context(data_dir=args.data_dir or default_data_dir(), as_json=args.json)
    return run_handler(args.handler, args, ctx)


if __name__ == "__main__":
    sys.exit(main())
