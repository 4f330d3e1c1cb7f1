"""The Debian packages: their fields and files (``dpkg-deb``), the extracted tree run as
installed, and install → upgrade → remove → purge in a scratch root.

The scratch root is dpkg's own: ``--root`` with ``--force-script-chrootless`` runs the
maintainer scripts with ``DPKG_ROOT`` set, where they leave the running system alone
(no user, group, udev or systemd change); what they do on a real system is checked by
hand on a test machine (docs/install.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import core

from .conftest import ROOT, run

pytestmark = pytest.mark.packaging

sys.path.insert(0, str(ROOT / "installers"))
from deb import build_deb  # noqa: E402
from package import KINDS  # noqa: E402

INSTALLED_SIZE_AIM_KIB = 250 * 1024


def _build(
    kind: str, bundle: Path, out: Path, ver: str | None = None, compress: str = "gzip"
) -> Path:
    return build_deb(KINDS[kind], bundle, out, ver=ver, compress=compress)


@pytest.fixture(scope="session")
def desktop_deb(desktop_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build("desktop", desktop_bundle, tmp_path_factory.mktemp("deb"))


@pytest.fixture(scope="session")
def server_deb(server_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build("server", server_bundle, tmp_path_factory.mktemp("deb"))


def _fields(deb: Path) -> dict[str, str]:
    text = subprocess.run(
        ["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line[:1] not in (" ", "\t") and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _listing(deb: Path) -> dict[str, str]:
    """path → the listing's line (mode, owner, size, link target)."""
    text = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    entries = {}
    for line in text.splitlines():
        path = line.split(maxsplit=5)[5].split(" -> ")[0].removeprefix(".")
        entries[path.rstrip("/") or "/"] = line
    return entries


def _extract(deb: Path, target: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    return target


def test_desktop_package_fields(desktop_deb: Path) -> None:
    fields = _fields(desktop_deb)
    assert fields["Package"] == "motcua"
    assert fields["Version"] == core.__version__
    depends = fields["Depends"]
    for needed in ("libc6 (>= 2.", "libsane1", "libstdc++6", "poppler-utils"):
        assert needed in depends, depends
    assert int(fields["Installed-Size"]) <= INSTALLED_SIZE_AIM_KIB, fields["Installed-Size"]


def test_desktop_package_files(desktop_deb: Path) -> None:
    """Files under /opt/motcua, the commands on PATH (relative links), the launcher, its
    icon and the udev rules; root owns everything."""
    files = _listing(desktop_deb)
    for path in (
        "/opt/motcua/motcua-desktop",
        "/opt/motcua/motcua",
        "/usr/share/applications/motcua.desktop",
        "/usr/share/icons/hicolor/scalable/apps/motcua.svg",
        "/usr/share/icons/hicolor/256x256/apps/motcua.png",
        "/usr/lib/udev/rules.d/60-motcua.rules",
        "/usr/share/doc/motcua/copyright",
    ):
        assert path in files, path
    assert files["/usr/bin/motcua"].endswith("-> ../../opt/motcua/motcua")
    assert files["/usr/bin/motcua-desktop"].endswith("-> ../../opt/motcua/motcua-desktop")
    assert files["/opt/motcua/motcua-desktop"].startswith("-rwxr-xr-x root/root")
    assert all(" root/root " in line for line in files.values())
    assert not [p for p in files if p.startswith(("/home", "/root", "/tmp", "/var"))]


def test_launcher_and_maintainer_scripts_are_valid(desktop_deb: Path, tmp_path: Path) -> None:
    tree = _extract(desktop_deb, tmp_path / "tree")
    subprocess.run(
        ["desktop-file-validate", str(tree / "usr/share/applications/motcua.desktop")], check=True
    )
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(desktop_deb), str(control)], check=True)
    for script in ("postinst", "prerm", "postrm"):
        subprocess.run(["sh", "-n", str(control / script)], check=True)
    entry = (tree / "usr/share/applications/motcua.desktop").read_text(encoding="utf-8")
    assert "Exec=motcua-desktop\n" in entry and "Icon=motcua\n" in entry


def test_extracted_desktop_package_runs_from_its_commands(
    desktop_deb: Path, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    """The commands as PATH finds them once installed: links into /opt/motcua."""
    tree = _extract(desktop_deb, tmp_path / "tree")
    env = {**clean_env, "MOTCUA_USER": "admin", "MOTCUA_PASSWORD": "deb-admin-pass-1"}
    motcua = tree / "usr/bin/motcua"
    assert run(motcua, "--version", env=env).stdout.split() == ["motcua", core.__version__]
    store = ["--data-dir", str(tmp_path / "store"), "--json"]
    made = json.loads(
        run(
            motcua,
            *store,
            "init",
            "--unit-code",
            "TAYHO",
            "--branch-name",
            "Chi nhánh Tây Hồ",
            env=env,
        ).stdout
    )
    assert made["procedures"] > 0
    assert json.loads(run(motcua, *store, "verify", env=env).stdout)["ok"] is True
    run(
        tree / "usr/bin/motcua-desktop",
        "--check",
        "--data-dir",
        str(tmp_path / "store"),
        env=clean_env,
    )


# --- install, upgrade, remove, purge in a scratch root ----------------------------------
def _dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "dpkg",
            f"--root={root}",
            "--force-script-chrootless",
            "--force-depends",
            "--force-not-root",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.fixture
def scratch_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for folder in ("info", "updates", "triggers"):
        (root / "var/lib/dpkg" / folder).mkdir(parents=True)
    for name in ("status", "available"):
        (root / "var/lib/dpkg" / name).touch()
    return root


def _files_under(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not p.is_dir() and not str(p.relative_to(root)).startswith("var/lib/dpkg")
    }


def test_install_upgrade_and_removal_leave_nothing_behind(
    desktop_bundle: Path, desktop_deb: Path, scratch_root: Path, tmp_path: Path
) -> None:
    """GIVEN an older version A, with one file the current version B no longer ships,
    installed WHEN B is installed over it THEN that file is gone; WHEN the package is
    removed and purged THEN no file of it is left and dpkg forgets it."""
    old_bundle = tmp_path / "old"
    shutil.copytree(desktop_bundle, old_bundle, symlinks=True, copy_function=_link_or_copy)
    (old_bundle / "_internal" / "dropped-in-b.txt").write_text("A only\n", encoding="utf-8")
    deb_a = _build("desktop", old_bundle, tmp_path / "a", f"{core.__version__}~a", "none")

    _dpkg(scratch_root, "-i", str(deb_a))
    assert (scratch_root / "opt/motcua/_internal/dropped-in-b.txt").exists()
    upgraded = _dpkg(scratch_root, "-i", str(desktop_deb))
    assert "Unpacking motcua" in upgraded.stdout and "over (" in upgraded.stdout
    assert not (scratch_root / "opt/motcua/_internal/dropped-in-b.txt").exists()
    assert (scratch_root / "opt/motcua/motcua-desktop").exists()
    status = _dpkg(scratch_root, "-s", "motcua").stdout
    assert f"Version: {core.__version__}\n" in status

    _dpkg(scratch_root, "-r", "motcua")
    assert _files_under(scratch_root) == set()
    assert not (scratch_root / "opt/motcua").exists()
    _dpkg(scratch_root, "-P", "motcua")
    listed = subprocess.run(
        ["dpkg", f"--root={scratch_root}", "-l", "motcua"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "ii  motcua" not in listed.stdout and "rc  motcua" not in listed.stdout


def _link_or_copy(src: str, dst: str) -> None:
    """Hard links where the file system allows (the bundle is large)."""
    try:
        Path(dst).hardlink_to(src)
    except OSError:
        shutil.copy2(src, dst)


# --- the server package ----------------------------------------------------------------
def test_server_package_fields_and_files(server_deb: Path, tmp_path: Path) -> None:
    fields = _fields(server_deb)
    assert fields["Package"] == "motcua-server"
    assert "adduser" in fields["Depends"]
    files = _listing(server_deb)
    for path in (
        "/opt/motcua-server/motcua-server",
        "/etc/motcua/server.env",
        "/usr/lib/systemd/system/motcua-server.service",
    ):
        assert path in files, path
    assert files["/usr/bin/motcua-server"].endswith("-> ../../opt/motcua-server/motcua-server")
    assert files["/etc/motcua/server.env"].startswith("-rw-r-----")
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(server_deb), str(control)], check=True)
    assert (control / "conffiles").read_text().split() == ["/etc/motcua/server.env"]
    for script in ("postinst", "prerm", "postrm"):
        subprocess.run(["sh", "-n", str(control / script)], check=True)


def test_server_unit_migrates_then_serves(server_deb: Path, tmp_path: Path) -> None:
    """The unit is valid for systemd (its programs pointed at the extracted tree) and
    runs ``migrate`` before every start."""
    tree = _extract(server_deb, tmp_path / "tree")
    unit = (tree / "usr/lib/systemd/system/motcua-server.service").read_text(encoding="utf-8")
    assert "ExecStartPre=/usr/bin/motcua-server --data-dir /var/lib/motcua-server migrate" in unit
    assert "EnvironmentFile=-/etc/motcua/server.env" in unit
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (scripts/apt-packages.txt lists systemd)")
    checked = tmp_path / "motcua-server.service"
    checked.write_text(
        unit.replace("/usr/bin/motcua-server", str(tree / "usr/bin/motcua-server")),
        encoding="utf-8",
    )
    subprocess.run(
        ["systemd-analyze", "verify", str(checked)], check=True, capture_output=True, text=True
    )


@pytest.fixture
def served(server_deb: Path, tmp_path: Path, clean_env: dict[str, str]) -> Iterator[str]:
    """The extracted package's server, as its unit starts it: migrate, then serve."""
    tree = _extract(server_deb, tmp_path / "tree")
    program = tree / "usr/bin/motcua-server"
    data = ["--data-dir", str(tmp_path / "data")]
    env = {**clean_env, "MOTCUA_SERVER_ENV_FILE": str(tree / "etc/motcua/server.env")}
    assert run(program, "--version", env=env).stdout.split() == ["motcua-server", core.__version__]
    migrated = json.loads(run(program, *data, "--json", "migrate", env=env).stdout)
    assert migrated["revision"]
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(program), *data, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_extracted_server_package_answers(served: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = requests.get(f"{served}/v1/health", timeout=2)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
