"""Blobs on the server: a directory of content-addressed files and their upload state.

An upload appends chunks at the offset the server reports (``received``); a chunk at any
other offset is refused with the offset to resume from. Each chunk is checked against the
signed SHA-256 of the blob's prefix up to its end, so the last chunk's check is the
blob's own hash; ``commit`` makes the file durable and serves it from then on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, Update, func, insert, select, text, update

from core.domain.errors import N_
from core.sync import blobs as addr
from core.sync.wire import MAX_CHUNK, BlobStatus

from . import schema as t
from .errors import Refusal
from .ingest import now_iso

if sys.platform != "win32":
    import fcntl
else:  # Windows: the in-process lock only
    fcntl = None

_WRITEBACK_STEP = 8 << 20

# Running SHA-256 of uploads in progress, fed as chunks are written: each chunk continues
# it, and ``commit`` need not read the file back. A process that did not see the earlier
# chunks (a restart, another worker) rebuilds it from the file.
_RUNNING: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_RUNNING_MAX = 64
_running_lock = threading.Lock()


def _running_digest(key: str, size: int) -> str | None:
    with _running_lock:
        entry = _RUNNING.pop(key, None)
    return entry[1].hexdigest() if entry is not None and entry[0] == size else None


def _status(sha256: str, size: int, received: int, complete: bool) -> BlobStatus:
    return BlobStatus(sha256=sha256, size=size, received=received, complete=complete)


@dataclass(frozen=True)
class Uploader:
    """Who uploads: a device (its upload is its own) of a branch (which then holds the
    blob). ``folder``: under the blobs directory, where the device's partial files are."""

    device_id: str
    branch: str

    def folder(self, root: Path) -> Path:
        # Hashed: a device identifier never becomes a path on the server.
        name = hashlib.sha256(self.device_id.encode()).hexdigest()[:32]
        return root / "uploads" / name


def _held_by(conn: Connection, branch: str, sha256: str) -> Row[Any] | None:
    """The complete blob's row when `branch` holds it (uploaded it, or was sent it with a
    transfer by a branch that did), else None."""
    return conn.execute(
        select(t.blobs)
        .where(t.blobs.c.sha256 == sha256)
        .where(t.blobs.c.complete.is_(True))
        .where(t.blobs.c.sha256.in_(_holdings(branch)))
    ).first()


def _holdings(branch: str) -> Any:
    """The scans `branch` may read: those it uploaded, and those a branch that uploaded
    them sent it with a transfer (``sync_server.transfers``)."""
    granted = (
        select(t.blob_grants.c.sha256)
        .join(
            t.blob_holders,
            (t.blob_holders.c.sha256 == t.blob_grants.c.sha256)
            & (t.blob_holders.c.branch == t.blob_grants.c.from_branch),
        )
        .where(t.blob_grants.c.branch == branch)
    )
    own = select(t.blob_holders.c.sha256).where(t.blob_holders.c.branch == branch)
    return own.union(granted)


def missing(engine: Engine, branch: str, hashes: list[str]) -> list[str]:
    """The blobs `branch` has not uploaded (nor been sent): a blob uploaded only by another
    branch is missing too (its existence is not revealed; the upload proves possession)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.blobs.c.sha256)
            .where(t.blobs.c.sha256.in_(hashes))
            .where(t.blobs.c.complete.is_(True))
            .where(t.blobs.c.sha256.in_(_holdings(branch)))
        )
        have = {r.sha256 for r in rows}
    return [h for h in dict.fromkeys(hashes) if h not in have]


def _upload_row(conn: Connection, who: Uploader, sha256: str) -> Row[Any] | None:
    return conn.execute(
        select(t.blob_uploads)
        .where(t.blob_uploads.c.device_id == who.device_id)
        .where(t.blob_uploads.c.sha256 == sha256)
    ).first()


def status(engine: Engine, root: Path, who: Uploader, sha256: str, size: int) -> BlobStatus:
    """Where this device's upload stands (complete once its branch holds the blob)."""
    with engine.connect() as conn:
        held = _held_by(conn, who.branch, sha256)
        row = None if held else _upload_row(conn, who, sha256)
    if held is not None:
        return _status(sha256, int(held.size), int(held.size), True)
    if row is None or row.size != size:  # another size: a fresh upload
        return _status(sha256, size, 0, False)
    # After a power cut (or a lost disk) the partial file may hold less than the row
    # says: the file is the truth, and the next chunk corrects the row.
    folder = who.folder(root)
    return _status(sha256, size, min(int(row.received), _held(folder, sha256)), False)


def _held(folder: Path, sha256: str) -> int:
    """Bytes in the blob's partial file (0 without one)."""
    partial = addr.partial_path(folder, sha256)
    return partial.stat().st_size if partial.exists() else 0


def open_chunk(
    engine: Engine, root: Path, who: Uploader, sha256: str, offset: int, size: int
) -> BlobStatus:
    """Check that a chunk may be written at `offset` of this device's upload; the status
    says where the upload stands (``complete``: nothing to write). Nothing is recorded
    here: the upload's row is written once a chunk has passed its checks (``record``)."""
    folder = who.folder(root)
    with engine.connect() as conn:
        held = _held_by(conn, who.branch, sha256)
        row = None if held else _upload_row(conn, who, sha256)
    if held is not None:
        return _status(sha256, int(held.size), int(held.size), True)
    received = 0
    if row is not None and row.size == size:
        received = int(row.received)
        # Chunks are not fsynced one by one: after a power cut the file may hold less
        # than the row says. The file is the truth then; resume from its length.
        held_bytes = _held(folder, sha256)
        if held_bytes < received:
            received = held_bytes
            with engine.begin() as conn:
                conn.execute(_upload_of(who, sha256).values(received=held_bytes))
    if offset != received:
        raise Refusal(
            409,
            "wrong-offset",
            N_("The server holds {received} bytes of this blob: resume from there"),
            extra={"received": received},
            received=received,
        )
    return _status(sha256, size, received, False)


def _upload_of(who: Uploader, sha256: str) -> Update:
    return (
        update(t.blob_uploads)
        .where(t.blob_uploads.c.device_id == who.device_id)
        .where(t.blob_uploads.c.sha256 == sha256)
    )


class ChunkLock:
    """Across server processes, one chunk of a blob at a time: an exclusive ``flock`` on
    the blob's lock file (``partial/<sha>.lock``), taken without blocking — the caller
    retries asynchronously, so no worker thread ever waits on it. ``commit`` removes the
    file once the blob is complete (nothing writes a complete blob again, so a process
    still holding the old file finds it complete). Within a process an asyncio lock per
    blob queues first. Without ``fcntl`` (Windows) only the in-process lock holds."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    @classmethod
    def try_acquire(cls, root: Path, sha256: str) -> ChunkLock | None:
        path = lock_path(root, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+b")
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return None
        return cls(handle)

    def release(self) -> None:
        if self.handle.closed:
            return
        if fcntl is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        self.handle.close()


def chunk_too_large() -> Refusal:
    """413 naming the limit, so a desktop sizes its chunks under it."""
    return Refusal(
        413,
        "chunk-too-large",
        N_("A blob chunk is at most {limit} bytes"),
        extra={"limit": MAX_CHUNK},
        limit=MAX_CHUNK,
    )


def lock_path(root: Path, sha256: str) -> Path:
    return addr.partial_path(root, sha256).with_suffix(".lock")


class ChunkWriter:
    """One chunk streamed into the partial file as it arrives: no buffering, no second
    pass. The blob's running SHA-256 is advanced as it is written; after the last byte it
    gives the hash of the blob's prefix up to the chunk's end, which the client signed
    (``core.sync.blobs``). ``abort`` cuts the file back to where the chunk began."""

    def __init__(
        self, folder: Path, sha256: str, offset: int, size: int, who: Uploader | None = None
    ) -> None:
        """`folder`: the uploader's (``Uploader.folder``); `who`: the device whose
        upload's row ``record`` and ``abort`` keep (None: the file alone)."""
        self.sha256, self.offset, self.size, self.who = sha256, offset, size, who
        self.written = 0
        self.on_disk = self.flushed = offset  # written to the file; its writeback started
        self.cut_to = offset
        self.path = partial = addr.partial_path(folder, sha256)
        self.key = str(partial)  # the running hash's: one per device's upload
        partial.parent.mkdir(parents=True, exist_ok=True)
        self.handle = partial.open("r+b" if partial.exists() else "wb")
        # Cut stale bytes past the offset only when there are any: a truncate on every
        # chunk makes ext4 flush the file at close (auto_da_alloc), 3x slower.
        if self.handle.seek(0, os.SEEK_END) > offset:
            self.handle.truncate(offset)
        self.handle.seek(offset)
        with _running_lock:
            entry = _RUNNING.get(self.key)
        # Rebuilt: this process did not see the chunks before (a restart, another worker),
        # so the prefix comes from the file, which a mismatch then discards.
        self.rebuilt = offset > 0 and (entry is None or entry[0] != offset)
        if not self.rebuilt and offset > 0:
            assert entry is not None
            self.running: Any = entry[1].copy()
        else:
            self.running = _prefix_hash(partial, offset)

    def take(self, length: int) -> None:
        """Count `length` more bytes of the chunk; refuse a chunk past the blob's size or
        over ``MAX_CHUNK`` (a cut must never cost more)."""
        self.written += length
        if self.written > MAX_CHUNK:
            raise chunk_too_large()
        if self.offset + self.written > self.size:
            raise Refusal(
                413, "beyond-size", N_("The chunk goes past the declared size of the blob")
            )

    def write(self, pieces: list[bytes]) -> None:
        """Write (counted by ``take`` first), and start the writeback of every
        ``_WRITEBACK_STEP`` written, so that the commit's fsync finds little left."""
        for piece in pieces:
            self.handle.write(piece)
            self.on_disk += len(piece)
        if self.on_disk - self.flushed >= _WRITEBACK_STEP:
            self.start_writeback()

    def start_writeback(self) -> None:
        self.handle.flush()
        start_writeback(self.handle.fileno(), self.flushed, self.on_disk - self.flushed)
        self.flushed = self.on_disk

    def advance(self, piece: bytes) -> None:
        """Feed the blob's running SHA-256 (beside ``write`` of earlier pieces)."""
        self.running.update(piece)

    def prefix_digest(self) -> str:
        """SHA-256 of the blob's first ``offset + written`` bytes."""
        return str(self.running.copy().hexdigest())

    def check(self, claimed: str) -> None:
        """The bytes are the ones the client signed for, and the last chunk completes the
        blob's own hash. A mismatch forgets the chunk, or the whole upload when the prefix
        was rebuilt from disk or the blob is complete (either may be what is wrong)."""
        digest = self.prefix_digest()
        final = self.offset + self.written == self.size
        if digest == claimed and (not final or digest == self.sha256):
            return
        with _running_lock:  # the running hash went past what the file will hold
            _RUNNING.pop(self.key, None)
        if self.rebuilt or digest == claimed:
            self.cut_to = 0
        if digest != claimed:
            raise Refusal(
                422,
                "chunk-mismatch",
                N_("The chunk's bytes do not match their signed hash: resend from {received}"),
                extra={"received": self.cut_to},
                received=self.cut_to,
            )
        # Not resumable: the client's file is not what its address says.
        raise Refusal(
            422,
            "hash-mismatch",
            N_("The blob's content does not match its SHA-256: it was discarded"),
        )

    def abort(self, engine: Engine) -> None:
        """Forget the chunk (or the upload, ``cut_to`` 0): the file ends where it began —
        also when closing fails (a full disk refuses the buffered tail: it is dropped)."""
        with contextlib.suppress(OSError):
            self.handle.close()
        os.truncate(self.path, self.cut_to)
        if self.cut_to < self.offset:
            with _running_lock:
                _RUNNING.pop(self.key, None)
            if self.who is not None:
                with engine.begin() as conn:
                    conn.execute(_upload_of(self.who, self.sha256).values(received=self.cut_to))

    def record(self, conn: Connection) -> None:
        """Count the chunk in the upload's row — created by the first chunk that passed
        its checks — inside the caller's transaction (no fsync: durability is needed at
        commit, which fsyncs the file once)."""
        self.start_writeback()
        self.handle.close()
        assert self.who is not None
        received = self.offset + self.written
        counted = conn.execute(
            _upload_of(self.who, self.sha256).values(
                size=self.size,
                received=received,
                transferred=t.blob_uploads.c.transferred + self.written,
            )
        )
        if counted.rowcount == 0:
            conn.execute(
                insert(t.blob_uploads).values(
                    device_id=self.who.device_id,
                    sha256=self.sha256,
                    size=self.size,
                    received=received,
                    transferred=self.written,
                    created_at=now_iso(),
                )
            )

    def recorded(self) -> BlobStatus:
        """After ``record`` committed: keep the running hash for the next chunk."""
        received = self.offset + self.written
        with _running_lock:
            _RUNNING.pop(self.key, None)
            _RUNNING[self.key] = (received, self.running)
            while len(_RUNNING) > _RUNNING_MAX:
                _RUNNING.popitem(last=False)
        return _status(self.sha256, self.size, received, False)


def commit(engine: Engine, root: Path, who: Uploader, sha256: str, size: int) -> BlobStatus:
    """Check this device's upload is whole and hashes to its address, make the file
    durable and serve it; its branch holds the blob from then on. A blob another branch
    uploaded first is not stored twice: the upload proved this one holds it too. (The
    caller holds the upload's :class:`ChunkLock`.)"""
    folder = who.folder(root)
    partial = addr.partial_path(folder, sha256)
    with engine.begin() as conn:
        held = _held_by(conn, who.branch, sha256)
        if held is not None:
            return _status(sha256, int(held.size), int(held.size), True)
        row = _upload_row(conn, who, sha256)
        if row is None or row.received != size or row.size != size:
            have = int(row.received) if row is not None and row.size == size else 0
            raise Refusal(
                409,
                "incomplete",
                N_("The blob is incomplete: {received} of {size} bytes arrived"),
                extra={"received": have},
                received=have,
                size=size,
            )
        if (_running_digest(str(partial), size) or _digest(partial)) != sha256:
            partial.unlink(missing_ok=True)
            conn.execute(_upload_of(who, sha256).values(received=0))
            mismatch = True
        else:
            mismatch = False
            _store(conn, root, partial, sha256, size)
            conn.execute(_INSERT_HOLDER, {"branch": who.branch, "sha256": sha256})
    if mismatch:  # raised after the commit that forgot the bytes
        # Every chunk matched the client's signed hashes, so the server's own copy went
        # bad (a file damaged after a restart): the client sends the blob again.
        raise Refusal(
            409,
            "stored-damaged",
            N_("The server's copy of this file was damaged and discarded: send it again"),
            extra={"received": 0},
        )
    with contextlib.suppress(OSError):  # Windows: still open in this process; it stays
        lock_path(folder, sha256).unlink(missing_ok=True)
    return _status(sha256, size, size, True)


_INSERT_HOLDER = text(
    "INSERT INTO blob_holders (branch, sha256) VALUES (:branch, :sha256) ON CONFLICT DO NOTHING"
)
_INSERT_BLOB = text(
    "INSERT INTO blobs (sha256, size, received, transferred, complete, created_at) "
    "VALUES (:sha256, :size, :size, 0, true, :at) ON CONFLICT DO NOTHING"
)


def _store(conn: Connection, root: Path, partial: Path, sha256: str, size: int) -> None:
    """The verified upload becomes the blob — or is dropped when the blob is stored
    already (the same bytes, by their hash)."""
    stored = conn.execute(
        select(t.blobs.c.complete).where(t.blobs.c.sha256 == sha256)
    ).scalar_one_or_none()
    if stored:
        partial.unlink(missing_ok=True)
        return
    _finish(root, partial, sha256)
    conn.execute(_INSERT_BLOB, {"sha256": sha256, "size": size, "at": now_iso()})


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing these bytes of the file to disk now, without
    waiting (``POSIX_FADV_DONTNEED`` on Linux; nothing where unsupported). Durability
    still comes from the commit's fsync: this only spreads the writing over the upload."""
    if hasattr(os, "posix_fadvise") and length > 0:
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _finish(root: Path, partial: Path, sha256: str) -> None:
    final = addr.blob_path(root, sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, final)


def _digest(path: Path) -> str:
    return str(_prefix_hash(path, None).hexdigest())


def _prefix_hash(path: Path, length: int | None) -> Any:
    """A SHA-256 fed the first `length` bytes of `path` (all of it for None)."""
    digest = hashlib.sha256()
    if path.exists() and length != 0:
        with path.open("rb") as handle:
            left = length
            while block := handle.read(1 << 20 if left is None else min(left, 1 << 20)):
                digest.update(block)
                if left is not None:
                    left -= len(block)
    return digest


def complete_path(engine: Engine, root: Path, sha256: str) -> Path:
    with engine.connect() as conn:
        row = conn.execute(select(t.blobs.c.complete).where(t.blobs.c.sha256 == sha256)).first()
    if row is None or not row.complete:
        raise Refusal(404, "no-blob", N_("No complete blob {sha} on the server"), sha=sha256[:12])
    return addr.blob_path(root, sha256)


def transferred(engine: Engine, sha256: str) -> int:
    """Bytes of the blob received in chunks, over every device's upload."""
    with engine.connect() as conn:
        total = conn.execute(
            select(func.coalesce(func.sum(t.blob_uploads.c.transferred), 0)).where(
                t.blob_uploads.c.sha256 == sha256
            )
        ).scalar_one()
    return int(total)


def readable_by(engine: Engine, branch: str, sha256: str) -> bool:
    """Whether `branch` holds the blob (a desk of it uploaded every byte): the only way a
    desk may read it — knowing a SHA-256, or naming it in an event, is not enough."""
    with engine.connect() as conn:
        return _held_by(conn, branch, sha256) is not None
