"""Catalogue upkeep: `python -m core.i18n_tools extract|update|compile|check [PACKAGE ...]`.

Each package (core, hardware, desktop, sync_server) owns ``<package>/locale``.
update   extract N_()/_()/tr() msgids of each package and merge them into its .po files
         (new msgids appear untranslated; vanished ones are dropped)
compile  build .mo files next to the .po files
check    fail if any msgid of a package is missing or untranslated in its catalogues
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from core.i18n import DOMAIN, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
# A catalogue per owner: desktop/cli (the `motcua` command) keeps its own, apart from the app.
PACKAGES = ("core", "hardware", "desktop/cli", "desktop", "sync_server")
NESTED = {"desktop": ["cli/**.py"]}
KEYWORDS = {"N_": None, "_": None, "tr": None}


def _methods(package: str) -> list[tuple[str, str]]:
    return [(pattern, "ignore") for pattern in NESTED.get(package, [])] + [("**.py", "python")]


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
            with path.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, read(package, language))


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
