"""SIGKILL of the sync process at random points of push, pull and blob transfer."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from core.services.branch import Branch
from core.services.sync import LocalReplica
from core.storage import replication
from core.sync.blobs import blob_path
from core.sync.wire import CHUNK_SIZE
from sync_server import blobstore
from sync_server import schema as st

from .fixtures import OFFICER, Net, attach_blob, receive, snapshot

CHILD = Path(__file__).with_name("sync_child.py")
ROOT = Path(__file__).resolve().parents[2]


def start_child(desk: Branch) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PUSH_BATCH": "25", "PULL_PAGE": "25", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(desk.data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish(desk: Branch) -> None:
    child = start_child(desk)
    _out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()


def kill_after(child: subprocess.Popen[bytes], seconds: float) -> bool:
    """SIGKILL the child after `seconds`; True if it was still running."""
    try:
        child.wait(seconds)
        return False
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
        return True


def scan(tmp: Path, name: str, mib: int) -> Path:
    path = tmp / name
    rng = random.Random(name)
    path.write_bytes(rng.randbytes(mib * 1024 * 1024))
    return path


def busy_desktop(net: Net, branch: str, tmp: Path) -> tuple[Branch, str]:
    desk = net.desktop(branch)
    views = [receive(desk) for _ in range(20)]
    for n in range(180):
        desk.dossiers.note(OFFICER, views[n % len(views)].code, f"ghi chú {n}")
    sha = LocalReplica(desk).add_blob(scan(tmp, "big.pdf", 20))
    attach_blob(desk, views[0].id, sha)
    return desk, sha


def test_sigkill_during_sync_loses_and_duplicates_nothing(net: Net, tmp_path: Path) -> None:
    """GIVEN a desktop with 200 unsent events and a 20 MiB scan, and a fresh desktop
    WHEN each one's sync process is SIGKILLed at random moments many times, then finishes
    THEN the server and both desktops hold the same events once each, the scan arrived
    intact on both, and each cut re-sent at most one chunk."""
    branch = net.branch()
    a, sha = busy_desktop(net, branch, tmp_path)
    b = net.desktop(branch)
    rng = random.Random(7)
    kills = {"a": 0, "b": 0}
    for name, desk in (("a", a), ("b", b)):
        for _ in range(10):
            if not kill_after(start_child(desk), rng.uniform(0.3, 1.1)):
                break
            kills[name] += 1
    finish(a)
    finish(b)
    finish(a)
    assert kills["a"] >= 2 and kills["b"] >= 1
    with a.store.read() as conn:
        vector_a = replication.vector(conn)
    for desk in (a, b):
        with desk.store.read() as conn:
            for origin, seq in replication.vector(conn).items():
                assert replication.count_events_of(conn, origin) == seq
    assert snapshot(a)["events"] == snapshot(b)["events"]
    assert len(snapshot(a)["events"]) == net.server_events(branch)
    assert vector_a[a.device_id] >= 200
    size = 20 * 1024 * 1024
    # Each process starts at CHUNK_SIZE and doubles: a 20 MiB scan goes in chunks of at
    # most 2 * CHUNK_SIZE, and a kill costs at most the chunk it cut.
    assert blobstore.transferred(net.engine, sha) <= size + kills["a"] * 2 * CHUNK_SIZE
    assert (
        blob_path(LocalReplica(b).blob_root, sha).read_bytes()
        == blob_path(LocalReplica(a).blob_root, sha).read_bytes()
    )


def _received(net: Net, sha: str) -> int:
    """Bytes of the blob the server holds, over the uploads in progress."""
    uploads = st.blob_uploads
    with net.engine.connect() as conn:
        row = conn.execute(select(uploads.c.received).where(uploads.c.sha256 == sha)).first()
    return int(row.received) if row else 0


def test_cut_upload_resends_at_most_one_chunk(net: Net, tmp_path: Path) -> None:
    """GIVEN a desktop uploading a 48 MiB scan
    WHEN its process is killed once the server holds part of it, and sync runs again
    THEN the server received at most one chunk more than the scan's size (the process
    starts at CHUNK_SIZE and doubles: the kill lands in its second or third chunk)."""
    branch = net.branch()
    desk = net.desktop(branch)
    sha = LocalReplica(desk).add_blob(scan(tmp_path, "huge.pdf", 48))
    child = start_child(desk)
    deadline = time.monotonic() + 60
    while _received(net, sha) < CHUNK_SIZE and time.monotonic() < deadline:
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    cut_at = _received(net, sha)
    assert CHUNK_SIZE <= cut_at < 48 * 1024 * 1024
    finish(desk)
    assert blobstore.transferred(net.engine, sha) <= 48 * 1024 * 1024 + 4 * CHUNK_SIZE
    assert LocalReplica(desk).pending_blobs() == []


def test_cut_download_resumes_from_the_partial_file(net: Net, tmp_path: Path) -> None:
    """GIVEN a scan on the server that a second desktop must download
    WHEN its process is killed once part of the file arrived, and sync runs again
    THEN the file is complete and identical, and the resumed run fetched only the rest."""
    branch = net.branch()
    a = net.desktop(branch)
    sha = LocalReplica(a).add_blob(scan(tmp_path, "result.pdf", 48))
    attach_blob(a, receive(a).id, sha, "result.pdf")
    finish(a)
    b = net.desktop(branch)
    partial = LocalReplica(b).partial_blob(sha)
    child = start_child(b)
    deadline = time.monotonic() + 60
    while (
        not partial.exists() or partial.stat().st_size < CHUNK_SIZE
    ) and time.monotonic() < deadline:
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    have = partial.stat().st_size
    assert 0 < have < 48 * 1024 * 1024
    summary = net.agent(b).sync_once()
    assert summary.bytes_down == 48 * 1024 * 1024 - have
    assert (
        blob_path(LocalReplica(b).blob_root, sha).read_bytes()
        == (tmp_path / "result.pdf").read_bytes()
    )
