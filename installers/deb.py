"""Debian packages from the frozen bundles: ``dpkg-deb --build`` over a staged tree.

``motcua`` (the counter desktop and the ``motcua`` command) and ``motcua-server`` (the
sync server with its systemd unit and env file). Each puts its bundle under ``/opt``,
links its commands into ``/usr/bin`` and carries the maintainer scripts of
``installers/linux/{desktop,server}``. ``Depends`` names the oldest C library the bundle's
binaries accept (read from their symbol versions), so a package built on a newer system
refuses to install on an older one instead of failing when started.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from package import INSTALLERS, Kind, version

LINUX = INSTALLERS / "linux"
ICONS = INSTALLERS / "icons"
MAINTAINER = "Một Cửa maintainers <packaging@motcua.invalid>"
HOMEPAGE_NOTE = "Documentation: docs/install.md of the source tree."
# The centre's TUF root.json to ship in the desktop package (core.update.client reads
# it beside the program); without it, branch IT runs `motcua update trust root.json`.
UPDATE_ROOT_ENV = "MOTCUA_UPDATE_ROOT"


@dataclass(frozen=True)
class Package:
    name: str
    scripts: str  # folder of maintainer scripts under installers/linux
    depends: tuple[str, ...]
    recommends: tuple[str, ...]
    suggests: tuple[str, ...]
    summary: str
    description: str


PACKAGES = {
    "desktop": Package(
        "motcua",
        "desktop",
        ("libsane1", "libgl1", "libegl1", "libstdc++6", "libgcc-s1", "poppler-utils", "adduser"),
        (
            "sane-utils",
            "ipp-usb",
            "cups-client",
            "xclip",
            "tesseract-ocr",
            "tesseract-ocr-vie",
            "ghostscript",
            "gnome-keyring",  # a Secret Service for the store key (docs/encryption.md)
        ),
        ("motcua-server",),
        "one-stop counter desktop for public administrative service centres",
        "Một Cửa receives a citizen's dossier at the counter, checks it against the\n"
        "procedure's required documents, scans it, prints the receipt and appointment\n"
        "slip and moves it through processing and approval; it works offline and\n"
        "synchronises with its peers and the central server. This package holds the\n"
        "counter application (motcua-desktop) and branch IT's command (motcua), with\n"
        "the udev rules for scanners, receipt printers and code readers.",
    ),
    "server": Package(
        "motcua-server",
        "server",
        ("libstdc++6", "libgcc-s1", "adduser", "init-system-helpers (>= 1.54)"),
        (),
        ("postgresql", "nginx | caddy"),
        "central sync server of the Một Cửa one-stop counters",
        "The central replica of every branch's signed event log: desktops push and\n"
        "pull events and scans over HTTP, the centre manages branches, devices, users\n"
        "and the procedure catalogue. Runs as the motcua-server systemd service on\n"
        "SQLite or PostgreSQL (/etc/motcua/server.env), migrating its schema on start.",
    ),
}


def architecture() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


# --- what the bundle needs of the system ------------------------------------------------------
_GLIBC = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?")


def _elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def glibc_needed(folder: Path) -> str:
    """The highest GLIBC symbol version any binary of the bundle asks for."""
    best = (2, 17, 0)
    files = _elf_files(folder)
    for start in range(0, len(files), 200):
        dump = subprocess.run(
            ["objdump", "-T", *map(str, files[start : start + 200])],
            capture_output=True,
            check=False,
        ).stdout
        for match in _GLIBC.finditer(dump):
            found = tuple(int(part or 0) for part in match.groups())
            best = max(best, found)  # type: ignore[assignment]
    return ".".join(str(p) for p in (best if best[2] else best[:2]))


# --- the staged tree ----------------------------------------------------------------------
def _copy_bundle(bundle: Path, target: Path) -> None:
    shutil.copytree(bundle, target, symlinks=True)
    for path in [target, *target.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def _link(staging: Path, link: str, target: str) -> None:
    """A relative link, so the tree works both installed and extracted anywhere."""
    path = staging / link.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(os.path.relpath(target, os.path.dirname(link)))


def _install(staging: Path, source: Path | str | bytes, dest: str, mode: int = 0o644) -> None:
    path = staging / dest.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        shutil.copyfile(source, path)
    else:
        path.write_bytes(source.encode() if isinstance(source, str) else source)
    path.chmod(mode)


def _stage_desktop(staging: Path, bundle: Path, kind: Kind) -> None:
    _copy_bundle(bundle, staging / "opt" / kind.folder)
    for program in kind.programs:
        _link(staging, f"/usr/bin/{program}", f"/opt/{kind.folder}/{program}")
    trusted_root = os.environ.get(UPDATE_ROOT_ENV)
    if trusted_root:  # the centre's update root: desks trust it from their first start
        _install(staging, Path(trusted_root), f"/opt/{kind.folder}/update-root.json")
    _install(staging, LINUX / "motcua.desktop", "/usr/share/applications/motcua.desktop")
    _install(staging, LINUX / "60-motcua.rules", "/usr/lib/udev/rules.d/60-motcua.rules")
    _install(staging, ICONS / "motcua.svg", "/usr/share/icons/hicolor/scalable/apps/motcua.svg")
    with tempfile.TemporaryDirectory() as tmp:
        import importlib.util

        spec = importlib.util.spec_from_file_location("make_icons", ICONS / "make_icons.py")
        assert spec and spec.loader
        icons = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(icons)
        for size in (48, 128, 256):
            png = Path(tmp) / f"{size}.png"
            icons.png(size).save(png)
            _install(staging, png, f"/usr/share/icons/hicolor/{size}x{size}/apps/motcua.png")


def _stage_server(staging: Path, bundle: Path, kind: Kind) -> None:
    _copy_bundle(bundle, staging / "opt" / kind.folder)
    _link(staging, "/usr/bin/motcua-server", f"/opt/{kind.folder}/motcua-server")
    unit = LINUX / "motcua-server.service"
    _install(staging, unit, "/usr/lib/systemd/system/motcua-server.service")
    _install(staging, LINUX / "server" / "server.env", "/etc/motcua/server.env", 0o640)


def _docs(staging: Path, package: Package) -> None:
    doc = f"/usr/share/doc/{package.name}"
    _install(
        staging,
        f"Một Cửa ({package.name})\n\nLicense: proprietary, see the project's pyproject.toml.\n"
        f"The bundled third-party components keep their own licences: their notices are in\n"
        f"/opt/{'motcua' if package.name == 'motcua' else package.name}/_internal "
        f"(*.dist-info/, LICENSE* files, kivy_install/).\n",
        f"{doc}/copyright",
    )
    _install(
        staging,
        f"{package.name}: {package.summary}.\n\n{package.description}\n\n{HOMEPAGE_NOTE}\n",
        f"{doc}/README",
    )


def _control(staging: Path, package: Package, ver: str, glibc: str) -> str:
    size_kib = sum((p.lstat().st_size + 1023) // 1024 for p in staging.rglob("*") if not p.is_dir())
    fields = [
        ("Package", package.name),
        ("Version", ver),
        ("Architecture", architecture()),
        ("Maintainer", MAINTAINER),
        ("Installed-Size", str(size_kib)),
        ("Depends", ", ".join((f"libc6 (>= {glibc})", *package.depends))),
        ("Recommends", ", ".join(package.recommends)),
        ("Suggests", ", ".join(package.suggests)),
        ("Section", "misc"),
        ("Priority", "optional"),
    ]
    text = "".join(f"{k}: {v}\n" for k, v in fields if v)
    body = "\n".join(" " + (line or ".") for line in package.description.splitlines())
    return text + f"Description: {package.summary}\n{body}\n"


def _md5sums(staging: Path) -> str:
    lines = []
    for path in sorted(staging.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.parts[len(staging.parts)] != "DEBIAN":
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            lines.append(f"{digest}  {path.relative_to(staging).as_posix()}\n")
    return "".join(lines)


def stage(kind: Kind, bundle: Path, staging: Path, ver: str | None = None) -> Path:
    """The package's file tree with its DEBIAN folder, ready for ``dpkg-deb --build``."""
    package = PACKAGES[kind.name]
    (_stage_desktop if kind.name == "desktop" else _stage_server)(staging, bundle, kind)
    _docs(staging, package)
    glibc = glibc_needed(staging / "opt")
    debian = staging / "DEBIAN"
    debian.mkdir(mode=0o755)
    _install(staging, _md5sums(staging), "/DEBIAN/md5sums")
    for script in ("postinst", "prerm", "postrm"):
        _install(staging, LINUX / package.scripts / script, f"/DEBIAN/{script}", 0o755)
    if kind.name == "server":
        _install(staging, "/etc/motcua/server.env\n", "/DEBIAN/conffiles")
    _install(staging, _control(staging, package, ver or version(), glibc), "/DEBIAN/control")
    return staging


def build_deb(
    kind: Kind, bundle: Path, out: Path, *, ver: str | None = None, compress: str = "xz"
) -> Path:
    """Stage and build ``<package>_<version>_<arch>.deb`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    package = PACKAGES[kind.name]
    target = out / f"{package.name}_{ver or version()}_{architecture()}.deb"
    with tempfile.TemporaryDirectory(prefix="motcua-deb-") as tmp:
        staging = stage(kind, bundle, Path(tmp) / "root", ver)
        staging.chmod(0o755)
        subprocess.run(
            [
                "dpkg-deb",
                "--root-owner-group",
                f"-Z{compress}",
                "--build",
                str(staging),
                str(target),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target
