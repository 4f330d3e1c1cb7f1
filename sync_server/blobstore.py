"""Blobs on the server: a directory of content-addressed files and their upload state.

An upload appends chunks at the offset the server reports (``received``); a chunk at any
other offset is refused with the offset to resume from. ``commit`` checks the size and
the SHA-256 of the whole file; a mismatch discards it. Only committed blobs are served.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from core.domain.errors import N_
from core.sync import blobs as addr
from core.sync.wire import BlobStatus

from . import schema as t
from .errors import Refusal
from .ingest import now_iso

# Running SHA-256 of uploads in progress, fed as chunks are written, so ``commit`` need not
# read the file back. Only a shortcut: a process that did not see every chunk (a restart,
# another instance behind the balancer) hashes the file as before.
_RUNNING: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_RUNNING_MAX = 64
_running_lock = threading.Lock()


def _running_digest(sha256: str, size: int) -> str | None:
    with _running_lock:
        entry = _RUNNING.pop(sha256, None)
    return entry[1].hexdigest() if entry is not None and entry[0] == size else None


def _status(sha256: str, size: int, received: int, complete: bool) -> BlobStatus:
    return BlobStatus(sha256=sha256, size=size, received=received, complete=complete)


def missing(engine: Engine, hashes: list[str]) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.blobs.c.sha256)
            .where(t.blobs.c.sha256.in_(hashes))
            .where(t.blobs.c.complete.is_(True))
        )
        have = {r.sha256 for r in rows}
    return [h for h in dict.fromkeys(hashes) if h not in have]


def status(engine: Engine, root: Path, sha256: str, size: int) -> BlobStatus:
    with engine.connect() as conn:
        row = conn.execute(select(t.blobs).where(t.blobs.c.sha256 == sha256)).first()
    if row is None:
        return _status(sha256, size, 0, False)
    if row.size != size and not row.complete:
        raise Refusal(
            409,
            "size-mismatch",
            N_("Blob {sha} is being uploaded with another size"),
            sha=sha256[:12],
        )
    return _status(sha256, int(row.size), int(row.received), bool(row.complete))


def open_chunk(engine: Engine, root: Path, sha256: str, offset: int, size: int) -> BlobStatus:
    """Check that a chunk may be written at `offset` (creating the upload's row); the
    status says where the upload stands (``complete``: nothing to write)."""
    partial = addr.partial_path(root, sha256)
    with engine.connect() as conn:  # the usual case reads only: no write lock
        row = conn.execute(select(t.blobs).where(t.blobs.c.sha256 == sha256)).first()
    if row is not None and not row.complete and row.size == size:
        held = partial.stat().st_size if partial.exists() else 0
        if held >= row.received == offset:
            return _status(sha256, size, offset, False)
    with engine.begin() as conn:
        row = conn.execute(select(t.blobs).where(t.blobs.c.sha256 == sha256)).first()
        if row is None:
            conn.execute(
                insert(t.blobs).values(
                    sha256=sha256,
                    size=size,
                    received=0,
                    transferred=0,
                    complete=False,
                    created_at=now_iso(),
                )
            )
            received = 0
        else:
            if row.complete:
                return _status(sha256, int(row.size), int(row.size), True)
            if row.size != size:
                raise Refusal(
                    409,
                    "size-mismatch",
                    N_("Blob {sha} is being uploaded with another size"),
                    sha=sha256[:12],
                )
            received = int(row.received)
            # Chunks are not fsynced one by one: after a power cut the file may hold less
            # than the row says. The file is the truth then; resume from its length.
            held = partial.stat().st_size if partial.exists() else 0
            if held < received:
                received = held
                conn.execute(
                    update(t.blobs).where(t.blobs.c.sha256 == sha256).values(received=held)
                )
        if offset != received:
            raise Refusal(
                409,
                "wrong-offset",
                N_("The server holds {received} bytes of this blob: resume from there"),
                extra={"received": received},
                received=received,
            )
    return _status(sha256, size, received, False)


class ChunkWriter:
    """One chunk streamed into the partial file as it arrives: no buffering, no second
    pass. It keeps the SHA-256 of the request body (for the signature check) and advances
    the blob's running SHA-256. ``abort`` cuts the file back to where the chunk began."""

    def __init__(self, root: Path, sha256: str, offset: int, size: int) -> None:
        self.sha256, self.offset, self.size = sha256, offset, size
        self.written = 0
        self.body = hashlib.sha256()
        self.path = partial = addr.partial_path(root, sha256)
        partial.parent.mkdir(parents=True, exist_ok=True)
        self.handle = partial.open("r+b" if partial.exists() else "wb")
        # Cut stale bytes past the offset only when there are any: a truncate on every
        # chunk makes ext4 flush the file at close (auto_da_alloc), 3x slower.
        if self.handle.seek(0, os.SEEK_END) > offset:
            self.handle.truncate(offset)
        self.handle.seek(offset)
        with _running_lock:
            entry = _RUNNING.get(sha256)
        if offset == 0:
            self.running: Any = hashlib.sha256()
        elif entry is not None and entry[0] == offset:
            self.running = entry[1].copy()
        else:
            self.running = None

    def take(self, length: int) -> None:
        """Count `length` more bytes of the chunk; refuse a chunk past the blob's size."""
        self.written += length
        if self.offset + self.written > self.size:
            raise Refusal(
                413, "beyond-size", N_("The chunk goes past the declared size of the blob")
            )

    def write(self, pieces: list[bytes]) -> None:
        """Hash for the request signature and write (counted by ``take`` first)."""
        for piece in pieces:
            self.body.update(piece)
            self.handle.write(piece)

    def advance(self, pieces: list[bytes]) -> None:
        """Feed the blob's running SHA-256; may run beside ``write`` in another thread."""
        if self.running is not None:
            for piece in pieces:
                self.running.update(piece)

    def body_digest(self) -> str:
        return self.body.hexdigest()

    def abort(self) -> None:
        """Forget the chunk: the file ends where it began."""
        self.handle.close()
        os.truncate(self.path, self.offset)

    def record(self, conn: Connection) -> None:
        """Count the chunk in the upload's row, inside the caller's transaction (no fsync:
        durability is needed at commit, which fsyncs the file once)."""
        self.handle.close()
        conn.execute(
            update(t.blobs)
            .where(t.blobs.c.sha256 == self.sha256)
            .values(
                received=self.offset + self.written,
                transferred=t.blobs.c.transferred + self.written,
            )
        )

    def recorded(self) -> BlobStatus:
        """After ``record`` committed: keep the running hash for ``commit``."""
        received = self.offset + self.written
        if self.running is not None:
            with _running_lock:
                _RUNNING.pop(self.sha256, None)
                _RUNNING[self.sha256] = (received, self.running)
                while len(_RUNNING) > _RUNNING_MAX:
                    _RUNNING.popitem(last=False)
        return _status(self.sha256, self.size, received, False)


def commit(engine: Engine, root: Path, sha256: str, size: int) -> BlobStatus:
    partial = addr.partial_path(root, sha256)
    with engine.begin() as conn:
        row = conn.execute(select(t.blobs).where(t.blobs.c.sha256 == sha256)).first()
        if row is not None and row.complete:
            return _status(sha256, int(row.size), int(row.size), True)
        if row is None or row.received != size or row.size != size:
            have = int(row.received) if row else 0
            raise Refusal(
                409,
                "incomplete",
                N_("The blob is incomplete: {received} of {size} bytes arrived"),
                extra={"received": have},
                received=have,
                size=size,
            )
        if (_running_digest(sha256, size) or _digest(partial)) != sha256:
            partial.unlink(missing_ok=True)
            conn.execute(update(t.blobs).where(t.blobs.c.sha256 == sha256).values(received=0))
            mismatch = True
        else:
            mismatch = False
            _finish(root, partial, sha256)
            conn.execute(update(t.blobs).where(t.blobs.c.sha256 == sha256).values(complete=True))
    if mismatch:  # raised after the commit that forgot the bytes
        raise Refusal(
            422,
            "hash-mismatch",
            N_("The blob's content does not match its SHA-256: it was discarded"),
        )
    return _status(sha256, size, size, True)


def _finish(root: Path, partial: Path, sha256: str) -> None:
    final = addr.blob_path(root, sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, final)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    if path.exists():
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def complete_path(engine: Engine, root: Path, sha256: str) -> Path:
    with engine.connect() as conn:
        row = conn.execute(select(t.blobs.c.complete).where(t.blobs.c.sha256 == sha256)).first()
    if row is None or not row.complete:
        raise Refusal(404, "no-blob", N_("No complete blob {sha} on the server"), sha=sha256[:12])
    return addr.blob_path(root, sha256)


def transferred(engine: Engine, sha256: str) -> int:
    with engine.connect() as conn:
        row = conn.execute(select(t.blobs.c.transferred).where(t.blobs.c.sha256 == sha256)).first()
    return int(row.transferred) if row else 0
