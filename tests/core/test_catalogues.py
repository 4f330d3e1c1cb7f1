"""Compiled message catalogues: written whole, and a damaged one never fails a command.

A bundle is built beside the running tests (tests/packaging/conftest.py) and compiles the
catalogues in the work tree; a command started meanwhile once read a half-written .mo and
stopped with a traceback (``struct.error``)."""

from __future__ import annotations

import gettext
import shutil
from pathlib import Path

import pytest

from core import i18n, i18n_tools
from core.i18n import DOMAIN


def _copy_of(package: str, tmp_path: Path) -> Path:
    """The package's Vietnamese catalogue folder, copied: the work tree stays as it is."""
    folder = tmp_path / "locale"
    source = i18n_tools.po_path(package, "vi").parents[2]
    shutil.copytree(source, folder)
    return folder


@pytest.mark.parametrize("damage", [b"", b"\x00\x01", b"not a catalogue at all"])
def test_a_damaged_compiled_catalogue_falls_back_to_its_source(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a .mo cut or overwritten, newer than its .po
    WHEN the language is loaded THEN the texts come from the .po, and the log names the file."""
    folder = _copy_of("core", tmp_path)
    (folder / "vi" / "LC_MESSAGES" / f"{DOMAIN}.mo").write_bytes(damage)
    loaded = i18n._load(folder, "vi")
    assert loaded is not None
    assert loaded.gettext("A note cannot be empty") == "Ghi chú không được để trống"
    assert "damaged message catalogue" in caplog.text


def test_a_damaged_catalogue_without_its_source_leaves_texts_untranslated(
    tmp_path: Path,
) -> None:
    folder = _copy_of("core", tmp_path)
    (folder / "vi" / "LC_MESSAGES" / f"{DOMAIN}.po").unlink()
    (folder / "vi" / "LC_MESSAGES" / f"{DOMAIN}.mo").write_bytes(b"\x00")
    assert i18n._load(folder, "vi") is None


def test_compiling_replaces_the_catalogue_whole(tmp_path: Path) -> None:
    """The .mo is written beside and renamed over the old one: no partial file is left,
    and what is there reads as a whole catalogue."""
    mo = tmp_path / f"{DOMAIN}.mo"
    mo.write_bytes(b"old")
    i18n_tools._write_atomically(mo, i18n_tools.read("core", "vi"))
    assert [p.name for p in tmp_path.iterdir()] == [mo.name]
    with mo.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    assert catalogue.gettext("A note cannot be empty") == "Ghi chú không được để trống"
