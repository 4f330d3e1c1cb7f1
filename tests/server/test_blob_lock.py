"""Two server processes never write chunks of one blob at the same time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sync_server import blobstore

SHA = "ab" + "0" * 62
ROOT = Path(__file__).resolve().parents[2]


def test_chunk_lock_queues_a_second_process(tmp_path: Path) -> None:
    """GIVEN another process holding the chunk lock of a blob for half a second
    WHEN this process asks for the same lock
    THEN it gets it only after the other released it (the other wrote its mark first)."""
    mark = tmp_path / "released"
    child = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from sync_server import blobstore
        lock = blobstore.ChunkLock(Path({str(tmp_path)!r}), {SHA!r})
        print("held", flush=True)
        time.sleep(0.5)
        Path({str(mark)!r}).write_text("yes")
        lock.release()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    started = time.monotonic()
    lock = blobstore.ChunkLock(tmp_path, SHA)
    waited = time.monotonic() - started
    try:
        assert mark.read_text() == "yes"
        assert waited > 0.2
    finally:
        lock.release()
        proc.wait(10)
    assert proc.returncode == 0


def test_chunk_locks_of_other_stripes_do_not_wait(tmp_path: Path) -> None:
    """GIVEN the lock of one blob held
    WHEN a blob of another stripe (first byte) is locked in the same process
    THEN it is granted at once."""
    held = blobstore.ChunkLock(tmp_path, SHA)
    other = blobstore.ChunkLock(tmp_path, "cd" + "0" * 62)
    other.release()
    held.release()
    assert sorted(p.name for p in (tmp_path / "partial" / "locks").iterdir()) == [
        "ab.lock",
        "cd.lock",
    ]
