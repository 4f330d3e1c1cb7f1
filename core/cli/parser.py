"""The command-line parser both commands use.

- Help, usage and parsing errors speak the chosen language: the language is read from
  the arguments (``--lang``) before the parser is built, argparse's own messages go
  through our catalogues (``argparse_messages``) and every help text is translated when
  printed (commands write English msgids, extracted by ``core.i18n_tools``).
- The global options (``--json``, ``--data-dir``, ``--lang``) are accepted before or
  after the subcommand: every subcommand's parser repeats them with a suppressed default,
  so one given after the subcommand overrides the top-level default and one left out
  does not.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from core.domain.errors import N_
from core.i18n import _, set_language, tr

from . import argparse_messages

GlobalOptions = Callable[["Parser", bool], None]


def choose_language(argv: Sequence[str]) -> str:
    """The language asked for by ``--lang X`` or ``--lang=X`` anywhere in `argv` (else
    MOTCUA_LANG, else Vietnamese), chosen now so that help and errors speak it."""
    wanted: str | None = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(argv):
            wanted = argv[index + 1]
        elif arg.startswith("--lang="):
            wanted = arg.split("=", 1)[1]
    language = set_language(wanted)
    argparse_messages.install()
    return language


class HelpFormatter(argparse.HelpFormatter):
    """Translates help texts and descriptions as it prints them."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return _(action.help) if action.help else action.help

    def add_text(self, text: str | None) -> None:
        super().add_text(_(text) if text and text is not argparse.SUPPRESS else text)


class Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subparsers that inherit the formatter and repeat the global options."""

    global_options: GlobalOptions | None = None

    def add_parser(self, name: str, **kwargs: Any) -> Parser:
        kwargs.setdefault("formatter_class", HelpFormatter)
        if "help" in kwargs:
            kwargs.setdefault("description", kwargs["help"])
        parser: Parser = super().add_parser(name, **kwargs)
        parser.global_options = self.global_options
        if self.global_options is not None:
            self.global_options(parser, True)
        return parser


class Parser(argparse.ArgumentParser):
    global_options: GlobalOptions | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", Subcommands)

    def add_subparsers(self, **kwargs: Any) -> Subcommands:
        action = super().add_subparsers(**kwargs)
        assert isinstance(action, Subcommands)  # registered in __init__
        action.global_options = self.global_options
        return action


def root_parser(prog: str, description: str, global_options: GlobalOptions) -> Parser:
    """The top-level parser of a command, with its global options."""
    parser = Parser(prog=prog, description=description)
    parser.global_options = global_options
    global_options(parser, False)
    return parser


def day(text: str) -> date:
    """An argument that is a date: dd/mm/yyyy as people write it, or yyyy-mm-dd."""
    for layout in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(tr(N_("not a date (dd/mm/yyyy): {value}"), value=text))


def port(text: str) -> int:
    """An argument that is a TCP port: 1 to 65535."""
    if text.strip().isdigit() and 0 < int(text) < 65536:
        return int(text)
    raise argparse.ArgumentTypeError(tr(N_("not a port (1 to 65535): {value}"), value=text))


def seconds(text: str) -> float:
    """An argument that is a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if 0 < value < 86_400:  # NaN fails both comparisons
        return value
    raise argparse.ArgumentTypeError(tr(N_("not a number of seconds above 0: {value}"), value=text))
