"""A minimal frozen-app stand-in for update tests: a folder with an executable
``motcua-desktop`` script that prints its version and, unless made to crash, writes the
launcher's marker as the real app does on reaching its login screen."""

from __future__ import annotations

from pathlib import Path

PROGRAM = "motcua-desktop"


def make_app(folder: Path, version: str, crash: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ending = (
        "exit 3" if crash else '[ -n "$MOTCUA_UPDATE_MARKER" ] && touch "$MOTCUA_UPDATE_MARKER"'
    )
    script = folder / PROGRAM
    script.write_text(f'#!/bin/sh\necho "{PROGRAM} {version}"\n{ending}\nexit 0\n')
    script.chmod(0o755)
    return folder
