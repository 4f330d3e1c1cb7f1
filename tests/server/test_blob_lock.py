"""One chunk of a blob at a time, across server processes, without a thread ever waiting."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sync_server import blobstore

SHA = "ab" + "0" * 62
OTHER = "ab" + "1" * 62  # same first byte: no striping, each blob has its own lock
ROOT = Path(__file__).resolve().parents[2]


def test_chunk_lock_is_refused_while_another_process_holds_it(tmp_path: Path) -> None:
    """GIVEN another process holding the chunk lock of a blob
    WHEN this process tries the same lock, and the lock of another blob
    THEN the first is refused at once (no waiting thread), the second granted; once the
    other process released, the first is granted."""
    child = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from sync_server import blobstore
        lock = blobstore.ChunkLock.try_acquire(Path({str(tmp_path)!r}), {SHA!r})
        print("held" if lock else "refused", flush=True)
        sys.stdin.readline()
        lock.release()
        print("released", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "held"
        assert blobstore.ChunkLock.try_acquire(tmp_path, SHA) is None
        other = blobstore.ChunkLock.try_acquire(tmp_path, OTHER)
        assert other is not None
        other.release()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "released"
        mine = blobstore.ChunkLock.try_acquire(tmp_path, SHA)
        assert mine is not None
        mine.release()
    finally:
        proc.kill()
        proc.wait(10)
