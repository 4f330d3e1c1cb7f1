"""Encrypting a plain desk in place: ``motcua store encrypt``.

The desk must be closed (the application and any `motcua` command). In order:

1. the plain store is checked (opened as usual: a pending migration is applied) and its
   write-ahead log folded in; a store still open elsewhere is refused;
2. a new store key is made (``storekey.create``): the OS keystore and/or the passphrase;
3. SQLCipher exports the store into ``motcua.db.encrypting``, which is opened with the
   key and compared (events, dossiers) before anything else changes;
4. the device key and every scan are sealed in place, one file at a time (each written
   whole, then renamed over the plain one, whose blocks are overwritten first);
5. the encrypted store replaces the plain one (atomically), whose blocks are then
   overwritten too (through a second name, ``motcua.db.plain``, removed after).

A cut at any point loses nothing: until step 5 the plain store is the store (opening it
then says to run the command again, which resumes with the key made in step 2); sealed
and plain scans are both readable meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from core.domain import sealing
from core.domain.errors import N_, StoreError, ValidationError
from core.storage.db import (
    CIPHER_SETTINGS,
    SQLITE_HEADER,
    Cipher,
    cipher_settings,
    connect_file,
)
from core.sync import sealed

from . import printouts, storekey
from .branch import DB_NAME, KEY_NAME, Branch

log = logging.getLogger(__name__)

PENDING = DB_NAME + ".encrypting"
OLD = DB_NAME + ".plain"
IN_USE = N_(
    "The store {path} is in use: close the application (and every 'motcua' command) on "
    "this desk, then run this again"
)
_COUNTS = ("events", "dossiers", "blobs")


@dataclass(frozen=True)
class Encrypted:
    data_dir: Path
    source: str  # where the key is kept: "keyring", "passphrase" or both ("keyring+passphrase")
    events: int
    dossiers: int
    scans: int
    printouts: int = 0  # printed forms kept in the clear, removed

    def as_dict(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "key": self.source,
            "events": self.events,
            "dossiers": self.dossiers,
            "scans_sealed": self.scans,
            "printouts_removed": self.printouts,
        }


def is_plain_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def encrypt_store(data_dir: Path, passphrase: str | None = None) -> Encrypted:
    """Encrypt the plain desk in `data_dir` in place (see the module's docstring)."""
    store = data_dir / DB_NAME
    old = data_dir / OLD
    resuming = storekey.is_encrypted(data_dir)
    if resuming and store.is_file() and not is_plain_file(store):
        if old.exists():  # cut after the swap: the plain store's last copy goes now
            sealed.scrub(old)
            old.unlink()
        raise ValidationError(N_("The store in {path} is already encrypted"), path=str(data_dir))
    old.unlink(missing_ok=True)  # cut before the swap: a second name of the live store
    if store.is_file() and in_use(store):
        raise StoreError(IN_USE, path=str(store))
    if not resuming:
        Branch.open(data_dir).close()  # a sound store at the current schema, or a refusal
    _fold_log(store)
    if resuming:  # with the settings its key file names (an earlier build's, maybe)
        unlocked = storekey.unlock(data_dir, passphrase)
        key, cipher = unlocked.key, unlocked.cipher
    else:
        key, cipher = storekey.create(data_dir, passphrase)[0], CIPHER_SETTINGS
    described = storekey.describe_keys(data_dir)
    pending = data_dir / PENDING
    counts = _export(store, pending, key, cipher)
    _seal_device_key(data_dir / KEY_NAME, key)
    scans = _seal_blobs(data_dir / storekey.BLOBS_DIR, key)
    os.link(store, old)  # the plain file stays reachable until it is overwritten
    os.replace(pending, store)
    sealed.scrub(old)
    old.unlink()
    for suffix in ("-wal", "-shm", "-journal"):
        (data_dir / (DB_NAME + suffix)).unlink(missing_ok=True)
    Branch.open(data_dir, passphrase=passphrase).close()  # it opens with its key
    source = "+".join(
        name
        for name, used in (
            ("keyring", described["keyring"]),
            ("passphrase", described["passphrase"]),
        )
        if used
    )
    removed = printouts.remove_plain(data_dir)  # they can be printed again from the dossiers
    return Encrypted(data_dir, source, counts["events"], counts["dossiers"], scans, removed)


def _fold_log(store: Path) -> None:
    """Fold the write-ahead log into the file and leave WAL mode, which SQLite allows only
    when no other connection has the store open: the test that the desk is closed."""
    from sqlcipher3 import dbapi2 as sqlcipher

    db = sqlcipher.connect(str(store), isolation_level=None, timeout=2)
    try:
        mode = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlcipher.DatabaseError as err:
        log.warning("store %s: %s", store, err)
        mode = ""
    finally:
        db.close()
    if str(mode).lower() != "delete":
        raise StoreError(IN_USE, path=str(store))


# SQLite's unix VFS: every connection to a WAL store holds a read lock on this byte of
# the ``-shm`` file while it is open (the "dead man switch"), idle or not.
_SHM_DMS = 128


def in_use(store: Path) -> bool:
    """Whether a connection (of any process, this one included) has `store` open."""
    if os.name == "nt":  # Windows refuses to rename a file another handle holds
        try:
            os.replace(store, store.with_name(store.name + ".check"))
        except PermissionError:
            return True
        os.replace(store.with_name(store.name + ".check"), store)
        return False
    shm = store.with_name(store.name + "-shm")
    if not shm.exists():
        return False
    import fcntl
    import struct

    # An open-file-description lock conflicts with SQLite's record locks even in this
    # process; where there is none (macOS), a record lock sees other processes only.
    command = getattr(fcntl, "F_OFD_SETLK", fcntl.F_SETLK)
    fd = os.open(shm, os.O_RDWR)
    try:
        lock = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, _SHM_DMS, 1, 0)
        try:
            fcntl.fcntl(fd, command, lock)
        except OSError:
            return True
        unlock = struct.pack("hhqqi4x", fcntl.F_UNLCK, os.SEEK_SET, _SHM_DMS, 1, 0)
        fcntl.fcntl(fd, command, unlock)
        return False
    finally:
        os.close(fd)


def _export(store: Path, pending: Path, key: bytes, cipher: Cipher) -> dict[str, int]:
    """The plain `store` exported into `pending` under `key`, checked against it."""
    from sqlcipher3 import dbapi2 as sqlcipher

    pending.unlink(missing_ok=True)
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    raw_key = f"x'{key.hex()}'"
    db = sqlcipher.connect(str(store), isolation_level=None)
    try:
        db.execute("PRAGMA cipher_log_level = NONE")
        db.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(pending), raw_key))
        cipher_settings(db, "encrypted", cipher)
        db.execute("BEGIN")
        db.execute("SELECT sqlcipher_export('encrypted')")
        db.execute("COMMIT")
        db.execute("DETACH DATABASE encrypted")
        before = _counts(db)
    finally:
        db.close()
    copy = connect_file(pending, key, cipher, isolation_level=None)
    try:
        after = _counts(copy)
        copy.execute("PRAGMA journal_mode = WAL")
    finally:
        copy.close()
    if after != before:
        pending.unlink(missing_ok=True)
        raise StoreError(
            N_("The encrypted copy of {path} differs from it: nothing was changed"),
            path=str(store),
        )
    return before


def _counts(db: object) -> dict[str, int]:
    execute = db.execute  # type: ignore[attr-defined]
    return {name: int(execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in _COUNTS}


def _seal_device_key(path: Path, key: bytes) -> None:
    data = path.read_bytes()
    if sealing.is_sealed(data):
        return
    tmp = path.with_name(path.name + ".sealing")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(storekey.seal_device_key(data, key))
        out.flush()
        os.fsync(out.fileno())
    sealed.scrub(path)
    os.replace(tmp, path)


def _seal_blobs(root: Path, key: bytes) -> int:
    """Every scan under `root` sealed in place; partial downloads dropped (the next sync
    fetches them again, sealed). Returns how many files were sealed now."""
    if not root.is_dir():
        return 0
    blob_key = sealing.subkey(key, sealing.BLOBS)
    count = 0
    for fan in sorted(root.iterdir()):
        if fan.name == "partial" and fan.is_dir():
            for part in fan.iterdir():
                sealed.scrub(part)
                part.unlink(missing_ok=True)
        elif fan.is_dir() and len(fan.name) == 2:
            for path in sorted(fan.iterdir()):
                if path.is_file() and len(path.name) == 64:
                    count += sealed.seal_in_place(path, blob_key)
                elif path.is_file():  # a temporary file left by a cut write
                    with contextlib.suppress(OSError):
                        sealed.scrub(path)
                        path.unlink()
    return count
