"""What can be checked here of the other platforms' installers, and the shared icon.

The Windows bundle can only be built on Windows (PyInstaller does not cross-build), so
the NSIS script is compiled here with Debian's makensis over a stand-in bundle: its
syntax, its includes and its defines are checked, not the installed result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.packaging

sys.path.insert(0, str(ROOT / "installers" / "icons"))
import make_icons  # noqa: E402


def test_windows_installer_script_compiles(tmp_path: Path) -> None:
    """GIVEN a stand-in for the Windows bundle, the icon and the TWAIN data source manager
    WHEN makensis compiles installers/windows/motcua.nsi, warnings as errors, THEN it
    writes a Windows installer."""
    bundle = tmp_path / "dist" / "motcua"
    (bundle / "_internal").mkdir(parents=True)
    for name in ("motcua-desktop.exe", "motcua.exe", "_internal/base_library.zip"):
        (bundle / name).write_bytes(b"stand-in")
    (tmp_path / "TWAINDSM.dll").write_bytes(b"stand-in")
    icons = make_icons.write_all(tmp_path / "icons")
    done = subprocess.run(
        [
            "makensis", "-WX", "-V2", "-DVERSION=0.1.0", f"-DBUNDLE={bundle}",
            f"-DICON={tmp_path / 'icons' / 'motcua.ico'}",
            f"-DTWAINDSM={tmp_path / 'TWAINDSM.dll'}", f"-DOUTDIR={tmp_path}",
            str(ROOT / "installers" / "windows" / "motcua.nsi"),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    installer = tmp_path / "motcua-0.1.0-setup.exe"
    assert installer.read_bytes()[:2] == b"MZ"
    assert b"Nullsoft" in installer.read_bytes()
    assert any(p.suffix == ".icns" for p in icons)


def test_the_committed_icon_is_the_drawing() -> None:
    committed = (ROOT / "installers" / "icons" / "motcua.svg").read_text(encoding="utf-8")
    assert committed == make_icons.svg()


def test_the_windows_build_recipe_uses_the_shared_spec() -> None:
    workflow = (ROOT / ".github" / "workflows" / "windows.yml").read_text(encoding="utf-8")
    assert "installers/pyinstaller/motcua.spec" in workflow
    assert "installers/windows/motcua.nsi" in workflow
