"""`motcua-desktop --tour` runs headless on demo data and saves every main screen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

SCREENS = (
    "login",
    "dashboard",
    "intake-procedure",
    "intake-review",
    "intake-slip",
    "intake-incomplete-guidance",
    "dossier",
    "queues",
    "returns",
    "lookup",
    "reports",
    "conflicts",
    "settings",
    "kiosk",
    "kiosk-status",
)


def test_tour_saves_a_png_of_every_main_screen(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    env = {**os.environ, "MOTCUA_LANG": "en"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop.app",
            "--data-dir",
            str(tmp_path / "demo"),
            "--lang",
            "en",
            "--tour",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = sorted(p.name for p in out.glob("*.png"))
    for screen in SCREENS:
        assert any(name.endswith(f"-{screen}.png") for name in names), screen
    with Image.open(next(out.glob("*-dashboard.png"))) as image:
        assert image.size == (1366, 768)
        assert (
            len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 50
        )  # real pixels, not a blank frame
