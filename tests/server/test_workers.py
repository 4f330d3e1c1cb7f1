"""``motcua-server serve --workers 2``: two processes on one port and one database.

Pushes from several desktops land in either process at once; the branch's row lock must
still hand out ``server_seq`` without gaps or repeats, and a blob's chunks may reach
either process (the cross-process chunk lock, the running hash rebuilt from the file).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from core.domain.events import Event
from core.services.branch import Branch
from core.services.sync import agent_for, enroll
from core.storage import event_store
from core.storage import schema as lt
from core.sync.blobs import file_sha256
from core.sync.client import Credentials, PrefixHasher, SyncClient
from sync_server import identity
from sync_server import schema as st
from sync_server.db import make_engine
from tests.sync.fixtures import attach_blob, receive
from tests.sync.live import BACKENDS, database

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def two_workers(folder: Path, url: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    args = ["--data-dir", str(folder), "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "sync_server.cli", *args], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/v1/health", timeout=1).raise_for_status()
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("serve --workers 2 did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def own_events(desk: Branch) -> list[Event]:
    with desk.store.read() as conn:
        rows = conn.execute(
            lt.events.select()
            .where(lt.events.c.origin_device == desk.device_id)
            .order_by(lt.events.c.origin_seq)
        )
        return [event_store._row_to_event(r) for r in rows]


def upload_over_fresh_connections(server: str, desk: Branch, scan: Path) -> str:
    """Upload `scan` in 512 KiB chunks, each on a new connection, so that both processes
    receive some of them; returns its SHA-256."""
    closing = requests.Session()
    closing.headers["Connection"] = "close"
    client = SyncClient(server, Credentials(desk.device_id, desk.key), session=closing)
    sha = file_sha256(scan)
    size = scan.stat().st_size
    cutter = PrefixHasher(scan, 0)
    while cutter.at < size:
        client.upload_chunk(sha, size, cutter.next_slice(512 * 1024))
    assert client.commit_blob(sha, size).complete
    return sha


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_server_processes_keep_every_event_once_and_in_order(
    backend: str, tmp_path: Path
) -> None:
    """GIVEN `serve --workers 2` on one database, and four desktops of a branch with 12
    dossiers each, plus a 9 MiB scan on the first
    WHEN the four push at once in batches of 3 events, and the scan is uploaded in 512 KiB
    chunks over fresh connections (so both processes take some)
    THEN the branch's server_seq runs 1..N without a gap or a repeat, every device's
    sequence is contiguous, a fresh desktop pulls all 48 dossiers, and downloads the scan
    byte for byte."""
    folder = tmp_path / "server"
    folder.mkdir()
    with database(backend, folder) as url, two_workers(folder, url) as server:
        engine = make_engine(url)
        identity.add_branch(engine, "W2", "Chi nhánh hai tiến trình")
        desks = []
        for n in range(5):
            desk = Branch.init(tmp_path / f"desk{n}", "W2", "x", ("admin", "admin-pass-1"))
            enroll(desk, server, str(identity.new_enrol_code(engine, "W2", 600)["code"]))
            desks.append(desk)
        writers, fresh = desks[:4], desks[4]
        for desk in writers:
            for _ in range(12):
                receive(desk)
        chains = [own_events(desk) for desk in writers]
        failures: list[BaseException] = []

        def push(desk: Branch, chain: list[Event]) -> None:
            client = SyncClient(server, Credentials(desk.device_id, desk.key))
            try:
                for start in range(0, len(chain), 3):
                    client.push(chain[start : start + 3])
            except BaseException as err:  # reported below, in the test's thread
                failures.append(err)

        threads = [
            threading.Thread(target=push, args=pair) for pair in zip(writers, chains, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        scan = tmp_path / "scan.pdf"
        scan.write_bytes(os.urandom(9 * 1024 * 1024 + 123))
        sha = upload_over_fresh_connections(server, writers[0], scan)

        with engine.connect() as conn:
            rows = conn.execute(
                select(st.events.c.server_seq, st.events.c.origin_device, st.events.c.origin_seq)
                .where(st.events.c.branch == "W2")
                .order_by(st.events.c.server_seq)
            ).all()
        assert [r.server_seq for r in rows] == list(range(1, len(rows) + 1))
        for desk, chain in zip(writers, chains, strict=True):
            seqs = sorted(r.origin_seq for r in rows if r.origin_device == desk.device_id)
            assert seqs == list(range(1, len(seqs) + 1))
            assert seqs[-1] == chain[-1].origin_seq

        # A desk reads the scans its branch's events name: attach it to a dossier.
        attach_blob(writers[0], writers[0].dossiers.browse(None, 1)[0].id, sha)
        agent_for(writers[0]).sync_once()
        agent_for(fresh).sync_once()
        assert len(fresh.dossiers.browse(None, 100)) == 48
        reader = SyncClient(server, Credentials(fresh.device_id, fresh.key))
        assert b"".join(reader.download(sha, 0, 1 << 20)) == scan.read_bytes()
        for desk in desks:
            desk.close()
        engine.dispose()
