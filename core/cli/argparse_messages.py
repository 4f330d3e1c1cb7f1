"""argparse's own messages (usage, help and parsing errors) in the user's language.

argparse looks its messages up through the module-level ``_`` and ``ngettext`` it imported
from gettext; pointing them at our catalogues translates every message it prints, with
no copy of argparse. The msgids below are argparse's, listed so that Babel extracts them
into core's catalogue (Python 3.11 to 3.13 share them).
"""

from __future__ import annotations

import argparse

from core.domain.errors import N_
from core.i18n import _

MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("expected %s argument"),
    N_("expected %s arguments"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("ignored explicit argument %r"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("unexpected option string: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("subcommands"),
)


def _translate(message: str | None) -> str | None:
    return _(message) if message else message


def _translate_plural(singular: str, plural: str, count: int) -> str:
    return _(singular if count == 1 else plural)


def install() -> None:
    """Route argparse's messages through the current language (chosen before parsing)."""
    argparse._ = _translate  # type: ignore[attr-defined]
    argparse.ngettext = _translate_plural  # type: ignore[attr-defined]
