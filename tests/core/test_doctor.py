"""`motcua doctor`: each finding with a level and a fix; never a crash on a damaged store."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.services import doctor
from core.services.branch import Branch
from desktop.cli.main import main
from sync_server import identity
from tests.sync.fixtures import Net
from tests.sync.live import live_server

ADMIN = ("admin", "admin-pass-1")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(data))
    monkeypatch.setenv("MOTCUA_LANG", "en")
    return data


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["--json", "doctor", "--no-lan", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, json.loads(out), err


def by_check(report: Any) -> dict[str, dict[str, str]]:
    return {f["check"]: f for f in report["findings"]}


def test_healthy_desk(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN a new desk WHEN doctor runs (devices included) THEN no failure, exit 0, and a
    missing scanner or printer backend is at worst a warning."""
    Branch.init(env, "TAYHO", "Tây Hồ", ADMIN).close()
    code, report, _ = run(capsys, "--offline")
    assert code == 0 and report["ok"] is True
    found = by_check(report)
    for check in ("data_dir", "store", "migrations", "key", "disk", "log"):
        assert found[check]["level"] == "ok", found[check]
    assert found["enrolment"]["level"] == "warning"
    assert "motcua enroll" in found["enrolment"]["fix"]
    assert found["scanners"]["level"] in ("ok", "warning")
    assert found["printers"]["level"] in ("ok", "warning")


def test_key_readable_by_others(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Branch.init(env, "TAYHO", "Tây Hồ", ADMIN).close()
    (env / "device.key").chmod(0o644)
    code, report, _ = run(capsys, "--offline", "--no-devices")
    key = by_check(report)["key"]
    assert code == 0 and key["level"] == "warning"
    assert f"chmod 600 {env / 'device.key'}" in key["fix"]


def test_damaged_store_is_a_failure_not_a_crash(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Branch.init(env, "TAYHO", "Tây Hồ", ADMIN).close()
    with (env / "motcua.db").open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\xa5" * 20000)
    code, report, err = run(capsys, "--offline", "--no-devices")
    store = by_check(report)["store"]
    assert code == 8 and report["ok"] is False
    assert store["level"] == "failure" and "motcua restore" in store["fix"]
    assert err.count("\n") == 1 and "store" in err


def test_empty_store_and_missing_key(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.mkdir(mode=0o700)
    (env / "motcua.db").write_bytes(b"")
    code, report, _ = run(capsys, "--offline", "--no-devices")
    found = by_check(report)
    assert code == 8
    assert found["store"]["level"] == "failure" and found["key"]["level"] == "failure"


def test_disk_and_clock_levels() -> None:
    assert doctor._skew(5_000).level == "ok"
    assert doctor._skew(-90_000).level == "warning"
    assert doctor._skew(6 * 60_000).level == "failure"


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    with live_server("sqlite", tmp_path / "server") as server:
        network = Net(server, tmp_path)
        try:
            yield network
        finally:
            network.close()


def test_against_a_live_server(
    net: Net, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an enrolled desk WHEN doctor asks the server THEN enrolment, server and clock
    are ok; a clock 10 minutes off fails; once the centre revokes the desk, doctor says
    so with its fix and exits 11."""
    desk = net.desktop(net.branch())
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(desk.data_dir))
    monkeypatch.setenv("MOTCUA_LANG", "en")
    code, report, _ = run(capsys, "--no-devices")
    found = by_check(report)
    assert code == 0, found
    assert found["server"]["level"] == "ok"
    assert found["enrolment"]["level"] == "ok"
    assert found["clock"]["level"] == "ok"

    def late() -> int:
        return int(time.time() * 1000) - 10 * 60_000

    skewed = {f.check: f for f in doctor.check_server(desk, now_ms=late)}
    assert skewed["clock"].level == "failure"
    assert "NTP" in skewed["clock"].fix

    identity.revoke(net.engine, net.key, desk.device_id)
    code, report, err = run(capsys, "--no-devices")
    enrolment = by_check(report)["enrolment"]
    assert code == 11 and enrolment["level"] == "failure"
    assert "revoked" in enrolment["found"] and "Export unsent events" in enrolment["fix"]
    assert "enrolment" in err


def test_unreachable_server_is_a_warning(
    net: Net, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = net.desktop(net.branch())
    net.server.stop()
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(desk.data_dir))
    monkeypatch.setenv("MOTCUA_LANG", "en")
    code, report, _ = run(capsys, "--no-devices", "--timeout", "1")
    assert code == 0
    assert by_check(report)["server"]["level"] == "warning"


def test_peer_port_free_or_ours(tmp_path: Path) -> None:
    from core.services.peers import PeerService

    desk = Branch.init(tmp_path / "d", "TAYHO", "Tây Hồ", ADMIN)
    try:
        service = PeerService(desk).start("127.0.0.1", 0, advertise=False)
        try:
            (finding,) = doctor.check_peer_port(desk.device_id, service.port)
            assert finding.level == "ok" and "this desk" in finding.found
            (other,) = doctor.check_peer_port("someone-else", service.port)
            assert other.level == "warning"
        finally:
            service.stop()
    finally:
        desk.close()


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), doctor._ACCESS_FIX),
        (sqlite3.OperationalError("unable to open database file"), doctor._ACCESS_FIX),
        (PermissionError(13, "Permission denied"), doctor._ACCESS_FIX),
        (sqlite3.OperationalError("disk I/O error"), doctor._DISK_FIX),
        (sqlite3.OperationalError("database or disk is full"), doctor._DISK_FIX),
        (sqlite3.DatabaseError("database disk image is malformed"), doctor._RESTORE_FIX),
        (sqlite3.DatabaseError("file is not a database"), doctor._RESTORE_FIX),
    ],
)
def test_only_damage_is_told_to_restore_a_backup(error: Exception, fix: str) -> None:
    """A restore throws away every event since the last backup: it is the fix for damage,
    never for a store locked out by its permissions, a read-only or full disk."""
    assert doctor._fix_for(error) == fix


def test_a_missing_passphrase_is_not_damage(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an encrypted desk WHEN doctor runs without its passphrase THEN the store and
    key findings say to give the passphrase, and neither says to restore a backup."""
    Branch.init(env, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase="kho-bi-mat-1").close()
    monkeypatch.delenv("MOTCUA_PASSPHRASE", raising=False)
    code, report, _ = run(capsys, "--offline", "--no-devices")
    found = by_check(report)
    assert code == 8
    for check in ("store", "key"):
        assert "MOTCUA_PASSPHRASE" in found[check]["fix"], found[check]
        assert "motcua restore" not in found[check]["fix"]
