"""docs/desktop.md describes every key of ``desktop.json`` as it is."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from desktop.settings import DesktopSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "desktop.md"


def test_every_desktop_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [f.name for f in fields(DesktopSettings) if f"`{f.name}`" not in text]
    assert missing == []
