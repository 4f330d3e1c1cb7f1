"""Folding Vietnamese text for search: no diacritics, no case, đ read as d."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[0-9a-z]+")


def fold(text: str) -> str:
    """'Nguyễn Văn Đặng' → 'nguyen van dang'.

    NFD splits a letter from its tone and vowel marks; đ/Đ are letters of their own in
    Unicode (no decomposition), so they are mapped by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def words(text: str) -> list[str]:
    """The folded words of a text, in order (letters and digits only)."""
    return _WORD.findall(fold(text))


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
