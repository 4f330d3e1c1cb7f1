"""`motcua backup` while the desk works, `motcua restore` onto a new machine with a new
identity, re-enrolment and sync: nothing lost, nothing duplicated; bad files refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.services.branch import Branch
from core.services.sync import LocalReplica, agent_for, enroll
from core.storage import event_store
from core.storage import schema as t
from core.sync.agent import SyncSummary
from desktop.cli.main import main
from sync_server import schema as st
from tests.sync.fixtures import Net, add_clerks, receive
from tests.sync.live import live_server

ADMIN = ("admin", "admin-pass-1")
SECRET = "correct horse battery"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_LANG", "en")
    monkeypatch.setenv("MOTCUA_BACKUP_PASSPHRASE", SECRET)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["--json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, (json.loads(out) if out.strip() else None), err


def dossier_ids(desk: Branch) -> set[str]:
    with desk.store.read() as conn:
        return {r.id for r in conn.execute(select(t.dossiers.c.id))}


def event_hashes(desk: Branch) -> set[str]:
    with desk.store.read() as conn:
        return {r.hash for r in conn.execute(select(t.events.c.hash))}


def test_backup_while_writing_then_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a desk receiving dossiers in a loop WHEN it is backed up meanwhile and the
    backup restored in a new folder THEN the restored store holds a consistent prefix of
    the desk's log (every dossier of its events), every scan, and a new device identity."""
    desk = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ADMIN)
    add_clerks(desk)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7 " + b"x" * 300_000)
    sha = LocalReplica(desk).add_blob(scan)
    receive(desk)
    stop = threading.Event()
    written: list[int] = []
    # A desk's block holds 500 dossier numbers a day: a slow backup (a loaded CI machine)
    # must not let the writer use them all, or neither it nor the restored desk can receive.
    most = 200

    def keep_receiving() -> None:
        writer = Branch.open(desk.data_dir)
        try:
            while not stop.is_set() and len(written) < most:
                receive(writer)
                written.append(1)
        finally:
            writer.close()

    thread = threading.Thread(target=keep_receiving)
    thread.start()
    try:
        while len(written) < 3:
            stop.wait(0.05)
        code, made, err = cli(
            capsys, "--data-dir", str(desk.data_dir), "backup", "--out", str(tmp_path / "b.mcb")
        )
    finally:
        stop.set()
        thread.join(60)
    assert code == 0, err
    assert made["blobs"] == 1 and made["dossiers"] >= 1
    assert (tmp_path / "b.mcb").stat().st_mode & 0o777 == 0o600
    assert b"Nguy" not in (tmp_path / "b.mcb").read_bytes()  # encrypted

    new = tmp_path / "new"
    code, restored, err = cli(capsys, "--data-dir", str(new), "restore", str(tmp_path / "b.mcb"))
    assert code == 0, err
    assert "motcua enroll" in restored["next"]
    assert restored["device_id"] != desk.device_id == restored["old_device_id"]
    again = Branch.open(new)
    try:
        assert again.device_id == restored["device_id"]
        assert again.key.public_b64 != desk.key.public_b64
        assert event_hashes(again) <= event_hashes(desk)
        assert len(dossier_ids(again)) == made["dossiers"] == restored["dossiers"]
        assert (new / "blobs" / sha[:2] / sha).read_bytes() == scan.read_bytes()
        assert restored["unsent_events"] > 0 and Path(restored["unsent_export"]).is_file()
        # The restored desk works on under its new identity, after the old chain.
        receive(again)
        with again.store.read() as conn:
            assert event_store.device_head(conn, again.device_id)[0] == 1
    finally:
        again.close()
        desk.close()


def test_refusals_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ADMIN)
    desk.close()
    backup = tmp_path / "b.mcb"
    assert cli(capsys, "--data-dir", str(desk.data_dir), "backup", "--out", str(backup))[0] == 0
    # An existing file is never overwritten.
    code, _, err = cli(capsys, "--data-dir", str(desk.data_dir), "backup", "--out", str(backup))
    assert code == 2 and "already exists" in err
    data = backup.read_bytes()
    cases = {
        "wrong": (data, 2, "Wrong passphrase"),
        "cut": (data[: len(data) // 2], 8, "cut short"),
        "altered": (data[:3000] + bytes([data[3000] ^ 1]) + data[3001:], 8, "altered"),
        "trailing": (data + b"more", 8, "altered"),
        "not-a-backup": (b"hello", 8, "not a Một Cửa backup"),
    }
    for name, (content, expected, words) in cases.items():
        source = tmp_path / f"{name}.mcb"
        source.write_bytes(content)
        target = tmp_path / f"target-{name}"
        if name == "wrong":
            monkeypatch.setenv("MOTCUA_BACKUP_PASSPHRASE", "not the passphrase")
        code, out, err = cli(capsys, "--data-dir", str(target), "restore", str(source))
        monkeypatch.setenv("MOTCUA_BACKUP_PASSPHRASE", SECRET)
        assert code == expected, (name, err)
        assert words in err and err.count("\n") == 1, (name, err)
        assert out is None and not target.exists(), name
        assert not [p for p in tmp_path.iterdir() if ".restore-" in p.name], name
    # A folder that already holds a store is refused.
    code, _, err = cli(capsys, "--data-dir", str(desk.data_dir), "restore", str(backup))
    assert code == 2 and "not empty" in err
    monkeypatch.delenv("MOTCUA_BACKUP_PASSPHRASE")
    code, _, err = cli(capsys, "--data-dir", str(tmp_path / "x"), "restore", str(backup))
    assert code == 2 and "MOTCUA_BACKUP_PASSPHRASE" in err


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    with live_server("sqlite", tmp_path / "server") as server:
        network = Net(server, tmp_path)
        try:
            yield network
        finally:
            network.close()


def server_rows(net: Net, origin: str) -> list[tuple[int, str]]:
    query = select(st.events.c.origin_seq, st.events.c.hash).where(
        st.events.c.origin_device == origin
    )
    with net.engine.connect() as conn:
        return sorted((r.origin_seq, r.hash) for r in conn.execute(query))


def test_restore_reenrol_sync(net: Net, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN an enrolled desk with synced dossiers and one the server never received
    WHEN its backup is restored on a new machine, enrolled again and synced THEN the
    server has every event once, the unsent one relayed under the old identity; the new
    desk signs as itself, and the old key is nowhere in the new folder."""
    branch = net.branch()
    old = net.desktop(branch)
    receive(old)
    net.agent(old).sync_once()
    unsent = receive(old)
    code, _, err = cli(
        capsys, "--data-dir", str(old.data_dir), "backup", "--out", str(tmp_path / "b.mcb")
    )
    assert code == 0, err
    old_chain = {e.hash for e in _chain(old, old.device_id)}
    assert len(server_rows(net, old.device_id)) == len(old_chain) - 1

    new = tmp_path / "restored"
    code, restored, err = cli(capsys, "--data-dir", str(new), "restore", str(tmp_path / "b.mcb"))
    assert code == 0, err
    assert restored["unsent_events"] == 1 and "Revoke the old desk" in restored["warning"]
    assert old.key.to_pem() not in b"".join(p.read_bytes() for p in new.rglob("*") if p.is_file())
    desk = Branch.open(new)
    try:
        with pytest.raises(Exception, match="not enrolled"):
            agent_for(desk)
        enroll(desk, net.server.url, net.code(branch), label="restored")
        agent_for(desk).sync_once(lambda _p: None)
        # Nothing lost, nothing duplicated: the old chain whole, once.
        assert {h for _s, h in server_rows(net, old.device_id)} == old_chain
        assert unsent.id in dossier_ids(desk)
        view = receive(desk)
        agent_for(desk).sync_once(lambda _p: None)
        mine = server_rows(net, desk.device_id)
        assert [s for s, _h in mine] == list(range(1, len(mine) + 1)) and mine
        assert len(server_rows(net, old.device_id)) == len(old_chain)
        # The old desk is retired at the centre; the restored desk syncs on.
        from sync_server import identity

        identity.revoke(net.engine, net.key, old.device_id)
        receive(desk)
        summary = agent_for(desk).sync_once(lambda _p: None)
        assert isinstance(summary, SyncSummary)
        assert view.id in dossier_ids(desk)
        assert len(server_rows(net, desk.device_id)) == len(mine) + 1
    finally:
        desk.close()


def _chain(desk: Branch, device: str) -> list[Any]:
    with desk.store.read() as conn:
        return list(event_store.chain(conn, device))


def test_a_damaged_store_is_not_backed_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a desk whose store has a damaged page that its counts never read (so the
    backup's summary alone would look right)
    WHEN it is backed up
    THEN exit 8 naming the damage, and no backup file (the earlier ones stay the newest)."""
    desk = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ADMIN)
    add_clerks(desk)
    for _ in range(30):
        receive(desk)
    desk.close()
    store = tmp_path / "desk" / "motcua.db"
    size = store.stat().st_size
    with store.open("r+b") as handle:  # a page in the middle: the header stays sound
        handle.seek(size // 2 // 4096 * 4096)
        handle.write(b"\xa5" * 4096)
    out = tmp_path / "damaged.mcb"
    code, _, err = cli(capsys, "--data-dir", str(tmp_path / "desk"), "backup", "--out", str(out))
    assert code == 8, err
    assert "is damaged: no backup was written" in err
    assert not out.exists() and not list(tmp_path.glob(".damaged.mcb*"))


def test_restore_into_an_existing_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a backup and an empty folder branch IT made for it (docs: "a new or empty
    folder"), and a folder holding other files
    WHEN restored into each
    THEN the empty one receives the desk; the other is refused with nothing written into
    it (not even the command's log)."""
    desk = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ADMIN)
    desk.close()
    backup = tmp_path / "b.mcb"
    assert cli(capsys, "--data-dir", str(desk.data_dir), "backup", "--out", str(backup))[0] == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli(capsys, "--data-dir", str(empty), "restore", str(backup))
    assert code == 0, err
    assert (empty / "motcua.db").is_file(), out
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    code, _, err = cli(capsys, "--data-dir", str(other), "restore", str(backup))
    assert code == 2 and "not empty" in err
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    code, _, err = cli(capsys, "--data-dir", str(other / "notes.txt"), "restore", str(backup))
    assert code == 2 and "is a file" in err
    code, _, err = cli(capsys, "--data-dir", str(tmp_path / "new"), "restore", str(other))
    assert code == 2 and "is a folder, not a backup file" in err


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system that goes read-only (a tmpfs remounted so), as a failing disk
    does: mounting needs root, as `make test` runs in CI."""
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not let root mount a file system: {mounted.stderr}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_desk_on_a_disk_gone_read_only_is_backed_up(
    tmp_path: Path,
    read_only_disk: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a desk whose disk went read-only while it worked (its last dossiers still in
    the write-ahead log), which no command can open there
    WHEN `motcua backup` is run to another disk
    THEN the backup holds every dossier, the WAL's too, and its scan; it says how it was
    made, leaves nothing beside it, and restores."""
    desk = Branch.init(tmp_path / "desk", "TAYHO", "Tây Hồ", ADMIN)
    add_clerks(desk)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7 " + b"x" * 100_000)
    sha = LocalReplica(desk).add_blob(scan)
    for _ in range(3):
        receive(desk)
    wanted = dossier_ids(desk)
    # The desk's folder as the disk held it when it turned read-only: the store still open,
    # its last writes in the WAL only.
    on_disk = read_only_disk / "desk"
    shutil.copytree(desk.data_dir, on_disk)
    desk.close()
    assert (on_disk / "motcua.db-wal").stat().st_size > 0
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_disk)], check=True)
    monkeypatch.setenv("MOTCUA_USER", ADMIN[0])
    monkeypatch.setenv("MOTCUA_PASSWORD", ADMIN[1])
    code, _, err = cli(capsys, "--data-dir", str(on_disk), "dossier", "list")
    assert code == 8 and "read-only" in err

    _, found, _ = cli(
        capsys, "--data-dir", str(on_disk), "doctor", "--offline", "--no-lan", "--no-devices"
    )
    folder = next(f for f in found["findings"] if f["check"] == "data_dir")
    assert folder["level"] == "failure" and "motcua backup --out" in folder["fix"]

    out = tmp_path / "elsewhere" / "rescue.mcb"
    out.parent.mkdir()
    (out.parent / ".motcua-rescue-cut-short").mkdir()  # a rescue a power cut stopped
    (out.parent / ".motcua-rescue-cut-short" / "device.key").write_bytes(b"key")
    code, made, err = cli(capsys, "--data-dir", str(on_disk), "backup", "--out", str(out))
    assert code == 0, err
    assert (made["dossiers"], made["blobs"]) == (len(wanted), 1)
    assert "read-only disk" in made["note"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["rescue.mcb"]

    new = tmp_path / "new"
    code, _, err = cli(capsys, "--data-dir", str(new), "restore", str(out))
    assert code == 0, err
    again = Branch.open(new)
    try:
        assert dossier_ids(again) == wanted
        assert (new / "blobs" / sha[:2] / sha).read_bytes() == scan.read_bytes()
    finally:
        again.close()
