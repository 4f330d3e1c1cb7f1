"""Packaging benchmarks: the frozen bundle against the source install it replaces.

- Cold start of the counter desktop: a new ``motcua-desktop --check`` process (the window
  opened on SDL's offscreen driver, the login screen drawn once, exit), frozen against
  the source's ``.venv/bin/motcua-desktop --check`` on the same store. Aim ≤ 1.5×.
- Cold start of the ``motcua`` command: ``motcua catalog list`` on that store (opens and
  migrates it, reads the catalogue), frozen against source.
- Size: the bundle as installed under /opt/motcua, against the source install's
  ``.venv`` (every extra). Aim ≤ 250 MB.

Each start is a new process with a warm file cache (a first run of each is discarded);
the figure is the median of RUNS, frozen and source taking turns. The bundle is built
or reused from the cache (``scripts/package.sh bundle desktop``); its build time is
printed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from .harness import Report

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
RUNS = 5
PASSWORD = "bench-pass-1"


def _bundle() -> Path:
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / "scripts" / "package.sh"), "bundle", "desktop"],
        capture_output=True,
        text=True,
        check=True,
    )
    folder = Path(done.stdout.strip().splitlines()[-1])
    build = json.loads((folder.parent / "build.json").read_text(encoding="utf-8"))
    took = time.perf_counter() - started
    print(f"(bundle {folder}: ready in {took:.1f} s; built in {build['seconds']} s)", flush=True)
    return folder


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTCUA_", "KIVY_"))}
    return {**env, "HOME": str(home), "SDL_VIDEODRIVER": "offscreen", "MOTCUA_LANG": "vi"}


def _timed_ms(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    return (time.perf_counter() - start) * 1000


def _compare(frozen: list[str], source: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Median ms of each, run in turns (first one, then the other, swapping each round)
    so that whatever else the machine does weighs on both alike."""
    _timed_ms(frozen, env), _timed_ms(source, env)  # fill the file cache
    times: dict[int, list[float]] = {0: [], 1: []}
    for round_ in range(RUNS):
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        for which in order:
            times[which].append(_timed_ms((frozen, source)[which], env))
    return statistics.median(times[0]), statistics.median(times[1])


def _size_mb(folder: Path) -> float:
    total = sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())
    return total / 1e6


def run(report: Report) -> None:
    bundle = _bundle()
    work = Path(tempfile.mkdtemp(prefix="motcua-bench-packaging-"))
    try:
        env = _env(work / "home")
        store = work / "store"
        subprocess.run(
            [
                str(VENV_BIN / "motcua"),
                "--data-dir",
                str(store),
                "init",
                "--unit-code",
                "BENCH",
                "--branch-name",
                "Chi nhánh đo hiệu năng",
            ],
            env={**env, "MOTCUA_USER": "admin", "MOTCUA_PASSWORD": PASSWORD},
            check=True,
            capture_output=True,
        )
        desktop = ["--check", "--data-dir", str(store)]
        frozen, source = _compare(
            [str(bundle / "motcua-desktop"), *desktop],
            [str(VENV_BIN / "motcua-desktop"), *desktop],
            env,
        )
        report.figure(
            "frozen desktop cold start to its first frame",
            frozen,
            "ms",
            "source desktop (.venv), same store",
            source,
            aim="≤ 1.5× baseline",
        )
        command = ["--data-dir", str(store), "catalog", "list"]
        frozen, source = _compare(
            [str(bundle / "motcua"), *command], [str(VENV_BIN / "motcua"), *command], env
        )
        report.figure(
            "frozen `motcua catalog list` cold start",
            frozen,
            "ms",
            "source `motcua` (.venv)",
            source,
            aim="≤ 1.5× baseline",
        )
        report.figure(
            "desktop bundle size, installed",
            _size_mb(bundle),
            "MB",
            "the source install's .venv (every extra)",
            _size_mb(ROOT / ".venv"),
            aim="≤ 250 MB",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run(Report())
