"""Entry point of the `motcua` command."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from core import __version__, logfile
from core.cli import failures
from core.cli.parser import Parser, choose_language, root_parser
from core.domain.errors import N_

from .framework import Context, default_data_dir, emit, global_options

# Each module registers its subcommands; see framework.py for the convention.
COMMAND_MODULES = (
    "desktop.cli.commands_branch",
    "desktop.cli.commands_dossier",
    "desktop.cli.commands_calendar",
    "desktop.cli.commands_reports",
    "desktop.cli.commands_hardware",
    "desktop.cli.commands_print",
    "desktop.cli.commands_sync",
    "desktop.cli.commands_transfer",
    "desktop.cli.commands_online",
    "desktop.cli.commands_doctor",
    "desktop.cli.commands_backup",
    "desktop.cli.commands_store",
    "desktop.cli.commands_update",
)


def build_parser() -> Parser:
    parser = root_parser(
        "motcua",
        N_("Một Cửa — one-stop counter workflow (branch IT and scripting interface)"),
        global_options,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="show the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    choose_language(arguments)
    args = build_parser().parse_args(arguments)
    ctx = Context(data_dir=args.data_dir or default_data_dir(), as_json=args.json)
    logging.raiseExceptions = False  # a log write on a full disk must not print its own trace
    log_file = logfile.attach(ctx.data_dir)
    if log_file is None:  # no log file: keep library warnings off the one-line answer
        logging.getLogger().addHandler(logging.NullHandler())
    try:
        return failures.run(
            "motcua",
            lambda: args.handler(args, ctx),
            lambda result: emit(result, ctx.as_json),
            log_file,
        )
    finally:
        try:
            ctx.close()
        except Exception:  # closing a broken store must not turn a refusal into a crash
            failures.log.warning("closing the store failed", exc_info=True)


if __name__ == "__main__":
    sys.exit(main())
