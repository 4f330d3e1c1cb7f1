"""A server whose disk fills up during an upload: a specific answer, nothing half-kept,
and the upload completes once there is room again. The disk is a real tmpfs of 6 MiB
mounted over the server's blob folder (needs root, as the suite has under make test)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.i18n import set_language
from core.services.sync import LocalReplica
from core.sync.errors import ServerRefused
from sync_server import blobstore
from tests.sync.fixtures import Net


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs needs root: run the suite as make test does")
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    subprocess.run(command, check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_disk_answers_507_keeps_nothing_half_written_and_the_upload_resumes(
    net: Net, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a server whose blob folder is a 6 MiB disk, and a desktop with a 12 MiB scan
    WHEN the desktop syncs
    THEN the sync fails with 507 disk-full (in the desk's language, Vietnamese), the server holds
    no complete copy and its partial file ends on a chunk boundary; once the disk has room
    again (the partial lost with it), the next sync sends the scan from the file's length
    and the server holds it whole."""
    desk = net.desktop(net.branch())
    monkeypatch.setenv("MOTCUA_LANG", "vi")
    set_language(None)  # the desk asks the server for its user's language
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(bytes(range(256)) * (12 * 4096))
    sha = LocalReplica(desk).add_blob(scan)
    blobs_dir = net.server.settings.blobs_dir
    with small_disk(blobs_dir, "6m"):
        with pytest.raises(ServerRefused) as refused:
            net.agent(desk).sync_once()
        assert refused.value.status == 507
        assert refused.value.problem["title"] == "disk-full"
        assert "đầy" in str(refused.value.problem["detail"])
        assert net.client(desk).missing([sha]) == [sha]
        uploader = blobstore.Uploader(desk.device_id, desk.branch_code)
        partial = blobstore.addr.partial_path(uploader.folder(blobs_dir), sha)
        held = partial.stat().st_size if partial.exists() else 0
        assert held % (1024 * 1024) == 0 and held < scan.stat().st_size
    # The partial went with the small disk while the server's row still counts its first
    # chunk: the status tells the file's length (as after a power cut), and the upload
    # starts again from there.
    assert net.client(desk).blob_status(sha, scan.stat().st_size).received == 0
    summary = net.agent(desk).sync_once()
    assert summary.blobs_up == 1
    assert net.client(desk).missing([sha]) == []
    assert blobstore.addr.blob_path(blobs_dir, sha).read_bytes() == scan.read_bytes()


def test_a_chunk_refused_by_a_full_disk_is_cut_back_even_when_closing_fails(
    tmp_path: Path,
) -> None:
    """GIVEN a blob's partial file holding 64 KiB on a 1 MiB disk, and a chunk written in
    small pieces (as a slow network delivers them) until the disk is full
    WHEN the chunk is forgotten (closing the file fails too: its buffered tail cannot be
    written)
    THEN the file ends where the chunk began."""
    from sqlalchemy import create_engine

    folder = tmp_path / "disk"
    folder.mkdir()
    sha = "ef" + "0" * 62
    with small_disk(folder, "1m"):
        partial = blobstore.addr.partial_path(folder, sha)
        partial.parent.mkdir(parents=True)
        partial.write_bytes(b"k" * 65_536)
        writer = blobstore.ChunkWriter(folder, sha, 65_536, 4 * 1024 * 1024)
        assert fill_up(writer) == errno.ENOSPC
        writer.abort(create_engine("sqlite://"))
        assert partial.stat().st_size == 65_536


def fill_up(writer: blobstore.ChunkWriter) -> int | None:
    """Write 1500-byte pieces until the disk refuses; the error number."""
    for _ in range(2000):
        writer.take(1500)
        try:
            writer.write([b"z" * 1500])
        except OSError as err:
            return err.errno
    return None


def test_the_disk_full_answer_is_published(net: Net) -> None:
    """GIVEN the server's OpenAPI
    THEN the chunk and commit operations document 507 as a problem, as they may answer."""
    import requests

    spec = requests.get(net.server.url + "/openapi.json", timeout=10).json()
    blob = spec["paths"]["/v1/blobs/{sha256}"]["put"]["responses"]
    commit = spec["paths"]["/v1/blobs/{sha256}/commit"]["post"]["responses"]
    for responses in (blob, commit):
        assert "application/problem+json" in responses["507"]["content"]
