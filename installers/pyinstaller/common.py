"""What the PyInstaller specs share: the project's files, the exclusions, the platform parts.

Both bundles (``motcua.spec``: the counter desktop with the ``motcua`` command;
``motcua-server.spec``: the sync server) are built from one Analysis each with the lists
below; only the functions named ``platform_*`` differ between Linux, Windows and macOS.
Imported by the specs (PyInstaller runs them with this folder on ``sys.path``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ENTRY = HERE / "entry"
RTHOOKS = [str(HERE / "rthooks" / "pyi_rth_motcua.py")]
BUILD = Path(os.environ.get("MOTCUA_ICON_DIR", ROOT / "build" / "icons"))

# Never in a bundle: test and lint tools, the packager itself, notebooks and toolkits we
# do not use. Kivy's hook lists every optional provider; these are the ones we never load.
DEV_TOOLS = [
    "pytest",
    "_pytest",
    "pluggy",
    "hypothesis",
    "mypy",
    "mypyc",
    "ruff",
    "schemathesis",
    "importlinter",
    "grimp",
    "playwright",
    "PyInstaller",
    "pip",
    "setuptools",
    "pkg_resources",
    "wheel",
    "IPython",
    "tkinter",
    "_tkinter",
    "matplotlib",
    "numpy",
    "docutils",
    "pygments",
    "cv2",
    "ffpyplayer",
    "gi",
    "enchant",
    "pygame",
]
# Babel writes numbers the language's way (its locale data trimmed to vi and en:
# ``trim_babel``); nothing else is left out of the desktop beyond the server's stack.
DESKTOP_EXCLUDES: list[str] = []
# The server's web stack: never in the desktop bundle.
SERVER_ONLY = [
    "sync_server",
    "fastapi",
    "starlette",
    "uvicorn",
    "psycopg",
    "psycopg_binary",
    "psycopg_c",
    "psycopg_pool",
    "uvloop",
    "httptools",
    "watchfiles",
    "websockets",
    "jinja2",
    "multipart",
    "python_multipart",
]
# The desktop's UI, devices and documents: never in the server bundle.
DESKTOP_ONLY = [
    "desktop",
    "hardware",
    "kivy",
    "kivy_deps",
    "usb",
    "sane",
    "_sane",
    "escpos",
    "serial",
    "zxingcpp",
    "ocrmypdf",
    "pyhanko",
    "pkcs11",
    "img2pdf",
    "pypdfium2",
    "pikepdf",
]


def version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "core" / "__init__.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def _data(package: str, **kwargs: object) -> list[tuple[str, str]]:
    """A package's data files, without translation sources (the compiled .mo ship)."""
    return collect_data_files(package, excludes=["**/*.po", "**/__pycache__/**"], **kwargs)


def _migrations(package: str) -> list[tuple[str, str]]:
    """Alembic reads its scripts from files: they ship as source beside the bundle's code."""
    return collect_data_files(
        package, subdir="migrations", include_py_files=True, excludes=["**/__pycache__/**"]
    )


def require_catalogues(*packages: str) -> None:
    """Stop the build when a compiled catalogue is missing (``make catalogs`` makes them)."""
    for package in packages:
        for po in (ROOT / package.replace(".", "/")).rglob("*.po"):
            if not po.with_suffix(".mo").exists():
                sys.exit(f"{po.with_suffix('.mo')} is missing: run `make catalogs` first")


def _library_data(*packages: str) -> list[tuple[str, str]]:
    """Data files libraries read at run time and have no PyInstaller hook for."""
    return [entry for package in packages for entry in collect_data_files(package)]


def core_datas() -> list[tuple[str, str]]:
    """The procedure catalogue, fonts, catalogues and migrations of ``core``, the holiday
    names of Vietnam in every language the holidays library has them, and fpdf2's colour
    profile (the forms' PDF/A output intent)."""
    holidays = collect_data_files("holidays", includes=["locale/*/LC_MESSAGES/VN.mo"])
    return _data("core") + _migrations("core.storage") + holidays + _library_data("fpdf")


def core_hiddenimports() -> list[str]:
    return [*collect_submodules("core"), "holidays.countries.vietnam"]


def desktop_datas() -> list[tuple[str, str]]:
    # python-escpos reads its printer profiles, python-barcode its font, pyHanko the
    # certificates of the EU trusted lists it validates against.
    libraries = _library_data("escpos", "barcode", "pyhanko")
    # keyring finds its OS keystore backends through its package metadata's entry points.
    keystore = copy_metadata("keyring")
    return core_datas() + _data("desktop") + _data("hardware") + libraries + keystore


def desktop_hiddenimports() -> list[str]:
    # The `motcua` command imports its command modules by name; the hardware package
    # imports each platform's device libraries by name, when it first needs them.
    ours = core_hiddenimports() + collect_submodules("desktop") + collect_submodules("hardware")
    devices = ["serial", "serial.tools.list_ports", "usb.core", "usb.util", "usb.backend.libusb1"]
    if sys.platform.startswith("linux"):
        devices += ["sane", "_sane"]
    if sys.platform == "win32":
        devices += ["twain", "win32com.client", "pythoncom", "pywintypes", "win32print", "win32api"]
    return ours + devices + encryption_hiddenimports()


def encryption_hiddenimports() -> list[str]:
    """Encryption at rest (docs/encryption.md): SQLAlchemy loads SQLCipher's driver by
    name, keyring its keystore backends (Secret Service, Windows, macOS) by entry point."""
    return [
        "sqlcipher3",
        "sqlcipher3.dbapi2",
        "sqlalchemy.dialects.sqlite.pysqlcipher",
        *collect_submodules("keyring.backends"),
    ]


def server_datas() -> list[tuple[str, str]]:
    return core_datas() + _data("sync_server") + _migrations("sync_server")


def trim_babel(datas: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Babel's locale data for Vietnamese and English only (of ~1,100 locales, 33 MB)."""
    keep = ("root.dat", "vi.dat", "vi_", "en.dat", "en_001.dat", "en_US")
    return [
        entry
        for entry in datas
        if not entry[0].startswith("babel/locale-data/") or Path(entry[0]).name.startswith(keep)
    ]


def server_hiddenimports() -> list[str]:
    # uvicorn picks its loop, protocol and lifespan implementations by name.
    return (
        core_hiddenimports()
        + collect_submodules("sync_server")
        + collect_submodules("uvicorn")
        + ["sync_server.app"]
    )


# --- platform parts ----------------------------------------------------------------------
# Libraries the Linux packages take from the system (Depends of the .deb), not the bundle:
# - SANE loads its backends and reads /etc/sane.d with the system's own libsane, so the
#   backends and the library always match;
# - the C++ runtime: the system's OpenGL driver (Mesa's llvmpipe on newer systems) needs
#   the system's own, newer libstdc++; a bundled older copy is found first and the window
#   cannot open ("Couldn't find matching GLX visual" on Debian 13). The packages are built
#   on the oldest supported system, so the system's copy is never older than the build's.
# (libusb is bundled: PyInstaller's pyusb hook loads it from the bundle only.)
LINUX_SYSTEM_LIBS = ["libsane.so*", "libstdc++.so*", "libgcc_s.so*"]


def platform_system_libs() -> None:
    """Before the Analysis: leave the system's libraries (and what they load) out of the
    dependency walk. PyInstaller has no option for it; its exclude list is extended."""
    if not sys.platform.startswith("linux"):
        return
    from PyInstaller.depend import dylib

    patterns = [fnmatch.translate(p).removesuffix(r"\Z") for p in LINUX_SYSTEM_LIBS]
    dylib.exclude_list = dylib.MatchList([*dylib._excludes, *patterns])


def platform_filter_binaries(binaries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Drop from the bundle what the platform's package takes from the system."""
    if not sys.platform.startswith("linux"):
        return binaries
    return [
        entry
        for entry in binaries
        if not any(fnmatch.fnmatch(Path(entry[0]).name, pattern) for pattern in LINUX_SYSTEM_LIBS)
        or "/" in entry[0]  # a wheel's own copy (Pillow.libs/…, kivy.libs/…) stays
    ]


def platform_strip_debug(
    binaries: list[tuple[str, str, str]], workpath: str
) -> list[tuple[str, str, str]]:
    """Linux: the bundle's binaries without their debugging sections (Kivy's extensions
    and the Python library carry 140 MB of them). Symbols stay; copies are kept in the
    work folder by content, so a rebuild strips only what changed."""
    if not sys.platform.startswith("linux") or shutil.which("strip") is None:
        return binaries
    folder = Path(workpath) / "stripped"
    folder.mkdir(parents=True, exist_ok=True)
    result = []
    for dest, src, typecode in binaries:
        source = Path(src)
        if typecode in ("BINARY", "EXTENSION") and source.is_file() and ".so" in source.name:
            stat = source.stat()
            key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
            target = folder / f"{key.hexdigest()[:16]}-{source.name}"
            if not target.exists():
                partial = target.with_name(target.name + ".partial")
                subprocess.run(["strip", "--strip-debug", "-o", str(partial), src], check=True)
                partial.rename(target)
            src = str(target)
        result.append((dest, src, typecode))
    return result


def platform_icon() -> str | None:
    """The executables' icon: .ico on Windows, .icns on macOS (made by make_icons.py)."""
    if sys.platform == "win32":
        return str(BUILD / "motcua.ico")
    if sys.platform == "darwin":
        return str(BUILD / "motcua.icns")
    return None


def platform_extra_trees() -> list[object]:
    """Windows: SDL2, GLEW and ANGLE come in Kivy's ``kivy_deps`` wheels, as folders."""
    if sys.platform != "win32":
        return []
    import importlib

    from PyInstaller.building.datastruct import Tree

    trees: list[object] = []
    for name in ("sdl2", "glew", "angle"):
        try:
            module = importlib.import_module(f"kivy_deps.{name}")
        except ImportError:
            continue  # not every Kivy release needs all three
        trees += [Tree(path) for path in module.dep_bins]
    return trees
