"""Blob files on disk, encrypted when their desk's store is (encryption at rest).

A blob keeps its address (the SHA-256 of its plain bytes); on an encrypted desk its file
holds them sealed with AES-256-GCM in records, so a scan streams and any offset can be
read without decrypting what comes before it (an upload resumes mid-file)::

    header  MAGIC (16) | file id (16, random)
    record  plain length (4) | nonce (12) | ciphertext + tag (length + 16)

Each record's associated data is the header and the record's number: records cannot be
moved within a file or between files. A record is at most ``RECORD`` plain bytes; a
download appends a record per write, so a partial file of a cut transfer is sealed too,
and its plain size (what the transfer resumes from) is the sum of its whole records (a
record cut by a crash is dropped when the file is next appended to).

Every reader and writer of blob files goes through :func:`open_read`, :func:`open_append`,
:func:`size`, :func:`write_file` and :func:`copy_in`: a file is read as it is (sealed or
plain: the header says), and written sealed when a key is registered for its blob root.
The desk registers its blob key when its store opens (:func:`register`) and drops it when
it closes; a sealed file with no key registered is refused with a clear message.
"""

from __future__ import annotations

import io
import os
import struct
import threading
from pathlib import Path
from typing import IO, Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.domain.errors import N_, StoreError

MAGIC = b"MOTCUA-BLOB-1\n\x00\x00"
_ID_LEN = 16
HEADER_LEN = len(MAGIC) + _ID_LEN
RECORD = 1 << 20
_LENGTH = struct.Struct(">I")
_NONCE, _TAG = 12, 16
_RECORD_HEAD = _LENGTH.size + _NONCE

Readable = io.RawIOBase | io.BufferedIOBase  # a seekable binary file with readinto
_keys: dict[Path, tuple[bytes, set[int]]] = {}  # blob root → (blob key, who opened it)
_lock = threading.Lock()


def register(root: Path, key: bytes, owner: object) -> None:
    """Blob files under `root` are written sealed with `key` while `owner` (an open
    store) has not called :func:`unregister`."""
    where = root.resolve()
    with _lock:
        _, owners = _keys.get(where, (key, set()))
        _keys[where] = (key, owners | {id(owner)})


def unregister(root: Path, owner: object) -> None:
    """`owner` is done with `root` (a second call is a no-op)."""
    where = root.resolve()
    with _lock:
        key, owners = _keys.get(where, (b"", set()))
        owners = owners - {id(owner)}
        if owners:
            _keys[where] = (key, owners)
        else:
            _keys.pop(where, None)


def key_for(path: Path) -> bytes | None:
    """The blob key registered for the root holding `path`, if any."""
    if not _keys:
        return None
    where = path.resolve()
    with _lock:
        for folder in where.parents:
            if folder in _keys:
                return _keys[folder][0]
    return None


def is_sealed(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except FileNotFoundError:
        return False


# --- reading -----------------------------------------------------------------------------------


def open_read(path: Path, buffering: int = -1) -> Readable:
    """`path`'s plain bytes as a seekable binary file: a file under a root with a key is
    opened when sealed (a plain one, from before the store was encrypted, reads as is);
    any other file is read as it is."""
    key = key_for(path)
    handle = cast(Readable, path.open("rb", buffering=buffering))
    if key is None:
        return handle
    if handle.read(len(MAGIC)) != MAGIC:
        handle.seek(0)
        return handle
    try:
        reader = _SealedReader(handle, key, path)
    except BaseException:
        handle.close()
        raise
    return io.BufferedReader(reader, RECORD)


def size(path: Path) -> int:
    """The plain size of the blob file `path` (FileNotFoundError when absent)."""
    if key_for(path) is None:
        return path.stat().st_size
    with path.open("rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            return os.fstat(handle.fileno()).st_size
        records, _end = _index(handle)
    return records[-1][0] + records[-1][2] if records else 0


def read_bytes(path: Path) -> bytes:
    """The whole plain content of `path` (a record at a time when sealed)."""
    key = key_for(path)
    with path.open("rb") as handle:
        if key is None or handle.read(len(MAGIC)) != MAGIC:
            handle.seek(0)
            return handle.read()
        reader = _SealedReader(handle, key, path)
        out = bytearray(reader.size)  # each record decrypted in place
        for number, (at, _file_at, length) in enumerate(reader.records):
            reader._record_into(number, memoryview(out)[at : at + length])
        return bytes(out)


def _index(handle: IO[bytes] | Readable) -> tuple[list[tuple[int, int, int]], int]:
    """(plain offset, file offset, plain length) of each whole record, and where the last
    whole record ends in the file."""
    total = os.fstat(handle.fileno()).st_size
    records: list[tuple[int, int, int]] = []
    at, plain = HEADER_LEN, 0
    while at + _RECORD_HEAD <= total:
        handle.seek(at)
        (length,) = _LENGTH.unpack(handle.read(_LENGTH.size))
        end = at + _RECORD_HEAD + length + _TAG
        if length == 0 or length > RECORD or end > total:
            break  # cut by a crash (or not ours): the whole records stop here
        records.append((plain, at, length))
        plain += length
        at = end
    return records, at


def _aad(header: bytes, number: int) -> bytes:
    return header + number.to_bytes(8, "big")


class _SealedReader(io.RawIOBase):
    def __init__(self, handle: Readable, key: bytes, path: Path) -> None:
        super().__init__()
        handle.seek(0)
        self.header = handle.read(HEADER_LEN)
        self.handle, self.aead, self.path = handle, AESGCM(key), path
        self.records, _ = _index(handle)
        self.size = self.records[-1][0] + self.records[-1][2] if self.records else 0
        self.pos = 0
        self._cached: tuple[int, bytes] = (-1, b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, target: Any) -> int:
        if self.pos >= self.size:
            return 0
        number = self._find(self.pos)
        plain = self._record(number)
        start = self.pos - self.records[number][0]
        view = memoryview(target).cast("B")
        count = min(len(view), len(plain) - start)
        view[:count] = memoryview(plain)[start : start + count]
        self.pos += count
        return count

    def _find(self, pos: int) -> int:
        low, high = 0, len(self.records) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self.records[mid][0] <= pos:
                low = mid
            else:
                high = mid - 1
        return low

    def _record(self, number: int) -> bytes:
        if self._cached[0] != number:
            plain = bytearray(self.records[number][2])
            self._record_into(number, memoryview(plain))
            self._cached = (number, bytes(plain))
        return self._cached[1]

    def _record_into(self, number: int, target: memoryview) -> None:
        _plain_at, at, length = self.records[number]
        self.handle.seek(at + _LENGTH.size)
        body = memoryview(self.handle.read(_NONCE + length + _TAG))
        try:
            self.aead.decrypt_into(body[:_NONCE], body[_NONCE:], _aad(self.header, number), target)
        except InvalidTag:
            raise StoreError(
                N_("The scan {name} does not open with this store's key, or is damaged"),
                name=self.path.name[:12],
            ) from None

    def close(self) -> None:
        if not self.closed:
            super().close()
            self.handle.close()


# --- writing -----------------------------------------------------------------------------------


def open_append(path: Path) -> IO[bytes]:
    """A binary file to append plain bytes to `path`: sealed records when a key is
    registered for it (a plain partial file found then, from before the store was
    encrypted, is sealed first: its bytes still count), else plain."""
    key = key_for(path)
    if key is None:
        return path.open("ab")
    if path.is_file() and path.stat().st_size and not is_sealed(path):
        seal_in_place(path, key)
    return io.BufferedWriter(_SealedAppender(path, key), RECORD)


def write_file(path: Path, data: bytes) -> None:
    """Create `path` (not existing) holding `data`, sealed when its root has a key."""
    path.unlink(missing_ok=True)
    with open_append(path) as out:
        out.write(data)


def copy_in(source: Path, target: Path) -> None:
    """Copy the plain file `source` (or a sealed one readable here) to a new `target`."""
    target.unlink(missing_ok=True)
    with open_read(source) as src, open_append(target) as out:
        while block := src.read(RECORD):
            out.write(block)


def seal_in_place(path: Path, key: bytes) -> bool:
    """Replace the plain file `path` by its sealed copy (records under `key`); the plain
    blocks are overwritten first, as far as the file system lets us. False: already
    sealed."""
    if is_sealed(path):
        return False
    tmp = path.with_name(path.name + ".sealing")
    tmp.unlink(missing_ok=True)
    with path.open("rb") as src, io.BufferedWriter(_SealedAppender(tmp, key), RECORD) as out:
        while block := src.read(RECORD):
            out.write(block)
    scrub(path)
    os.replace(tmp, path)
    return True


def scrub(path: Path) -> None:
    """Overwrite a plain file with zeros before it is replaced or removed (best effort:
    a copy-on-write or flash disk may keep the old blocks; see docs/encryption.md)."""
    try:
        length = path.stat().st_size
        with path.open("r+b") as handle:
            zeros = bytes(min(length, RECORD))
            left = length
            while left > 0:
                handle.write(zeros[: min(left, len(zeros))])
                left -= len(zeros)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        return


class _SealedAppender(io.RawIOBase):
    def __init__(self, path: Path, key: bytes) -> None:
        super().__init__()
        self.aead = AESGCM(key)
        self._out = memoryview(bytearray(RECORD + _TAG))
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.handle: IO[bytes] = os.fdopen(fd, "r+b")
        try:
            self.header = self.handle.read(HEADER_LEN)
            if self.header[: len(MAGIC)] != MAGIC or len(self.header) < HEADER_LEN:
                # new (or cut before its header was whole)
                self.header = MAGIC + os.urandom(_ID_LEN)
                self.handle.seek(0)
                self.handle.truncate()
                self.handle.write(self.header)
                self.number, end = 0, HEADER_LEN
            else:
                records, end = _index(self.handle)
                self.number = len(records)
            self.handle.seek(end)
            self.handle.truncate()  # a record cut by a crash
        except BaseException:
            self.handle.close()
            raise

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        for at in range(0, len(view), RECORD):
            self._record(view[at : at + RECORD])
        return len(view)

    def _record(self, plain: memoryview) -> None:
        nonce = os.urandom(_NONCE)
        out = self._out[: len(plain) + _TAG]  # one buffer, reused: no fresh 1 MiB each time
        self.aead.encrypt_into(nonce, plain, _aad(self.header, self.number), out)
        self.handle.write(_LENGTH.pack(len(plain)) + nonce)
        self.handle.write(out)
        self.number += 1

    def flush(self) -> None:
        if not self.closed:
            self.handle.flush()

    def close(self) -> None:
        if not self.closed:
            super().close()
            self.handle.close()
