"""Docs kept honest: the README's commands exist, docs/cli.md matches the parser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from desktop.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent


def test_readme_first_screen_gives_the_two_commands() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:25])
    assert "make run" in first_screen and "make test" in first_screen
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("install", "run", "test", "lint", "bench"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_documented_command_exists() -> None:
    """Each `motcua a b …` row of docs/cli.md parses (with its required options filled)."""
    parser = build_parser()
    commands = re.findall(
        r"^\| `motcua ([a-z\- ]+?)(?: [A-Z`\[-]|`)",
        (ROOT / "docs/cli.md").read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert len(commands) >= 15
    subparsers = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in commands:
        words = command.split()
        node = subparsers[words[0]]
        for word in words[1:]:
            node = node._subparsers._group_actions[0].choices[word]  # type: ignore[union-attr]
        assert node.get_default("handler") is not None or node._subparsers, command


def test_documented_actions_are_the_workflow_actions() -> None:
    from core.domain.workflow import Action

    documented = set(
        re.findall(
            r"^\| `([a-z\-]+)` \|", (ROOT / "docs/cli.md").read_text(encoding="utf-8"), re.MULTILINE
        )
    )
    assert documented == {a.value for a in Action if a is not Action.RECEIVE}


def test_security_doc_lists_the_authority_table() -> None:
    """docs/security.md shows every rule of core.domain.authority.RULES, as it is."""
    from core.domain import authority

    doc = (ROOT / "docs/security.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([a-z_.-]+)` \| ([a-z-]+) \| ([^|]+) \| (yes|no) \| `(\w+)` \| `([a-z-]+)` "
        r"\| (yes|no) \|$",
        doc,
        re.MULTILINE,
    )
    documented = {row[0]: row[1:] for row in rows}
    expected = {}
    for type_, rule in authority.RULES.items():
        scopes = " or ".join(sorted("`*`" if s == "global" else "branch" for s in rule.scopes))
        dossier = "yes" if rule.dossier else "no"
        proof = "yes" if rule.proof else "no"
        expected[type_] = (
            rule.author.value,
            scopes,
            dossier,
            rule.payload.__name__,
            rule.name,
            proof,
        )
    assert documented == expected


def _leaf_commands(parser: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable command of a parser, as its words."""
    if parser._subparsers is None:
        return [prefix]
    found: list[tuple[str, ...]] = []
    for action in parser._subparsers._group_actions:
        for name, child in action.choices.items():
            found += _leaf_commands(child, (*prefix, name))
    return found


def _documented(doc: str, program: str) -> set[tuple[str, ...]]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    spans = re.findall(rf"`{program} ((?:[a-z][a-z0-9\-]* ?)+)", text)
    return {tuple(span.split()) for span in spans}


def _check_documented(parser: Any, doc: str, program: str) -> None:
    documented = _documented(doc, program)
    missing = [
        " ".join(words)
        for words in _leaf_commands(parser)
        if not any(d[: len(words)] == words for d in documented)
    ]
    assert not missing, f"{doc} does not document: {missing}"


def test_every_motcua_command_is_documented() -> None:
    _check_documented(build_parser(), "docs/cli.md", "motcua")


def test_every_server_command_is_documented() -> None:
    from sync_server.cli import build_parser as server_parser

    _check_documented(server_parser(), "docs/server.md", "motcua-server")


def test_every_server_documented_command_exists() -> None:
    from sync_server.cli import build_parser as server_parser

    commands = set(_leaf_commands(server_parser()))
    for words in _documented("docs/server.md", "motcua-server"):
        assert any(words[: len(c)] == c for c in commands), words


def test_exit_codes_are_documented() -> None:
    """Every exit code the commands use is in the exit-code tables, and nothing more."""
    from core.cli.failures import EXIT_DEFECT, EXIT_INTERRUPTED
    from core.domain import errors
    from core.ports import errors as device_errors
    from core.sync import errors as sync_errors

    codes = {0, 2, EXIT_DEFECT, EXIT_INTERRUPTED}
    codes |= {
        cls.exit_code
        for module in (errors, sync_errors, device_errors)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, errors.MotcuaError)
    }
    for doc in ("docs/cli.md", "docs/server.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        table = text[text.index("## Exit codes") :]
        table = table[: table.index("\n## ", 4)] if "\n## " in table[4:] else table
        documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
        assert documented == codes, (doc, documented ^ codes)
