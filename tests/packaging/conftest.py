"""The frozen bundles, built once per set of inputs, and a clean place to run them.

The bundles come from ``scripts/package.sh bundle KIND``, which reuses a bundle of the
same inputs from the cache outside the work tree (``installers/package.py``). When a run
selects tests that need one, its build starts as soon as collection ends, at low
priority, beside the rest of the suite; the fixtures wait for it. The frozen programs run
with a fresh ``HOME``, without the project's ``.venv`` on ``PATH``, ``DATABASE_URL`` or
any ``MOTCUA_``, ``KIVY_`` or ``PYTHON`` variable: what they need must be inside them.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "scripts" / "package.sh"
FIXTURE_OF_KIND = {"desktop_bundle": "desktop", "server_bundle": "server"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "packaging: runs the frozen bundles and the packages (builds them once)"
    )


@dataclass
class Build:
    """One ``scripts/package.sh bundle KIND`` running in the background."""

    kind: str
    log: Path = field(init=False)
    process: subprocess.Popen[str] = field(init=False)

    def __post_init__(self) -> None:
        self.log = Path(tempfile.mkstemp(prefix=f"motcua-bundle-{self.kind}-", suffix=".log")[1])
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                ["nice", "-n", "10", str(PACKAGE), "bundle", self.kind],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=output,
                text=True,
            )

    def folder(self) -> Path:
        stdout, _ = self.process.communicate(timeout=1800)
        if self.process.returncode != 0:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
            pytest.fail(f"building the {self.kind} bundle failed (log {self.log}):\n{tail}")
        return Path(stdout.strip().splitlines()[-1])


_builds: dict[str, Build] = {}


def _build(kind: str) -> Build:
    if kind not in _builds:
        _builds[kind] = Build(kind)
    return _builds[kind]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the builds the selected tests need, so they overlap the other tests."""
    wanted = {
        FIXTURE_OF_KIND[name]
        for item in session.items
        for name in getattr(item, "fixturenames", ())
        if name in FIXTURE_OF_KIND
    }
    for kind in sorted(wanted):
        _build(kind)


@pytest.fixture(scope="session")
def desktop_bundle() -> Path:
    """The frozen counter desktop: ``motcua-desktop`` and ``motcua`` with ``_internal``."""
    return _build("desktop").folder()


@pytest.fixture(scope="session")
def server_bundle() -> Path:
    """The frozen sync server: ``motcua-server`` with ``_internal``."""
    return _build("server").folder()


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a clerk's fresh account: no project variables, a new HOME."""
    home = tmp_path / "home"
    home.mkdir()
    venv_bin = str(ROOT / ".venv" / "bin")
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MOTCUA_", "KIVY_", "PYTHON", "SANE_", "VIRTUAL_ENV", "XDG_"))
        and k != "DATABASE_URL"
    }
    path = [p for p in keep.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != venv_bin]
    sane = tmp_path / "sane"
    sane.mkdir()
    (sane / "dll.conf").write_text("", encoding="utf-8")  # no backend probed unless asked
    return {
        **keep,
        "HOME": str(home),
        "PATH": os.pathsep.join(path),
        "LANG": "C.UTF-8",
        "SDL_VIDEODRIVER": "offscreen",
        "SANE_CONFIG_DIR": str(sane),
    }


def run(
    program: Path, *args: str, env: dict[str, str], check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(program), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"{program.name} {' '.join(args)} exited {done.returncode}\n"
            f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
        )
    return done


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder`` with its size and modification time."""
    result = {}
    for path in folder.rglob("*"):
        stat = path.lstat()
        result[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return result
