"""Every subcommand and every argument of both commands says what it is, in Vietnamese
first: branch IT read ``--help`` before the manual."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from core.cli.parser import Parser, choose_language
from core.i18n import _, set_language
from desktop.cli.main import build_parser as desk_parser
from sync_server.cli import build_parser as server_parser


def _parsers(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def _texts(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, str | None]]:
    yield path, parser.description
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        yield f"{path} {'/'.join(action.option_strings) or action.dest}", action.help


@pytest.mark.parametrize("build", [desk_parser, server_parser], ids=["motcua", "motcua-server"])
def test_every_command_and_argument_is_explained_in_vietnamese(build: type[Parser]) -> None:
    choose_language(["--lang", "vi"])  # as the commands do: argparse's own texts too
    try:
        root = build()
        texts = [t for path, p in _parsers(root, root.prog) for t in _texts(p, path)]
        unexplained = [where for where, text in texts if not text]
        assert unexplained == []
        english = [(where, text) for where, text in texts if text and _(text) == text]
        assert english == []
    finally:
        set_language("vi")
