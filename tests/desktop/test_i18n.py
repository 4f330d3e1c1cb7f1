"""Every user-facing string is translatable and both catalogues are complete."""

from __future__ import annotations

import ast
from pathlib import Path

from core import i18n_tools

DESKTOP = Path(__file__).resolve().parents[2] / "desktop"
# Widgets and helpers whose first argument is text the user reads.
TEXT_TAKERS = {"Text", "McButton", "heading", "muted", "Field", "Cell", "Input"}
ALLOWED = {"", "Tiếng Việt", "English", "…", "—"}  # language names are shown in their own tongue


def literal_texts(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        first = node.args[0]
        if name not in TEXT_TAKERS or not isinstance(first, ast.Constant):
            continue
        text = first.value
        if isinstance(text, str) and text.strip() not in ALLOWED and any(c.isalpha() for c in text):
            found.append((node.lineno, text))
    return found


def test_no_literal_text_reaches_a_widget_untranslated() -> None:
    offenders = {
        f"{path.relative_to(DESKTOP)}:{line}": text
        for path in DESKTOP.rglob("*.py")
        if "cli" not in path.parts
        for line, text in literal_texts(path)
    }
    assert offenders == {}


def test_the_scan_catches_an_untranslated_label(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('Text("Dossier received")\nText(_("Dossier received"))\n')
    assert literal_texts(sample) == [(1, "Dossier received")]


def test_desktop_catalogues_are_complete() -> None:
    assert i18n_tools.missing("desktop") == {}
    assert i18n_tools.main(["check", "desktop"]) == 0
