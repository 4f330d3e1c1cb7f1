"""Encrypted backups of a desk, taken while it works, and restoring one on a new machine.

A backup is one file: the store (SQLite's online backup API, so the desk keeps working)
and the blob store (scans, result files), as a tar stream encrypted with AES-256-GCM in
chunks under a key derived from a passphrase with Argon2id. An encrypted desk's store and
scans go in as plain bytes (exported with SQLCipher, read through ``core.sync.sealed``):
the backup's own encryption protects them, and it restores on any machine; run
``motcua store encrypt`` on the restored desk (docs/encryption.md). The file::

    header  MAGIC (8) | version (1) | salt (16) | time cost, memory KiB, lanes,
            chunk size (4 bytes each) | key check (16: the GCM tag of nothing)
    chunks  length (4) | ciphertext+tag — nonce = chunk number (11 bytes) | last flag (1)

Every chunk is authenticated with the header as associated data, so a wrong passphrase
(the key check), an altered byte, a reordered, dropped or missing last chunk, or bytes
after it are each refused before anything reaches the target.

The device key is never in a backup: a restored store takes a new device identity (a new
key and device id) and must be enrolled again, so two machines never sign with one key.
The old desk's events stay in the log as another origin's; those the server never
received are pushed by the restored desk after its enrolment (relayed, still signed by
the old key), and the caller exports a copy of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, delete, func, select

from core.domain.errors import N_, StoreError, ValidationError
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.storage import replication
from core.storage import schema as t
from core.storage.db import Store, check_store_file, connect_file, migrate, private_file, raw
from core.sync import blobs as blob_io
from core.sync import sealed

from . import storekey
from .branch import DB_NAME, KEY_NAME, Branch, set_meta

MAGIC = b"MOTCUABK"
VERSION = 1
PASSPHRASE_ENV = "MOTCUA_BACKUP_PASSPHRASE"
MIN_PASSPHRASE = 8
SALT_LEN = 16
TAG_LEN = 16
CHUNK = 1 << 20
# Argon2id: RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes).
TIME_COST, MEMORY_KIB, LANES = 3, 64 * 1024, 4
_PARAMS = struct.Struct(">IIII")
_LENGTH = struct.Struct(">I")
HEADER_LEN = len(MAGIC) + 1 + SALT_LEN + _PARAMS.size + TAG_LEN
_CHECK_NONCE = b"\xff" * 12  # never a chunk's nonce: those end in 0 or 1
MANIFEST = "manifest.json"
BLOBS = "blobs"
SETTINGS = "desktop.json"  # the desk's own settings (scanners, printers, peer port)
FORMAT = "motcua-backup"

WRONG_PASSPHRASE = N_("Wrong passphrase for this backup (or its header is altered)")
DAMAGED = N_("The backup {path} is altered or damaged: nothing was restored")
TRUNCATED = N_("The backup {path} is cut short: nothing was restored")


def passphrase(env: dict[str, str] | None = None, *, new: bool = False) -> str:
    """The passphrase from ``MOTCUA_BACKUP_PASSPHRASE`` (never the command line)."""
    value = (env if env is not None else os.environ).get(PASSPHRASE_ENV, "")
    if not value:
        raise ValidationError(
            N_("Set MOTCUA_BACKUP_PASSPHRASE to the backup's passphrase"),
        )
    if new and len(value) < MIN_PASSPHRASE:
        raise ValidationError(
            N_("The backup passphrase must have at least {count} characters"),
            count=MIN_PASSPHRASE,
        )
    return value


def _key(secret: str, salt: bytes, time_cost: int, memory_kib: int, lanes: int) -> bytes:
    return hash_secret_raw(secret.encode("utf-8"), salt, time_cost, memory_kib, lanes, 32, Type.ID)


def _nonce(number: int, last: bool) -> bytes:
    return number.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# --- writing ----------------------------------------------------------------------------------


class _Sealer(io.RawIOBase):
    """A write-only stream that encrypts what it is given in chunks into `sink`."""

    def __init__(self, sink: IO[bytes], secret: str, chunk: int = CHUNK) -> None:
        super().__init__()
        salt = os.urandom(SALT_LEN)
        key = _key(secret, salt, TIME_COST, MEMORY_KIB, LANES)
        self.aead = AESGCM(key)
        prefix = MAGIC + bytes([VERSION]) + salt + _PARAMS.pack(TIME_COST, MEMORY_KIB, LANES, chunk)
        self.header = prefix + self.aead.encrypt(_CHECK_NONCE, b"", prefix)
        self.sink, self.chunk, self.number = sink, chunk, 0
        self.buffer = bytearray()
        sink.write(self.header)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.buffer += view
        while len(self.buffer) > self.chunk:  # keep the last bytes: they may be the end
            self._seal(bytes(self.buffer[: self.chunk]), last=False)
            del self.buffer[: self.chunk]
        return len(view)

    def finish(self) -> None:
        self._seal(bytes(self.buffer), last=True)
        self.buffer.clear()

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.number, last), plain, self.header)
        self.sink.write(_LENGTH.pack(len(sealed)) + sealed)
        self.number += 1


@dataclass(frozen=True)
class BackupResult:
    out: Path
    bytes: int
    events: int
    dossiers: int
    blobs: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "bytes": self.bytes,
            "events": self.events,
            "dossiers": self.dossiers,
            "blobs": self.blobs,
        }


def backup(branch: Branch, out: Path, secret: str, blobs_root: Path | None = None) -> BackupResult:
    """Write an encrypted backup of `branch` to `out` (refused if it exists); the desk
    keeps working meanwhile. A failure leaves no file behind. `blobs_root`: where its
    scans are, when not in its data folder (a rescue's copy)."""
    if out.exists():
        raise ValidationError(N_("{path} already exists: choose a new file name"), path=str(out))
    if not out.parent.is_dir():
        raise ValidationError(N_("No such file or folder: {path}."), path=str(out.parent))
    partial = out.with_name(f".{out.name}.partial")
    with tempfile.TemporaryDirectory(dir=branch.data_dir, prefix=".backup-") as folder:
        copy = Path(folder) / DB_NAME
        manifest = _snapshot(branch, copy)
        scans = blobs_root or branch.data_dir / BLOBS
        blobs = list(_blob_files(scans))  # after the store: see _blob_files
        manifest["blobs"] = len(blobs)
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as sink:
                sealer = _Sealer(sink, secret)
                with tarfile.open(fileobj=sealer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                    tar.add(copy, DB_NAME, recursive=False)
                    settings = branch.data_dir / SETTINGS
                    if settings.is_file():
                        tar.add(settings, SETTINGS, recursive=False)
                    for path in blobs:
                        relative = f"{BLOBS}/{path.relative_to(scans).as_posix()}"
                        with contextlib.suppress(FileNotFoundError):
                            _add_blob(tar, path, relative)
                sealer.finish()
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(
        out, out.stat().st_size, manifest["events"], manifest["dossiers"], len(blobs)
    )


# A rescue's copy of a desk, beside the backup file; one cut short (a power cut) leaves
# it, with the desk's key and plain store: the next rescue there removes it first.
_RESCUE_PREFIX = ".motcua-rescue-"
# What a desk's folder holds besides its scans: copied to open it elsewhere.
_DESK_FILES = (KEY_NAME, storekey.KEYS_FILE, SETTINGS, DB_NAME, DB_NAME + "-wal")


def rescue(
    data_dir: Path, out: Path, secret: str, prompt: storekey.Prompt | None = None
) -> BackupResult:
    """A backup of a desk whose disk went read-only. Its files are copied into a private
    folder beside `out` (on a disk that takes writes) and opened there: SQLite replays
    the write-ahead log into the copy, so nothing committed is lost. The scans are read
    where they are. The copy is backed up as usual, then removed."""
    if out.exists():
        raise ValidationError(N_("{path} already exists: choose a new file name"), path=str(out))
    if not out.parent.is_dir():
        raise ValidationError(N_("No such file or folder: {path}."), path=str(out.parent))
    for stale in out.parent.glob(_RESCUE_PREFIX + "*"):  # left by a rescue cut short
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=_RESCUE_PREFIX) as folder:
        staging = Path(folder)
        for name in _DESK_FILES:
            if (data_dir / name).is_file():
                shutil.copy2(data_dir / name, staging / name)
        branch = Branch.open(staging, prompt=prompt)
        try:
            return backup(branch, out, secret, blobs_root=data_dir / BLOBS)
        finally:
            branch.close()


def _snapshot(branch: Branch, copy: Path) -> dict[str, Any]:
    """The store copied with SQLite's online backup API (one read transaction: writers
    go on in WAL mode), and what it holds."""
    private_file(copy)
    if branch.store.key is not None:
        _export_plain(branch.store, copy)
    target = sqlite3.connect(copy)
    try:
        if branch.store.key is None:
            with branch.store.read() as conn:
                raw(conn).backup(target)
        _refuse_damaged(target, branch.store.path)
        events = target.execute("SELECT count(*) FROM events").fetchone()[0]
        dossiers = target.execute("SELECT count(*) FROM dossiers").fetchone()[0]
        settings = dict(target.execute("SELECT key, value FROM meta").fetchall())
    finally:
        target.close()
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_ms": int(time.time() * 1000),
        "branch": branch.branch_code,
        "device_id": branch.device_id,
        "server": settings.get("sync_server_url", ""),
        "events": int(events),
        "dossiers": int(dossiers),
        "encrypted_at_rest": branch.store.key is not None,
    }


def _refuse_damaged(copy: sqlite3.Connection, store: Path) -> None:
    """The copy is checked page by page before it is written out: a damaged store backed
    up without a word would, in a rotation of backups, push out the good ones."""
    try:
        found = [row[0] for row in copy.execute("PRAGMA quick_check(1)")]
    except sqlite3.DatabaseError:
        found = ["unreadable"]
    if found != ["ok"]:
        raise StoreError(
            N_(
                "The store {path} is damaged: no backup was written, and the earlier ones "
                "are kept. Restore the latest of them (see 'motcua doctor')."
            ),
            path=str(store),
        )


def _export_plain(store: Store, copy: Path) -> None:
    """An encrypted store's plain copy, in one read transaction (the backup file itself is
    encrypted, under its own passphrase: it restores on any machine)."""
    db = connect_file(store.path, store.key, store.cipher, isolation_level=None, timeout=10)
    try:
        db.execute("ATTACH DATABASE ? AS plain KEY ''", (str(copy),))
        db.execute("BEGIN")
        db.execute("SELECT sqlcipher_export('plain')")
        db.execute("COMMIT")
        db.execute("DETACH DATABASE plain")
    finally:
        db.close()


def _add_blob(tar: tarfile.TarFile, path: Path, name: str) -> None:
    """A blob's plain bytes (its file may be sealed, ``core.sync.sealed``)."""
    info = tar.gettarinfo(path, name)
    info.size = sealed.size(path)
    with sealed.open_read(path) as data:
        tar.addfile(info, data)


def _blob_files(root: Path) -> Iterator[Path]:
    """Complete blobs (``root/ab/abcd…``): a blob's file is written before the store
    records it, so listing them after the store's copy finds every blob it names."""
    if not root.is_dir():
        return
    for fan in sorted(root.iterdir()):
        if fan.is_dir() and len(fan.name) == 2:
            for path in sorted(fan.iterdir()):
                if path.is_file() and path.name.startswith(fan.name) and len(path.name) == 64:
                    yield path


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


# --- reading ----------------------------------------------------------------------------------


class _Opener(io.RawIOBase):
    """A read-only stream of a backup's plaintext; refuses whatever does not authenticate."""

    def __init__(self, source: IO[bytes], secret: str, path: Path) -> None:
        super().__init__()
        self.source, self.path = source, path
        header = source.read(HEADER_LEN)
        if len(header) < HEADER_LEN or not header.startswith(MAGIC):
            raise StoreError(N_("{path} is not a Một Cửa backup"), path=str(path))
        if header[len(MAGIC)] != VERSION:
            raise StoreError(
                N_("The backup {path} was made by a newer version: update Một Cửa first"),
                path=str(path),
            )
        at = len(MAGIC) + 1
        salt = header[at : at + SALT_LEN]
        time_cost, memory_kib, lanes, chunk = _PARAMS.unpack_from(header, at + SALT_LEN)
        if not (
            1 <= time_cost <= 16
            and 8 * lanes <= memory_kib <= 1 << 21
            and 1 <= lanes <= 64
            and 1 << 12 <= chunk <= 1 << 26
        ):
            raise StoreError(DAMAGED, path=str(path))
        self.aead = AESGCM(_key(secret, salt, time_cost, memory_kib, lanes))
        prefix = header[:-TAG_LEN]
        try:
            self.aead.decrypt(_CHECK_NONCE, header[-TAG_LEN:], prefix)
        except InvalidTag:
            raise ValidationError(WRONG_PASSPHRASE) from None
        self.header, self.chunk = header, chunk
        self.number, self.done = 0, False
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        while not self.buffer and not self.done:
            self.buffer = self._next()
        n = min(len(view), len(self.buffer))
        view[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return n

    def _next(self) -> bytes:
        length_bytes = self.source.read(_LENGTH.size)
        if len(length_bytes) < _LENGTH.size:
            raise StoreError(TRUNCATED, path=str(self.path))
        (length,) = _LENGTH.unpack(length_bytes)
        if not TAG_LEN <= length <= self.chunk + TAG_LEN:
            raise StoreError(DAMAGED, path=str(self.path))
        sealed = self.source.read(length)
        if len(sealed) < length:
            raise StoreError(TRUNCATED, path=str(self.path))
        for last in (False, True):
            try:
                plain = self.aead.decrypt(_nonce(self.number, last), sealed, self.header)
            except InvalidTag:
                continue
            self.number += 1
            if last:
                if self.source.read(1):  # bytes after the last chunk
                    raise StoreError(DAMAGED, path=str(self.path))
                self.done = True
            return plain
        raise StoreError(DAMAGED, path=str(self.path))

    def drain(self) -> None:
        """Read to the authenticated end: what was extracted is the whole backup."""
        while not self.done:
            self._next()


@dataclass(frozen=True)
class Restored:
    data_dir: Path
    device_id: str
    old_device_id: str
    branch: str
    server: str
    events: int
    dossiers: int
    blobs: int


def restore(source: Path, data_dir: Path, secret: str) -> Restored:
    """Restore the backup `source` into the new data folder `data_dir` (absent or empty),
    with a new device key and id. Everything is checked in a staging folder beside it;
    the target appears only when the whole backup authenticated."""
    if source.is_dir():
        raise ValidationError(N_("{path} is a folder, not a backup file"), path=str(source))
    if not source.is_file():
        raise ValidationError(N_("File not found: {path}"), path=str(source))
    if data_dir.exists() and not data_dir.is_dir():
        raise ValidationError(
            N_("{path} is a file: restore into a new folder (--data-dir)"), path=str(data_dir)
        )
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ValidationError(
            N_("{path} is not empty: restore into a new folder (--data-dir)"), path=str(data_dir)
        )
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir.parent, prefix=f".{data_dir.name}.restore-"))
    try:
        os.chmod(staging, 0o700)
        manifest, blobs = _extract(source, secret, staging)
        check_store_file(staging / DB_NAME)
        restored = _new_identity(staging, manifest, blobs)
        if data_dir.exists():
            data_dir.rmdir()  # empty, checked above
        os.replace(staging, data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dataclasses.replace(restored, data_dir=data_dir)


_NAMES = (MANIFEST, DB_NAME, SETTINGS)


def _extract(source: Path, secret: str, staging: Path) -> tuple[dict[str, Any], int]:
    manifest: dict[str, Any] = {}
    blobs = 0
    with source.open("rb") as handle:
        opener = _Opener(handle, secret, source)
        try:
            with tarfile.open(fileobj=opener, mode="r|") as tar:
                for member in tar:
                    name = member.name
                    is_blob = _blob_name(name)
                    if not member.isfile() or not (name in _NAMES or is_blob):
                        raise StoreError(DAMAGED, path=str(source))
                    data = tar.extractfile(member)
                    assert data is not None  # a regular file
                    target = staging / name
                    for folder in reversed(target.relative_to(staging).parents[:-1]):
                        (staging / folder).mkdir(mode=0o700, exist_ok=True)
                    digest = _copy(data, target)
                    if is_blob:
                        if digest != target.name:
                            raise StoreError(DAMAGED, path=str(source))
                        blobs += 1
                    elif name == MANIFEST:
                        manifest = json.loads(target.read_text(encoding="utf-8"))
            opener.drain()
        except tarfile.TarError:
            raise StoreError(DAMAGED, path=str(source)) from None
    if manifest.get("format") != FORMAT or not (staging / DB_NAME).is_file():
        raise StoreError(DAMAGED, path=str(source))
    (staging / MANIFEST).unlink()
    return manifest, blobs


def _blob_name(name: str) -> bool:
    parts = name.split("/")
    return (
        len(parts) == 3
        and parts[0] == BLOBS
        and len(parts[1]) == 2
        and parts[2].startswith(parts[1])
        and blob_io._HEX64.match(parts[2]) is not None
    )


def _copy(data: IO[bytes], target: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while block := data.read(1 << 20):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _new_identity(staging: Path, manifest: dict[str, Any], blobs: int) -> Restored:
    """A new key and device id for the restored store; the old device stays in the log
    as another origin. Enrolment settings are dropped: the desk must be enrolled again."""
    key = DeviceKey.generate()
    fd = os.open(staging / KEY_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.to_pem())
    device_id = new_uuid7()
    store = Store(staging / DB_NAME)
    try:
        migrate(store.writer)

        def work(conn: Connection) -> tuple[str, str, str, int, int]:
            meta = {r.key: r.value for r in conn.execute(select(t.meta))}
            old, branch = meta.get("device_id", ""), meta.get("branch_code", "")
            if not old or not branch:
                raise StoreError(DAMAGED, path=str(manifest.get("device_id", "")))
            set_meta(conn, "device_id", device_id)
            set_meta(conn, "restored_from_device", old)
            set_meta(conn, "restored_at_ms", str(int(time.time() * 1000)))
            # The server knows the old device, not this one: enrol again.
            gone = ("server_public_key", "enrolled_at")
            conn.execute(delete(t.meta).where(t.meta.c.key.in_(gone)))
            replication.add_device(conn, device_id, branch, key.public_b64, "restored")
            events = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
            dossiers = conn.execute(select(func.count()).select_from(t.dossiers)).scalar_one()
            return old, branch, meta.get("sync_server_url", ""), int(events), int(dossiers)

        old, branch, server, events, dossiers = store.write(work)
    finally:
        store.close()
    return Restored(staging, device_id, old, branch, server, events, dossiers, blobs)
