"""A chunk's bytes start towards the disk while it arrives, so that the commit's fsync
(the durability the desktop is told of) finds little left to write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sync_server import blobstore

SHA = "cd" + "0" * 62
MIB = 1024 * 1024


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_writeback_starts_every_step_and_for_the_rest_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a chunk of 20 MiB written at offset 2 MiB, in batches of 1 MiB
    WHEN it is written, then its writeback is started for what is left (as ``record`` does)
    THEN the kernel was asked to start writing each 8 MiB as it was written, then the last
    4 MiB, covering the chunk once and in order; the file holds the bytes."""
    asked: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        asked.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(blobstore.os, "posix_fadvise", spy)
    partial = blobstore.addr.partial_path(tmp_path, SHA)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"p" * 2 * MIB)
    writer = blobstore.ChunkWriter(tmp_path, SHA, 2 * MIB, 64 * MIB)
    for n in range(20):
        piece = bytes([n]) * MIB
        writer.take(len(piece))
        writer.write([piece])
    writer.start_writeback()
    writer.handle.close()
    step = 8 * MIB
    assert asked == [(2 * MIB, step), (2 * MIB + step, step), (2 * MIB + 2 * step, 4 * MIB)]
    body = partial.read_bytes()
    assert len(body) == 22 * MIB and body[2 * MIB + 19 * MIB :] == bytes([19]) * MIB
