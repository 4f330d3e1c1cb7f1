"""Build the frozen bundles and the Linux packages (``scripts/package.sh`` runs this).

python installers/package.py bundle desktop|server [--rebuild]   the bundle folder
python installers/package.py deb desktop|server [--out DIR]      a .deb from that bundle
python installers/package.py all [--out DIR]                     both bundles, both .debs
python installers/package.py hash desktop|server                 the bundle's input hash

A bundle is built once per set of inputs and kept in a cache outside the work tree
(``$MOTCUA_BUNDLE_CACHE``, default ``${XDG_CACHE_HOME:-~/.cache}/motcua/bundle``), in a
folder named by a hash of everything that goes into it: the sources of the packages it
holds, the PyInstaller spec and hooks, ``pyproject.toml``, the Python and the versions of
every installed distribution. A fresh clone with the same inputs reuses it; two builds
of one kind wait for each other (a lock file). The two newest bundles of a kind are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALLERS = Path(__file__).resolve().parent
ROOT = INSTALLERS.parent
SPECS = INSTALLERS / "pyinstaller"
KEEP = 2
SKIP_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".mo"}  # .mo are compiled from the hashed .po


@dataclass(frozen=True)
class Kind:
    """One bundle: its spec, the source packages it freezes, the folder it builds."""

    name: str
    spec: str
    packages: tuple[str, ...]
    folder: str
    programs: tuple[str, ...]


KINDS = {
    "desktop": Kind(
        "desktop",
        "motcua.spec",
        ("core", "desktop", "hardware"),
        "motcua",
        ("motcua-desktop", "motcua"),
    ),
    "server": Kind(
        "server",
        "motcua-server.spec",
        ("core", "sync_server"),
        "motcua-server",
        ("motcua-server",),
    ),
}


def cache_root() -> Path:
    if os.environ.get("MOTCUA_BUNDLE_CACHE"):
        return Path(os.environ["MOTCUA_BUNDLE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "motcua" / "bundle"


def version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "core" / "__init__.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


# --- the input hash ----------------------------------------------------------------------
def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        skipped = SKIP_PARTS.intersection(path.relative_to(folder).parts)
        if path.is_file() and path.suffix not in SKIP_SUFFIXES and not skipped:
            yield path


def _distributions() -> list[str]:
    """Every installed distribution but the project itself (its sources are hashed)."""
    found = {
        f"{(d.metadata['Name'] or '').lower()}=={d.version}"
        for d in importlib.metadata.distributions()
    }
    return sorted(f for f in found if not f.startswith("motcua=="))


def input_hash(kind: Kind) -> str:
    digest = hashlib.sha256()
    sources = [ROOT / p for p in kind.packages] + [SPECS, INSTALLERS / "icons"]
    for folder in sources:
        for path in _files(folder):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    digest.update((ROOT / "pyproject.toml").read_bytes())
    context = [sys.version, sys.platform, platform.machine(), *_distributions()]
    digest.update("\n".join(context).encode())
    return digest.hexdigest()[:20]


# --- the bundle --------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bundle(kind: Kind, rebuild: bool = False) -> Path:
    """The bundle folder for the current inputs, built when the cache has none."""
    root = cache_root()
    entry = root / f"{kind.name}-{input_hash(kind)}"
    with _locked(root / f".{kind.name}.lock"):
        if rebuild:
            shutil.rmtree(entry, ignore_errors=True)
        if not (entry / "build.json").exists():
            _build(kind, entry)
            _prune(root, kind)
    os.utime(entry)  # newest used first when pruning
    return entry / kind.folder


def _build(kind: Kind, entry: Path) -> None:
    """PyInstaller into ``<entry>.partial``, renamed to ``entry`` once complete. Its log
    goes to stderr: stdout carries only the answer."""
    python = sys.executable
    _compile_catalogues(kind)
    work = cache_root() / "work" / kind.name
    icons = work / "icons"
    subprocess.run(
        [python, str(INSTALLERS / "icons" / "make_icons.py"), str(icons)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    staging = entry.with_name(entry.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    env = {
        **os.environ,
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_FILELOG": "1",
        "KIVY_HOME": str(work / "kivy-home"),  # Kivy's hook imports it: not in ~/.kivy
        "MOTCUA_ICON_DIR": str(icons),
    }
    command = [
        python,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(staging),
        "--workpath",
        str(work / "pyinstaller"),
        str(SPECS / kind.spec),
    ]
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=sys.stderr)
    shutil.rmtree(entry, ignore_errors=True)
    staging.rename(entry)
    record = {
        "kind": kind.name,
        "version": version(),
        "hash": entry.name.rsplit("-", 1)[1],
        "seconds": round(time.monotonic() - started, 1),
        "python": sys.version.split()[0],
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (entry / "build.json").write_text(json.dumps(record, indent=2), encoding="utf-8")


def _compile_catalogues(kind: Kind) -> None:
    """``make catalogs``, and any other catalogue of the kind's packages it does not list."""
    python = sys.executable
    quiet = {"stdout": sys.stderr}  # stdout carries only the answer (a path)
    subprocess.run([python, "-m", "core.i18n_tools", "compile"], cwd=ROOT, check=True, **quiet)
    others = sorted(
        {
            str(po.parents[3].relative_to(ROOT))
            for package in kind.packages
            for po in (ROOT / package).rglob("locale/*/LC_MESSAGES/*.po")
            if not po.with_suffix(".mo").exists()
        }
    )
    if others:
        command = [python, "-m", "core.i18n_tools", "compile", *others]
        subprocess.run(command, cwd=ROOT, check=True, **quiet)


def _prune(root: Path, kind: Kind) -> None:
    """Keep the KEEP newest bundles of the kind; drop the leftovers of failed builds."""
    for partial in root.glob(f"{kind.name}-*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
    done = [p for p in root.glob(f"{kind.name}-*") if (p / "build.json").exists()]
    for old in sorted(done, key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


# --- command line ------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="package", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("bundle", "deb", "hash"):
        p = sub.add_parser(name)
        p.add_argument("kind", choices=sorted(KINDS))
        if name == "bundle":
            p.add_argument("--rebuild", action="store_true", help="ignore the cached bundle")
        if name == "deb":
            p.add_argument("--out", type=Path, default=ROOT / "dist")
            p.add_argument("--compress", choices=["xz", "gzip", "none"], default="xz")
    p = sub.add_parser("all")
    p.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    if args.command == "hash":
        print(input_hash(KINDS[args.kind]))
    elif args.command == "bundle":
        print(bundle(KINDS[args.kind], rebuild=args.rebuild))
    else:
        from deb import build_deb  # installers/deb.py

        kinds = sorted(KINDS) if args.command == "all" else [args.kind]
        compress = getattr(args, "compress", "xz")
        for name in kinds:
            print(build_deb(KINDS[name], bundle(KINDS[name]), args.out, compress=compress))
    return 0


if __name__ == "__main__":
    sys.exit(main())
