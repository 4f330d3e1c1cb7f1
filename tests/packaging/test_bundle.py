"""The frozen counter desktop runs a counter's day by itself: the executables of the
bundle, not the sources, with nothing of the project's environment around them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

import core

from .conftest import run, snapshot

pytestmark = pytest.mark.packaging

APPLICANT = {
    "full_name": "Nguyễn Thị Hoa",
    "id_number": "001190012345",
    "date_of_birth": "1990-05-17",
    "phone": "0912345678",
    "address": "12 Xuân Diệu, phường Tây Hồ, Hà Nội",
}
ADMIN = {"MOTCUA_USER": "admin", "MOTCUA_PASSWORD": "frozen-admin-1"}
OFFICER = {"MOTCUA_USER": "lan", "MOTCUA_PASSWORD": "frozen-officer-1"}
# Never inside the desktop bundle: test and lint tools, the packager, the server's stack.
FORBIDDEN = (
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "ruff",
    "schemathesis",
    "importlinter",
    "PyInstaller",
    "playwright",
    "fastapi",
    "starlette",
    "uvicorn",
    "psycopg",
    "sync_server",
)


def _modules(program: Path) -> set[str]:
    """The Python modules frozen into an executable's archive."""
    from PyInstaller.archive.readers import CArchiveReader

    return set(CArchiveReader(str(program)).open_embedded_archive("PYZ.pyz").toc)


def test_both_programs_say_their_version(desktop_bundle: Path, clean_env: dict[str, str]) -> None:
    for program in ("motcua", "motcua-desktop"):
        done = run(desktop_bundle / program, "--version", env=clean_env)
        assert done.stdout.split() == [program, core.__version__]


def test_the_bundle_holds_what_runs_and_nothing_for_tests_or_the_server(
    desktop_bundle: Path,
) -> None:
    """GIVEN the bundle WHEN its archive and folder are listed THEN every runtime piece is
    there (Kivy, the device and document libraries, catalogues, migrations, fonts, the
    procedure catalogue) and no test tool or server dependency is."""
    modules = _modules(desktop_bundle / "motcua-desktop")
    for needed in (
        "kivy",
        "desktop.app",
        "desktop.cli.commands_hardware",
        "hardware.scanners",
        "sane",
        "usb.core",
        "zxingcpp",
        "pikepdf",
        "cryptography",
        "ocrmypdf",
        "pyhanko",
        "escpos",
        "serial",
        "holidays.countries.vietnam",
        "babel.numbers",
        "sqlcipher3.dbapi2",
        "sqlalchemy.dialects.sqlite.pysqlcipher",
        "keyring.backends.SecretService",
    ):
        assert needed in modules, needed
    leaked = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)
    assert not leaked, leaked
    inside = desktop_bundle / "_internal"
    assert not [p.name for p in inside.iterdir() if p.name.split(".")[0] in FORBIDDEN]
    for path in (
        "core/data/catalogue.json",
        "core/locale/vi/LC_MESSAGES/motcua.mo",
        "desktop/locale/vi/LC_MESSAGES/motcua.mo",
        "hardware/locale/vi/LC_MESSAGES/motcua.mo",
        "core/storage/migrations/env.py",
        "core/documents/fonts/DejaVuSerifCondensed.ttf",
        "desktop/fonts/NotoSans-Regular.ttf",
        "kivy_install/data",
        "escpos/capabilities.json",
        "babel/locale-data/vi.dat",
        "fpdf/data/color_profiles/sRGB2014.icc",
    ):
        assert (inside / path).exists(), path
    assert not list(inside.rglob("*.po")), "catalogues ship compiled"
    # SANE comes from the system (its backends must match its library), so does the C++
    # runtime (the system's OpenGL driver needs its own); libusb is inside.
    for system_library in ("libsane.so*", "libstdc++.so*", "libgcc_s.so*"):
        assert not list(inside.glob(system_library)), system_library
    assert list(inside.glob("libusb-1.0.so*"))


def _counter_day(program: Path, env: dict[str, str], store: Path, work: Path) -> str:
    """init, a user, a dossier received, its slip, the audit — all through ``motcua``."""
    base = ["--data-dir", str(store), "--json"]
    run(
        program,
        *base,
        "init",
        "--unit-code",
        "TAYHO",
        "--branch-name",
        "Chi nhánh Tây Hồ",
        env={**env, **ADMIN},
    )
    run(
        program,
        *base,
        "user",
        "add",
        "lan",
        "--role",
        "officer",
        "--full-name",
        "Nguyễn Thị Lan",
        env={**env, **ADMIN, "MOTCUA_NEW_PASSWORD": OFFICER["MOTCUA_PASSWORD"]},
    )
    applicant = work / "applicant.json"
    applicant.write_text(json.dumps(APPLICANT, ensure_ascii=False), encoding="utf-8")
    received = run(
        program,
        *base,
        "dossier",
        "receive",
        "--procedure",
        "HT-KS",
        "--applicant",
        str(applicant),
        "--component",
        "to-khai",
        "--component",
        "giay-chung-sinh",
        "--component",
        "giay-to-tuy-than",
        env={**env, **OFFICER},
    )
    code = json.loads(received.stdout)["code"]
    run(
        program,
        *base,
        "print",
        "slip",
        code,
        "--form",
        "01",
        "--out",
        str(work / "slip.pdf"),
        env={**env, **OFFICER},
    )
    return code


def test_the_frozen_command_keeps_an_encrypted_store(
    desktop_bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """GIVEN no keystore WHEN the frozen ``motcua`` creates a store with ``--encrypt``
    under a branch passphrase THEN it opens again with it (SQLCipher and keyring are in
    the bundle) and a wrong passphrase is exit 12, one line."""
    store = tmp_path / "store"
    env = {**clean_env, **ADMIN, "MOTCUA_KEYSTORE": "off", "MOTCUA_PASSPHRASE": "chi nhánh 2026"}
    base = ["--data-dir", str(store), "--json"]
    run(desktop_bundle / "motcua", *base, "init", "--encrypt", "--unit-code", "TAYHO",
        "--branch-name", "Tây Hồ", env=env)  # fmt: skip
    status = run(desktop_bundle / "motcua", *base, "store", "status", env=env)
    assert json.loads(status.stdout)["encrypted"] is True
    wrong = subprocess.run(
        [str(desktop_bundle / "motcua"), *base, "catalog", "list"],
        env={**env, "MOTCUA_PASSPHRASE": "not it at all"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 12 and wrong.stderr.count("\n") == 1, wrong.stderr


def test_a_counter_day_through_the_frozen_command(
    desktop_bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """GIVEN a clerk's fresh account WHEN the frozen ``motcua`` creates a store, receives a
    dossier, prints its receipt slip and audits the chains THEN the slip carries the code
    in its text and in its QR code, and the audit passes."""
    program = desktop_bundle / "motcua"
    code = _counter_day(program, clean_env, tmp_path / "store", tmp_path)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "slip.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert code in text and "GIẤY TIẾP NHẬN HỒ SƠ" in text
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            str(tmp_path / "slip.pdf"),
            str(tmp_path / "slip"),
        ],
        check=True,
    )
    decoded = run(program, "--json", "decode", str(tmp_path / "slip.png"), env=clean_env)
    assert [d["dossier_code"] for d in json.loads(decoded.stdout)] == [code]
    audit = run(
        program,
        "--data-dir",
        str(tmp_path / "store"),
        "--json",
        "verify",
        env={**clean_env, **ADMIN},
    )
    assert json.loads(audit.stdout)["ok"] is True


def test_messages_speak_vietnamese_from_the_bundled_catalogues(
    desktop_bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    done = run(
        desktop_bundle / "motcua",
        "--lang",
        "vi",
        "--data-dir",
        str(tmp_path / "none"),
        "catalog",
        "list",
        env=clean_env,
        check=False,
    )
    assert done.returncode != 0
    assert "motcua init" in done.stderr and "Chưa có dữ liệu" in done.stderr, done.stderr


def test_a_scan_through_the_systems_sane(
    desktop_bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """The system's libsane with its `test` backend, driven by the frozen command."""
    (Path(clean_env["SANE_CONFIG_DIR"]) / "dll.conf").write_text("test\n", encoding="utf-8")
    program = desktop_bundle / "motcua"
    devices = json.loads(run(program, "--json", "devices", "--no-discover", env=clean_env).stdout)
    assert "sane:test:0" in [d["id"] for d in devices["scanners"]]
    assert isinstance(devices["usb"], list), devices["usb"]  # the bundled libusb loads
    out = tmp_path / "scan.pdf"
    run(
        program,
        "--json",
        "scan",
        "--device",
        "sane:test:0",
        "--resolution",
        "75",
        "--out",
        str(out),
        env=clean_env,
    )
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+1$", info.stdout, re.MULTILINE), info.stdout


def test_the_offscreen_tour_draws_the_screens(
    desktop_bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """GIVEN the frozen desktop on SDL's offscreen driver WHEN it runs its tour on demo
    data THEN the login and dashboard screens are real pictures of the window."""
    shots = tmp_path / "shots"
    run(
        desktop_bundle / "motcua-desktop",
        "--data-dir",
        str(tmp_path / "demo"),
        "--lang",
        "en",
        "--tour",
        str(shots),
        env=clean_env,
        timeout=600,
    )
    names = sorted(p.name for p in shots.glob("*.png"))
    assert len(names) >= 17, names
    for screen in ("login", "dashboard"):
        (picture,) = shots.glob(f"*-{screen}.png")
        with Image.open(picture) as image:
            assert image.size == (1366, 768)
            assert len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 50, screen


def test_the_frozen_app_writes_only_to_the_users_data_folder(
    desktop_bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """GIVEN a snapshot of the bundle's files WHEN the command works and the desktop starts
    THEN nothing next to the executables changed, and Kivy's settings went to the user's
    data folder (platformdirs), not ``~/.kivy``."""
    before = snapshot(desktop_bundle)
    _counter_day(desktop_bundle / "motcua", clean_env, tmp_path / "store", tmp_path)
    store = ["--data-dir", str(tmp_path / "store")]
    run(desktop_bundle / "motcua", *store, "verify", env={**clean_env, **ADMIN})
    run(desktop_bundle / "motcua-desktop", "--check", *store, env=clean_env)
    assert snapshot(desktop_bundle) == before
    home = Path(clean_env["HOME"])
    assert (home / ".local" / "share" / "motcua" / "kivy" / "config.ini").exists()
    assert not (home / ".kivy").exists()


def test_programs_it_starts_get_the_callers_library_path(
    desktop_bundle: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """GIVEN CUPS's `lpstat` (a stand-in that records its environment) WHEN the frozen
    command lists printers THEN `lpstat` sees the caller's LD_LIBRARY_PATH, not the
    bundle's folder (the bootloader's setting would make system programs load the
    bundle's libraries)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    seen = tmp_path / "lpstat.env"
    (tools / "lpstat").write_text(
        f'#!/bin/sh\necho "LD_LIBRARY_PATH=${{LD_LIBRARY_PATH-unset}}" > {seen}\n'
        'case "$1" in -e) echo office ;; -d) echo "system default destination: office" ;; esac\n',
        encoding="utf-8",
    )
    shutil.copy(tools / "lpstat", tools / "lp")
    for tool in tools.iterdir():
        tool.chmod(0o755)
    env = {**clean_env, "PATH": f"{tools}:{clean_env['PATH']}", "LD_LIBRARY_PATH": "/opt/vendor"}
    devices = json.loads(
        run(desktop_bundle / "motcua", "--json", "devices", "--no-discover", env=env).stdout
    )
    assert [p["name"] for p in devices["printers"]] == ["office"]
    assert seen.read_text().strip() == "LD_LIBRARY_PATH=/opt/vendor"
    env.pop("LD_LIBRARY_PATH")
    run(desktop_bundle / "motcua", "--json", "devices", "--no-discover", env=env)
    assert seen.read_text().strip() == "LD_LIBRARY_PATH=unset"
