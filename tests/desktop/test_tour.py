"""`motcua-desktop --tour` runs headless on demo data and saves every main screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core.i18n import set_language
from desktop.app import main

SCREENS = (
    "login",
    "dashboard",
    "intake-procedure",
    "intake-review",
    "intake-slip",
    "intake-incomplete-guidance",
    "dossier",
    "dossier-page",
    "dossier-apology",
    "queues",
    "returns",
    "lookup",
    "reports",
    "conflicts",
    "settings",
    "kiosk",
    "kiosk-status",
)


def test_tour_saves_a_png_of_every_main_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``motcua-desktop --tour`` through its entry point, in this process's (offscreen)
    window: no second interpreter and GL context to start."""
    out = tmp_path / "shots"
    monkeypatch.setenv("MOTCUA_LANG", "en")
    try:
        code = main(["--data-dir", str(tmp_path / "demo"), "--lang", "en", "--tour", str(out)])
    finally:
        set_language("en")
    assert code == 0
    names = sorted(p.name for p in out.glob("*.png"))
    for screen in SCREENS:
        assert any(name.endswith(f"-{screen}.png") for name in names), screen
    with Image.open(next(out.glob("*-dashboard.png"))) as image:
        assert image.size == (1366, 768)
        assert (
            len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 50
        )  # real pixels, not a blank frame
