"""Catalogue upkeep: `python -m core.i18n_tools extract|update|compile|check`.

extract  scan core, hardware, desktop, sync_server for N_()/_()/tr() into motcua.pot
update   merge the template into every language's .po (new msgids appear untranslated)
compile  build .mo files next to the .po files
check    fail if any msgid in the code is missing or untranslated in a catalogue
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from core.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "hardware", "desktop", "sync_server")
KEYWORDS = {"N_": None, "_": None, "tr": None}
METHODS = [("**.py", "python")]


def extract() -> Catalog:
    catalog = Catalog(project="Một Cửa", domain=DOMAIN)
    for package in PACKAGES:
        folder = ROOT / package
        if not folder.is_dir():
            continue
        for filename, lineno, message, comments, _context in extract_from_dir(
            str(folder), METHODS, keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                catalog.add(message, locations=[(f"{package}/{filename}", lineno)], auto_comments=comments)
    return catalog


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN)
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def update() -> None:
    template = extract()
    for language in LANGUAGES:
        catalog = read(language)
        catalog.update(template, no_fuzzy_matching=True)
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True)


def compile_all() -> None:
    for language in LANGUAGES:
        path = po_path(language)
        if path.exists():
            with path.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, read(language))


def missing() -> dict[str, list[str]]:
    """Per language, the msgids of the code that its catalogue lacks or leaves empty."""
    ids = [m.id for m in extract() if m.id]
    result: dict[str, list[str]] = {}
    for language in LANGUAGES:
        catalog = read(language)
        gaps = [i for i in ids if not (catalog.get(i) and catalog.get(i).string)]  # type: ignore[union-attr]
        if gaps:
            result[language] = [str(g) for g in gaps]
    return result


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "check"
    if verb == "extract":
        with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
            write_po(handle, extract(), width=100)
    elif verb == "update":
        update()
    elif verb == "compile":
        compile_all()
    elif verb == "check":
        gaps = missing()
        for language, ids in gaps.items():
            print(f"{language}: {len(ids)} untranslated", *ids[:20], sep="\n  ")
        return 1 if gaps else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
