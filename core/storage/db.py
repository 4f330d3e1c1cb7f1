"""Opening the local SQLite store: WAL, busy timeout, migrations, one writer.

Writes run in ``BEGIN IMMEDIATE`` so the write lock is taken up front: two processes
(the desktop and a `motcua` command) never deadlock upgrading a read lock, they queue
behind the busy timeout instead.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from core.domain.errors import N_, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
MIGRATIONS = Path(__file__).with_name("migrations")


# The writer's page cache, in KiB (SQLite's default: 2 MiB; SQLCipher's build: 8 MiB). A
# catch-up's event indexes outgrow the default, and on an encrypted store every page that
# falls out of the cache is decrypted and checked again when next read: a 30,000-event
# catch-up encrypted ran at 0.76x the plain one with the default, 0.87x with this. Pages
# are taken only as used, and only the one writer connection has it.
WRITER_CACHE_KIB = 64 * 1024


def _configure(dbapi_conn: sqlite3.Connection, cache_kib: int | None = None) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    if cache_kib is not None:
        cursor.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
    cursor.close()


# SQLCipher 4's settings of an encrypted store, applied after the key on every connection
# (they are not kept in the file: each store's ``store.keys.json`` records its own, see
# ``core.services.storekey``). AES-256-CBC and an HMAC-SHA256 per page (SHA-256 has CPU
# instructions where SHA-512 has none: a quarter faster on small transactions). New stores
# get 2 KiB pages: a receipt writes about 25 pages to the log, each encrypted and
# authenticated whole, so halving the page halves that work (receiving 0.82x the plain
# desk's rate with 4 KiB pages, 0.90x with 2 KiB; the catch-up 0.96x and 0.91x). Stores
# made with 4 KiB pages keep them.
Cipher = tuple[tuple[str, str], ...]
CIPHER_SETTINGS: Cipher = (("cipher_page_size", "2048"), ("cipher_hmac_algorithm", "HMAC_SHA256"))
# What a key file may name (its values are written into PRAGMAs: nothing else passes).
CIPHER_CHOICES: dict[str, frozenset[str]] = {
    "cipher_page_size": frozenset(str(1 << n) for n in range(9, 17)),
    "cipher_hmac_algorithm": frozenset({"HMAC_SHA1", "HMAC_SHA256", "HMAC_SHA512"}),
}


def known_cipher(cipher: Cipher) -> bool:
    """Whether every setting of `cipher` is one of SQLCipher's own values."""
    return all(value in CIPHER_CHOICES.get(name, ()) for name, value in cipher)


def cipher_settings(db: Any, schema: str = "main", cipher: Cipher = CIPHER_SETTINGS) -> None:
    """Apply `cipher` to `schema` of an SQLCipher connection, before its first read."""
    if not known_cipher(cipher):  # key files are checked when read: this is a bug
        raise ValueError(f"unknown SQLCipher settings {cipher!r}")
    for name, value in cipher:
        db.execute(f"PRAGMA {schema}.{name} = {value}")


def make_engine(
    path: Path, *, immediate: bool, key: bytes | None = None, cipher: Cipher = CIPHER_SETTINGS
) -> Engine:
    """An engine over the store at `path`; with `key`, an SQLCipher store set as `cipher`
    (the raw 256-bit key: no key derivation at each connection)."""
    if key is None:
        engine = create_engine(f"sqlite:///{path}")
    else:
        from sqlcipher3 import dbapi2

        engine = create_engine(
            "sqlite://",
            module=dbapi2,
            poolclass=QueuePool,
            creator=lambda: connect_file(path, key, cipher, check_same_thread=False),
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        _configure(dbapi_conn, WRITER_CACHE_KIB if immediate else None)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# The newest migration in ``migrations/versions`` (a test holds it to alembic's own head):
# a store already there opens without loading alembic, a fifth of a command's start-up.
HEAD_REVISION = "0013"


def _alembic_config(conn: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def stored_revision(conn: Connection) -> str | None:
    """The migration the store was brought to (None before the first)."""
    if conn.exec_driver_sql(_HAS_VERSION_TABLE).first() is None:
        return None
    row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return str(row[0]) if row else None


_HAS_VERSION_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    with engine.connect() as conn:
        if stored_revision(conn) == HEAD_REVISION:
            return
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")


def on_read_only_disk(folder: Path) -> bool:
    """Whether `folder` sits on a file system mounted read-only (a failing disk often turns
    so): a store there cannot be opened, not even to read it (its WAL needs writing)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): opening the store tells
        return False


def raw(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLAlchemy one, for the few statements on hot paths
    (SQLCipher's, of an encrypted store, has the same interface)."""
    driver = conn.connection.driver_connection
    assert driver is not None and hasattr(driver, "execute")
    return cast(sqlite3.Connection, driver)


def connect_file(
    path: Path | str,
    key: bytes | None = None,
    cipher: Cipher = CIPHER_SETTINGS,
    **options: Any,
) -> sqlite3.Connection:
    """A DB-API connection to a store (the engines', a copy's, a check's): SQLCipher's,
    keyed and set as `cipher` (the store's own settings; a new file's by default), for an
    encrypted store; sqlite3's for a plain one. A wrong key shows at the first read, as
    "file is not a database"."""
    if key is None:
        return cast(sqlite3.Connection, sqlite3.connect(path, **options))
    from sqlcipher3 import dbapi2

    db = dbapi2.connect(str(path), **options)
    db.execute("PRAGMA cipher_log_level = NONE")  # our message to give, not its stderr's
    db.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    cipher_settings(db, cipher=cipher)
    return cast(sqlite3.Connection, db)


def private_file(path: Path) -> None:
    """Create `path` readable by its owner only, whatever the umask; tighten an existing
    one. SQLite gives its WAL and shared-memory files the main file's permissions, so a
    0600 store keeps its citizens' data private to the user that runs the app."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    if os.name != "posix":
        return  # Windows: the user's profile folder already keeps others out
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if each.exists() and each.stat().st_mode & 0o077:
                os.chmod(each, 0o600)  # O_CREAT's mode is masked by the umask: set it outright
        except OSError:  # not ours to change (a read-only copy): SQLite reports what matters
            continue


SQLITE_HEADER = b"SQLite format 3\x00"


def check_store_file(path: Path) -> None:
    """Refuse, with what to do, a store file that is missing, empty or not SQLite: opening
    one would make SQLite create or report it in its own words. (An encrypted store has
    no SQLite header: its key tells it, see ``core.services.branch``.)"""
    if not path.exists():
        raise StoreError(
            N_("No Một Cửa store in {path}: run 'motcua init' first"), path=str(path.parent)
        )
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if not header:
        raise StoreError(
            N_(
                "The store {path} is empty (cut while created or copied): restore it from a "
                "backup, or move it away and run 'motcua init'"
            ),
            path=str(path),
        )
    if header != SQLITE_HEADER:
        raise StoreError(
            N_("{path} is not a Một Cửa store or is damaged: restore it from a backup"),
            path=str(path),
        )


class Store:
    """The two engines over one database file: a write engine and a read engine."""

    def __init__(
        self, path: Path, key: bytes | None = None, cipher: Cipher = CIPHER_SETTINGS
    ) -> None:
        self.path = path
        self.key = key  # an encrypted store's key (SQLCipher), None for a plain one
        self.cipher = cipher  # an encrypted store's settings (its key file says which)
        private_file(path)
        self.writer = make_engine(path, immediate=True, key=key, cipher=cipher)
        self.reader = make_engine(path, immediate=False, key=key, cipher=cipher)
        self._write_lock = threading.Lock()  # one writer inside this process

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one immediate transaction; it commits or rolls back whole."""
        try:
            with self._write_lock, self.writer.begin() as conn:
                return work(conn)
        except OperationalError as err:
            raise _store_error(err, self.path) from err

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.reader.connect() as conn:
                yield conn
        except OperationalError as err:
            raise _store_error(err, self.path) from err

    def close(self) -> None:
        self.writer.dispose()
        self.reader.dispose()


_DATABASE_TEXTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("locked", "busy"), N_("The store is busy: another program holds it. Try again shortly.")),
    (("disk is full", "no space"), N_("The disk is full: nothing was saved. Free some space.")),
    (("readonly", "read-only"), N_("The store is read-only: nothing was saved.")),
    (
        ("not a database", "malformed", "encrypted", "disk i/o", "no such table"),
        N_("The store is damaged: restore it from the latest backup."),
    ),
    (
        (
            "connection refused",
            "could not connect",
            "connection to server",
            "timeout expired",
            "name or service not known",
            "could not translate host name",
        ),
        N_("The database server cannot be reached: check DATABASE_URL and that it runs."),
    ),
    (("password authentication",), N_("The database refused the login in DATABASE_URL.")),
    (("unable to open",), N_("The store cannot be opened: check the folder and its rights.")),
)


def store_error(err: BaseException) -> StoreError:
    """A database failure in words a user can act on (the driver's text goes to the log)."""
    text = str(getattr(err, "orig", None) or err).lower()
    for needles, message in _DATABASE_TEXTS:
        if any(n in text for n in needles):
            return StoreError(message)
    return StoreError(N_("The database refused the operation: nothing was saved."))


LOW_SPACE = 1 << 20


def diagnose(path: Path, err: BaseException) -> StoreError:
    """What stopped the store at `path`: SQLite reports a full or read-only disk as an
    I/O error or "unable to open" when it cannot create its WAL; the disk itself tells."""
    folder = path.parent
    try:
        stats = os.statvfs(folder) if hasattr(os, "statvfs") else None
    except OSError:
        stats = None
    if stats is not None and stats.f_flag & os.ST_RDONLY:
        return StoreError(N_("{path} is on a read-only disk: nothing was saved."), path=str(folder))
    if stats is not None and stats.f_bavail * stats.f_frsize < LOW_SPACE:
        return StoreError(N_("The disk is full: nothing was saved. Free some space."))
    refusal = store_error(err)
    if "damaged" in refusal.message:  # name the file: the fix is to restore it
        return StoreError(
            N_("The store {path} is damaged: restore it from a backup"), path=str(path)
        )
    return refusal


def _store_error(err: OperationalError, path: Path | None = None) -> StoreError:
    return diagnose(path, err) if path is not None else store_error(err)
