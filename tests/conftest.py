"""Settings every test shares."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.softhsm import token  # noqa: F401 - one SoftHSM2 token per session

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("MOTCUA_LANG", "en")


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    """A test that chooses a language (a command's --lang, a screen's switch) leaves the
    next one the language it found."""
    from core.i18n import current_language, set_language

    before = current_language()
    yield
    set_language(before)
