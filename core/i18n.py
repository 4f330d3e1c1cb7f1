"""Translations: Vietnamese by default, English complete (gettext catalogues).

Messages in the code are English msgids; ``core/locale/<lang>/LC_MESSAGES/motcua.po``
holds the translations. Compiled ``.mo`` files are built by ``make`` (``python -m
core.i18n_tools compile``); when one is missing the ``.po`` is read directly, so a fresh
checkout still speaks Vietnamese.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

from core.domain.errors import MotcuaError

DOMAIN = "motcua"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALE_DIR = Path(__file__).with_name("locale")

_current = DEFAULT_LANGUAGE


@cache
def translations(language: str) -> gettext.NullTranslations:
    mo = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po.exists():
        return _from_po(po)
    return gettext.NullTranslations()


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


def describe(err: MotcuaError) -> str:
    """An error's message in the current language."""
    return err.render(_(err.message))
