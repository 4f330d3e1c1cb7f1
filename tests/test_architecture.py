"""The dependency rules of ARCHITECTURE.md and the translation catalogues, kept by tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    """The import-linter contracts in pyproject.toml (core free of UI/USB/web, layers)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower() or " 0 broken" in result.stdout.lower()


def test_every_message_is_translated() -> None:
    """Each package's msgids are in its Vietnamese and English catalogues, translated."""
    from core.i18n_tools import PACKAGES, missing

    gaps = {p: missing(p) for p in PACKAGES}
    assert all((ROOT / p / "locale").is_dir() for p in PACKAGES), "every package keeps a catalogue"
    assert {p: g for p, g in gaps.items() if g} == {}
