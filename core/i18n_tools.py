"""Catalogue upkeep: `python -m core.i18n_tools extract|update|compile|check [PACKAGE ...]`.

Each package (core, hardware, desktop, sync_server) owns ``<package>/locale``.
update   extract N_()/_()/tr() msgids of each package and merge them into its .po files
         (new msgids appear untranslated; vanished ones are dropped)
compile  build .mo files next to the .po files
check    fail if any msgid of a package is missing or untranslated in its catalogues
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from core.i18n import DOMAIN, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
# A catalogue per owner: desktop/cli (the `motcua` command) keeps its own, apart from the app.
PACKAGES = ("core", "hardware", "desktop/cli", "desktop", "sync_server")
NESTED = {"desktop": ["cli/**.py"]}
KEYWORDS = {"N_": None, "_": None, "tr": None}
# Command-line modules: their parsers' help texts and descriptions are msgids too,
# translated when printed (core.cli.parser), so argparse calls need no N_() wrapping.
CLI_FILES = {"desktop/cli": ["**.py"], "sync_server": ["cli.py", "cli_*.py"]}
CLI_KEYWORDS = ("help", "description")
CLI_METHOD = "core.i18n_tools:extract_cli"


def _methods(package: str) -> list[tuple[str, str]]:
    ignored = [(pattern, "ignore") for pattern in NESTED.get(package, [])]
    cli = [(pattern, CLI_METHOD) for pattern in CLI_FILES.get(package, [])]
    return ignored + cli + [("**.py", "python")]


def extract_cli(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, Any, Any, Any]]:
    """Babel extractor for CLI modules: the usual keywords, plus the string constants
    given as ``help=`` or ``description=`` to any call."""
    source = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            value = keyword.value
            text = value.value if isinstance(value, ast.Constant) else None
            if keyword.arg in CLI_KEYWORDS and isinstance(text, str) and text:
                yield value.lineno, "", text, []


def extract(package: str) -> Catalog:
    catalog = Catalog(project="Một Cửa", domain=DOMAIN)
    folder = ROOT / package
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(folder), _methods(package), keywords=KEYWORDS
    ):
        if isinstance(message, str) and message:
            catalog.add(
                message, locations=[(f"{package}/{filename}", lineno)], auto_comments=comments
            )
    return catalog


def po_path(package: str, language: str) -> Path:
    return ROOT / package / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(package: str, language: str) -> Catalog:
    path = po_path(package, language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN)
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def update(package: str) -> None:
    template = extract(package)
    for language in LANGUAGES:
        catalog = read(package, language)
        catalog.update(template, no_fuzzy_matching=True)
        path = po_path(package, language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True, omit_header=False)


def compile_package(package: str) -> None:
    for language in LANGUAGES:
        path = po_path(package, language)
        if path.exists():
            _write_atomically(path.with_suffix(".mo"), read(package, language))


def _write_atomically(mo: Path, catalog: Catalog) -> None:
    """Compiled beside and renamed over: a command started meanwhile (a bundle is built
    while the tests run) reads the old catalogue or the new, never half of one."""
    partial = mo.with_name(f".{mo.name}.{os.getpid()}.partial")
    with partial.open("wb") as handle:
        write_mo(handle, catalog)
    os.replace(partial, mo)


def missing(package: str) -> dict[str, list[str]]:
    """Per language, the msgids of the package that its catalogue lacks or leaves empty."""
    ids = [str(m.id) for m in extract(package) if m.id]
    result: dict[str, list[str]] = {}
    for language in LANGUAGES:
        catalog = read(package, language)
        gaps = [i for i in ids if catalog.get(i) is None or not catalog.get(i).string]  # type: ignore[union-attr]
        if gaps:
            result[language] = gaps
    return result


def packages_with_code(names: list[str]) -> list[str]:
    chosen = names or list(PACKAGES)
    return [p for p in chosen if (ROOT / p).is_dir()]


def main(argv: list[str]) -> int:
    verb, names = (argv[0], argv[1:]) if argv else ("check", [])
    failed = False
    for package in packages_with_code(names):
        if verb == "update":
            update(package)
        elif verb == "compile":
            compile_package(package)
        elif verb == "check":
            for language, ids in missing(package).items():
                failed = True
                print(f"{package} [{language}]: {len(ids)} untranslated", *ids[:20], sep="\n  ")
        else:
            print(__doc__)
            return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
