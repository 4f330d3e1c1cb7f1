"""Translations: Vietnamese by default, English complete (gettext catalogues).

Messages in the code are English msgids. Each package keeps its own catalogue in
``<package>/locale/<lang>/LC_MESSAGES/motcua.po`` and registers the folder with
``register_locale_dir`` (core's is registered here); lookups try each in turn.
Compiled ``.mo`` files are built by ``make`` (``python -m core.i18n_tools compile``);
when one is missing the ``.po`` is read directly, so a fresh checkout still speaks
Vietnamese.
"""

from __future__ import annotations

import functools
import gettext
import logging
import os
import struct
from functools import cache
from pathlib import Path
from typing import Any

from core.domain.errors import MotcuaError

_log = logging.getLogger(__name__)

DOMAIN = "motcua"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALE_DIR = Path(__file__).with_name("locale")

_current = DEFAULT_LANGUAGE
_locale_dirs: list[Path] = [LOCALE_DIR]


def register_locale_dir(folder: Path) -> None:
    """Add a package's catalogue folder (called once by that package on import)."""
    if folder not in _locale_dirs:
        _locale_dirs.append(folder)
        translations.cache_clear()
        own_first.cache_clear()


def locale_dirs() -> list[Path]:
    return list(_locale_dirs)


def language_of(accept: str | None) -> str:
    """The language a request asks for (``Accept-Language``): English when it leads with
    it, Vietnamese otherwise, the default."""
    return "en" if (accept or "").lower().startswith("en") else "vi"


@cache
def translations(language: str) -> gettext.NullTranslations:
    chain: gettext.NullTranslations | None = None
    for folder in _locale_dirs:
        found = _load(folder, language)
        if found is None:
            continue
        if chain is None:
            chain = found
        else:
            chain.add_fallback(found)
    return chain or gettext.NullTranslations()


@cache
def own_first(folder: Path, language: str) -> gettext.NullTranslations:
    """A package's own catalogue first, then every registered one: for text whose msgid
    another package may translate differently (a page heading, a button)."""
    own = _load(folder, language)
    if own is None:
        return translations(language)
    own.add_fallback(translations(language))
    return own


def _load(folder: Path, language: str) -> gettext.NullTranslations | None:
    mo = folder / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        try:
            with mo.open("rb") as handle:
                return gettext.GNUTranslations(handle)
        except (OSError, ValueError, struct.error):
            # A damaged or cut catalogue: read its source when there is one, else leave
            # the texts untranslated rather than fail every command that prints one.
            _log.warning("damaged message catalogue %s: not used", mo)
    if po.exists():
        return _from_po(po)
    return None


def _from_po(po: Path) -> gettext.NullTranslations:
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def set_language(language: str | None) -> str:
    """Choose the language: explicit, else MOTCUA_LANG, else Vietnamese."""
    global _current
    chosen = language or os.environ.get("MOTCUA_LANG") or DEFAULT_LANGUAGE
    _current = chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE
    return _current


def current_language() -> str:
    return _current


def _(message: str) -> str:
    return translations(_current).gettext(message)


def tr(message: str, **params: object) -> str:
    """Translate a template and fill its parameters."""
    text = _(message)
    return text.format(**params) if params else text


def number(value: float, digits: int = 0, language: str | None = None) -> str:
    """A number as the language writes it (CLDR, through Babel): 1234.5 with two digits is
    "1.234,50" in Vietnamese, "1,234.50" in English."""
    return str(_pattern(digits).apply(value, _locale(language or _current)))


# Parsed once: a statistics table formats tens of thousands of numbers.
@functools.lru_cache(maxsize=16)
def _pattern(digits: int) -> Any:
    from babel.numbers import parse_pattern

    return parse_pattern("#,##0" + ("." + "0" * digits if digits > 0 else ""))


@functools.lru_cache(maxsize=8)
def _locale(code: str) -> Any:
    from babel import Locale

    return Locale.parse(code)


def percent(value: float, digits: int = 2, language: str | None = None) -> str:
    """A rate already in percent: "100,00 %" in Vietnamese (the no-break space the
    centres' reports use), "100.00%" in English."""
    lang = language or _current
    sign = "%" if lang == "en" else "\u00a0%"
    return number(value, digits, lang) + sign


def describe(err: MotcuaError) -> str:
    """An error's message in the current language; parameters that are themselves
    messages (a state's or an action's label) are translated too."""
    params = {k: _(v) if isinstance(v, str) else v for k, v in err.params.items()}
    text = _(err.message)
    return text.format(**params) if params else text
