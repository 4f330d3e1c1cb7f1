"""The console templates' catalogue (``console/locale``): ``python -m
sync_server.console.catalogue update|check``.

Messages in the templates (``{{ _("…") }}``) live here; the console's Python messages
(``N_``) live in ``sync_server/locale`` with the rest of the server's, kept by
``core.i18n_tools``. ``update`` adds new template msgids untranslated (and drops vanished
ones); ``check`` fails when one is untranslated.
"""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from core.i18n import DOMAIN, LANGUAGES

from .web import HERE

LOCALE = HERE / "locale"
_METHODS = [("**.html", "jinja2.ext:babel_extract")]
_OPTIONS = {"**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}


def extract() -> Catalog:
    catalog = Catalog(project="Một Cửa", domain=DOMAIN)
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(HERE / "templates"), _METHODS, options_map=_OPTIONS
    ):
        if isinstance(message, str) and message:
            catalog.add(
                message, locations=[(f"templates/{filename}", lineno)], auto_comments=comments
            )
    return catalog


def read(language: str) -> Catalog:
    path = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN)
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def update() -> None:
    template = extract()
    for language in LANGUAGES:
        catalog = read(language)
        catalog.update(template, no_fuzzy_matching=True)
        path = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True)


def _translated(catalog: Catalog, msgid: str) -> bool:
    message = catalog.get(msgid)
    return message is not None and bool(message.string)


def missing() -> dict[str, list[str]]:
    """Per language, the template msgids its catalogue lacks or leaves empty."""
    ids = [str(m.id) for m in extract() if m.id]
    gaps: dict[str, list[str]] = {}
    for language in LANGUAGES:
        catalog = read(language)
        absent = [i for i in ids if not _translated(catalog, i)]
        if absent:
            gaps[language] = absent
    return gaps


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "check"
    if verb == "update":
        update()
        return 0
    if verb == "check":
        gaps = missing()
        for language, ids in gaps.items():
            print(f"console [{language}]: {len(ids)} untranslated", *ids[:20], sep="\n  ")
        return 1 if gaps else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
