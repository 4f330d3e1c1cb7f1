"""`motcua doctor`: what branch IT checks first on a desk that misbehaves.

Each check gives a :class:`Finding`: its name, a level (ok, warning, failure), what was
found and what to do about it — English msgids, translated at the edge. A damaged store,
a missing key or an unreachable server is a finding, never an exception: doctor runs
exactly when things are broken. It writes nothing to the store (opening it applies a
pending migration, as every command does).

The hardware checks (scanners, printers) belong to the desktop's composition root; the
caller passes them in as ``extra`` checks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sqlite3
import ssl
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core import logfile
from core.domain.errors import N_, MotcuaError, StoreKeyError
from core.i18n import describe
from core.storage.db import (
    CIPHER_SETTINGS,
    HEAD_REVISION,
    Cipher,
    check_store_file,
    connect_file,
    on_read_only_disk,
)

log = logging.getLogger(__name__)

OK, WARNING, FAILURE = "ok", "warning", "failure"
DB_NAME = "motcua.db"
KEY_NAME = "device.key"
PEER_PORT = 8471
SKEW_WARN_MS = 60_000
SKEW_FAIL_MS = 5 * 60_000  # what signed requests allow
DISK_WARN = 1 << 30
DISK_FAIL = 100 << 20
CERT_WARN_DAYS = 30
# Checks whose failure means the store or the disk: exit 8 (StoreError) rather than 11.
STORE_CHECKS = frozenset({"data_dir", "store", "migrations", "key", "disk", "encryption"})


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    found: str
    fix: str = ""
    params: dict[str, Any] = field(default_factory=dict)


Check = Callable[[], list[Finding]]


def ok(check: str, found: str, **params: Any) -> Finding:
    return Finding(check, OK, found, "", params)


def warning(check: str, found: str, fix: str, **params: Any) -> Finding:
    return Finding(check, WARNING, found, fix, params)


def failure(check: str, found: str, fix: str, **params: Any) -> Finding:
    return Finding(check, FAILURE, found, fix, params)


def guarded(name: str, check: Check) -> list[Finding]:
    """A check that raised is a finding too: doctor never stops half-way."""
    try:
        return check()
    except MotcuaError as err:
        return [
            failure(
                name, N_("{error}"), N_("Read the message and the log file"), error=describe(err)
            )
        ]
    except Exception as err:  # a defect of a check: said, logged, the others run
        log.exception("doctor check %s failed", name)
        return [
            warning(
                name,
                N_("The check could not run: {error}"),
                N_("Send the log file to support"),
                error=f"{type(err).__name__}: {err}",
            )
        ]


# --- the data dir, the store, the key ---------------------------------------------------------


def check_data_dir(data_dir: Path) -> list[Finding]:
    if not data_dir.is_dir():
        return [
            failure(
                "data_dir",
                N_("The data folder {path} does not exist"),
                N_("Check --data-dir / MOTCUA_DATA_DIR, or run 'motcua init' for a new desk"),
                path=str(data_dir),
            )
        ]
    if on_read_only_disk(data_dir):
        return [
            failure(
                "data_dir",
                N_("The disk holding {path} is read-only: nothing can be saved on this desk"),
                N_(
                    "Save the desk's data to another disk first: 'motcua backup --out FILE' "
                    "works from a read-only disk. Then have the disk checked or replaced, and "
                    "restore the backup there"
                ),
                path=str(data_dir),
            )
        ]
    if os.name != "posix":
        return [ok("data_dir", N_("Data folder {path}"), path=str(data_dir))]
    mode = stat.S_IMODE(data_dir.stat().st_mode)
    if mode & 0o077:
        return [
            warning(
                "data_dir",
                N_("The data folder {path} can be opened by other users (mode {mode})"),
                N_(
                    "Run: chmod 700 {path} (unless the folder is shared on purpose by a group "
                    "of clerks)"
                ),
                path=str(data_dir),
                mode=f"{mode:04o}",
            )
        ]
    return [ok("data_dir", N_("Data folder {path}, owner only"), path=str(data_dir))]


class _Unlock:
    """The store key, asked for once per doctor run (a passphrase costs Argon2 each time)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._done: list[Any] = []

    def __call__(self) -> Any:
        if not self._done:
            from . import storekey

            self._done.append(storekey.open_store(self.data_dir))
        return self._done[0]

    def key(self) -> bytes | None:
        unlocked = self()
        return unlocked.key if unlocked is not None else None

    def cipher(self) -> Cipher:
        unlocked = self()
        return unlocked.cipher if unlocked is not None else CIPHER_SETTINGS


def check_encryption(data_dir: Path, unlock: _Unlock | None = None) -> list[Finding]:
    """Whether the store, device key and scans are encrypted, and where the key is."""
    from . import storekey

    if not storekey.is_encrypted(data_dir):
        return [
            warning(
                "encryption",
                N_("The store and scans are not encrypted: a stolen disk shows citizens' data"),
                N_("Close the application and run 'motcua store encrypt' (docs/encryption.md)"),
            )
        ]
    if (data_dir / (DB_NAME + ".plain")).exists():  # ``encryption``: cut after its swap
        return [
            warning(
                "encryption",
                N_("A plain copy of the store is left from its encryption"),
                N_("Close the application and run 'motcua store encrypt' again to remove it"),
            )
        ]
    where = storekey.describe_keys(data_dir)
    unlocked = (unlock or _Unlock(data_dir))()
    source = unlocked.source if unlocked is not None else ""
    if where["keyring"] and where["passphrase"]:
        found = N_("Encrypted; the key is in the keystore {keystore} and under the passphrase")
    elif where["keyring"]:
        found = N_("Encrypted; the key is in the keystore {keystore} only")
    else:
        found = N_("Encrypted; the key is under the branch passphrase")
    if where["keyring"] and source != storekey.KEYRING:
        return [
            warning(
                "encryption",
                N_("Encrypted; the keystore did not give the key, the passphrase opened it"),
                N_("Log in as the user who set the desk up, or set the passphrase again"),
            )
        ]
    if not where["passphrase"]:
        return [
            warning(
                "encryption",
                found,
                N_(
                    "Set a recovery passphrase with 'motcua store passphrase': without it, "
                    "a lost keystore means a lost store"
                ),
                keystore=where["keyring"],
            )
        ]
    return [ok("encryption", found, keystore=where["keyring"])]


def check_plain_files(data_dir: Path) -> list[Finding]:
    """An encrypted desk's files left in the clear: forms printed before it was
    encrypted, events exported for the centre and not yet taken away."""
    from . import printouts, storekey

    if not storekey.is_encrypted(data_dir):
        return []
    left = printouts.plain_leftovers(data_dir)
    if not left:
        return [ok("plain_files", N_("No citizens' data kept in the clear beside the store"))]
    return [
        warning(
            "plain_files",
            N_("{count} files under {path} hold citizens' data in the clear ({names})"),
            N_(
                "Take exported events to the centre on an encrypted drive, then delete them; "
                "printed forms can be printed again from their dossiers: delete them"
            ),
            count=len(left),
            path=str(data_dir),
            names=", ".join(sorted({p.parent.name for p in left})),
        )
    ]


def check_store(data_dir: Path, unlock: _Unlock | None = None) -> list[Finding]:
    """SQLite's quick check and the schema's migration, on a read-only connection."""
    path = data_dir / DB_NAME
    try:
        unlock = unlock or _Unlock(data_dir)
        key = unlock.key()
        if key is None:
            check_store_file(path)
    except MotcuaError as err:
        return [failure("store", N_("{error}"), _fix_for(err), error=describe(err), path=str(path))]
    try:
        with _read_only(path, key, unlock.cipher()) as db:
            rows = db.execute("PRAGMA quick_check(20)").fetchall()
            problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
            if problems:
                return [
                    failure(
                        "store",
                        N_("The store {path} is damaged: {detail}"),
                        _RESTORE_FIX,
                        path=str(path),
                        detail="; ".join(problems[:3]),
                    )
                ]
            current = _revision(db)
    except (sqlite3.DatabaseError, _cipher_error()) as err:
        log.warning("doctor: store %s: %s", path, err)
        text = str(err).lower()
        if "locked" in text or "busy" in text:
            return [
                warning(
                    "store",
                    N_("The store is busy: another program holds it"),
                    N_("Run doctor again in a moment"),
                )
            ]
        fix = _fix_for(err)
        return [
            failure(
                "store",
                N_("The store {path} is damaged: {detail}")
                if fix is _RESTORE_FIX
                else N_("The store {path} cannot be opened: {detail}"),
                fix,
                path=str(path),
                detail=str(err),
            )
        ]
    found = [ok("store", N_("The store {path} passes SQLite's check"), path=str(path))]
    head = HEAD_REVISION
    if current == head:
        found.append(
            ok("migrations", N_("The store's schema is current ({revision})"), revision=head)
        )
    else:
        found.append(
            warning(
                "migrations",
                N_("The store's schema is at {current}, the program's at {head}"),
                N_("Open the application or run any 'motcua' command to migrate it"),
                current=current or "-",
                head=head,
            )
        )
    return found


_RESTORE_FIX = N_(
    "Close the application, move the store aside and restore the latest backup "
    "('motcua restore'); events already sent to the server come back with 'motcua sync'"
)


_ACCESS_FIX = N_(
    "Check that the data folder {path} and its files belong to the user who runs Một Cửa "
    "and can be written. If the disk went read-only, save the desk's data to another disk "
    "first: 'motcua backup --out FILE' works from such a disk. Nothing shows the store "
    "damaged: do not restore an older backup, it would lose what was done since"
)
_DISK_FIX = N_(
    "Free space on the disk, or have it checked for errors. Nothing shows the store "
    "damaged: do not restore a backup, it would lose what was done since"
)
_PASSPHRASE_FIX = N_(
    "Give the store's passphrase in MOTCUA_PASSPHRASE (docs/encryption.md). Nothing shows "
    "the store damaged: do not restore a backup"
)
_ACCESS_WORDS = ("permission denied", "errno 13", "readonly", "read-only", "unable to open")
_DISK_WORDS = ("disk i/o", "disk is full", "no space", "quota")


def _fix_for(err: Exception) -> str:
    """What to do about a store that could not be checked: a restore only for damage. A
    locked-out folder, a full or read-only disk or a missing passphrase is not damage,
    and restoring the last backup would throw away every event since."""
    if isinstance(err, StoreKeyError):
        return _RESTORE_FIX if "store.keys.json is missing" in err.message else _PASSPHRASE_FIX
    text = (err.message if isinstance(err, MotcuaError) else str(err)).lower()
    if isinstance(err, PermissionError) or any(w in text for w in _ACCESS_WORDS):
        return _ACCESS_FIX
    if any(w in text for w in _DISK_WORDS):
        return _DISK_FIX
    return _RESTORE_FIX


def _cipher_error() -> type[Exception]:
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        return sqlite3.DatabaseError
    return dbapi2.DatabaseError


@contextlib.contextmanager
def _read_only(
    path: Path, key: bytes | None = None, cipher: Cipher = CIPHER_SETTINGS
) -> Iterator[sqlite3.Connection]:
    if key is None:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    else:  # an encrypted store: SQLCipher, with its key and settings
        db = connect_file(f"file:{path}?mode=ro", key, cipher, uri=True, timeout=5)
    try:
        yield db
    finally:
        db.close()


def _revision(db: sqlite3.Connection) -> str:
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except (sqlite3.OperationalError, _cipher_error()) as err:
        if "no such table" in str(err):
            return ""
        raise
    return str(row[0]) if row else ""


def check_key(data_dir: Path, unlock: _Unlock | None = None) -> list[Finding]:
    from .branch import load_key

    path = data_dir / KEY_NAME
    try:
        load_key(path, (unlock or _Unlock(data_dir)).key())
    except MotcuaError as err:
        fix = _fix_for(err)
        if fix is _RESTORE_FIX:
            fix = N_(
                "A desk without its key cannot sign: restore the data folder from a "
                "backup with 'motcua restore' and enrol it again"
            )
        return [failure("key", N_("{error}"), fix, error=describe(err), path=str(data_dir))]
    if os.name != "posix":
        return [ok("key", N_("Device key {path}"), path=str(path))]
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.getuid():
        return [
            warning(
                "key",
                N_("The device key {path} belongs to another user (uid {uid})"),
                N_("Run: sudo chown {user} {path}"),
                path=str(path),
                uid=info.st_uid,
                user=_user_name(),
            )
        ]
    if mode & 0o077:
        return [
            warning(
                "key",
                N_("The device key {path} can be read by other users (mode {mode})"),
                N_("Run: chmod 600 {path}"),
                path=str(path),
                mode=f"{mode:04o}",
            )
        ]
    return [ok("key", N_("Device key {path}, owner only"), path=str(path))]


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


def check_disk(data_dir: Path) -> list[Finding]:
    folder = data_dir if data_dir.is_dir() else data_dir.parent
    free = shutil.disk_usage(folder).free
    shown = _size(free)
    if free < DISK_FAIL:
        return [
            failure(
                "disk",
                N_("Only {free} free on the disk of {path}"),
                N_("Free disk space now: the desk cannot save dossiers or scans on a full disk"),
                free=shown,
                path=str(folder),
            )
        ]
    if free < DISK_WARN:
        return [
            warning(
                "disk",
                N_("Only {free} free on the disk of {path}"),
                N_("Free some disk space (scans need a few MB each)"),
                free=shown,
                path=str(folder),
            )
        ]
    return [ok("disk", N_("{free} free on the disk of {path}"), free=shown, path=str(folder))]


def _size(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    return f"{n / (1 << 20):.0f} MiB"


def check_log(data_dir: Path) -> list[Finding]:
    path = logfile.log_path(data_dir)
    if not path.exists():
        return [
            warning(
                "log",
                N_("No log file at {path}"),
                N_("Check that the data folder can be written"),
                path=str(path),
            )
        ]
    errors = 0
    with path.open("rb") as handle:
        size = path.stat().st_size
        handle.seek(max(0, size - (256 << 10)))
        for line in handle:
            if b" ERROR " in line or b" CRITICAL " in line:
                errors += 1
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        return [
            warning(
                "log",
                N_("The log file {path} can be read by other users"),
                N_("Run: chmod 600 {path}"),
                path=str(path),
            )
        ]
    if errors:
        return [
            warning(
                "log",
                N_("The log file {path} holds {count} errors recently"),
                N_("Read the errors in the log file, or send it to support"),
                path=str(path),
                count=errors,
            )
        ]
    return [ok("log", N_("Log file {path}, no recent error"), path=str(path))]


# --- the server: enrolment, revocation, reachability, TLS, clock ----------------------------


def check_server(
    branch: Any,
    timeout: float = 5.0,
    now_ms: Callable[[], int] | None = None,
    *,
    ask: bool = True,
) -> list[Finding]:
    """Enrolment and revocation as this store knows them; with `ask`, the server's word
    too (a signed request), its certificate and its clock."""
    from core.sync.client import Credentials, RetryPolicy, SyncClient
    from core.sync.errors import ServerRefused, SyncError

    from .sync import meta

    clock = now_ms or (lambda: int(time.time() * 1000))
    found: list[Finding] = []
    url = meta(branch, "sync_server_url")
    revoked_here = branch.revoked
    if not url or not meta(branch, "server_public_key"):
        found.append(
            warning(
                "enrolment",
                N_("This desk is not enrolled with a sync server: it works alone"),
                N_(
                    "Run 'motcua enroll --server URL --code CODE' with a code from the "
                    "central admin"
                ),
            )
        )
        return found
    if revoked_here:
        found.append(_revoked_finding())
        return found
    if not ask:
        found.append(
            ok(
                "enrolment",
                N_("Enrolled with {url} (the server was not asked)"),
                url=url,
            )
        )
        return found
    if url.startswith("https://"):
        found += check_certificate(url, timeout)
    retry = RetryPolicy(attempts=1)
    client = SyncClient(url, timeout=(timeout, timeout), retry=retry)
    try:
        before = clock()
        health = client.health()
        after = clock()
    except SyncError as err:
        found.append(
            warning(
                "server",
                N_("{error}"),
                N_(
                    "Check the network and the server address; the desk keeps working offline "
                    "and syncs when the server answers"
                ),
                error=describe(err),
            )
        )
        return found
    found.append(ok("server", N_("The server {url} answers"), url=client.base_url))
    found.append(_skew(health.server_time_ms - (before + after) // 2))
    signed = SyncClient(
        url,
        Credentials(branch.device_id, branch.key),
        timeout=(timeout, timeout),
        retry=retry,
        clock_ms=clock,
    )
    try:
        signed.missing([])
    except ServerRefused as err:
        if err.status == 401 and err.problem.get("title") == "revoked":
            found.append(_revoked_finding())
        elif err.status == 401:
            found.append(
                failure(
                    "enrolment",
                    N_("The server refused this desk's signed request: {error}"),
                    N_(
                        "If the clock is right, this desk is unknown to the server: ask the "
                        "central admin for a code and run 'motcua enroll' again"
                    ),
                    error=describe(err),
                )
            )
        else:
            found.append(
                warning(
                    "enrolment",
                    N_("The server refused this desk's signed request: {error}"),
                    N_("Send the log file to support"),
                    error=describe(err),
                )
            )
        return found
    except SyncError as err:
        found.append(
            warning(
                "enrolment",
                N_("{error}"),
                N_("Run doctor again when the server answers"),
                error=describe(err),
            )
        )
        return found
    found.append(
        ok(
            "enrolment",
            N_("Enrolled as device {device} of branch {branch}; the server accepts it"),
            device=branch.device_id,
            branch=branch.branch_code,
        )
    )
    return found


def _revoked_finding() -> Finding:
    return failure(
        "enrolment",
        N_("This desk is revoked by the central server: it records nothing new"),
        N_(
            "Export the events the server never received (Settings, 'Export unsent events') "
            "and hand them to the central admin; a replacement desk needs a new enrolment"
        ),
    )


def _skew(skew_ms: int) -> Finding:
    seconds = round(skew_ms / 1000)
    if abs(skew_ms) > SKEW_FAIL_MS:
        return failure(
            "clock",
            N_("This computer's clock is {seconds} s off the server's"),
            N_(
                "Set the date, time and time zone right (turn on automatic time, NTP): the "
                "server refuses requests more than 5 minutes off"
            ),
            seconds=seconds,
        )
    if abs(skew_ms) > SKEW_WARN_MS:
        return warning(
            "clock",
            N_("This computer's clock is {seconds} s off the server's"),
            N_("Turn on automatic time (NTP) before the gap reaches 5 minutes"),
            seconds=seconds,
        )
    return ok("clock", N_("The clock agrees with the server's ({seconds} s)"), seconds=seconds)


def check_certificate(url: str, timeout: float = 5.0) -> list[Finding]:
    """An https server's certificate: trusted by this computer, days until it expires."""
    from cryptography import x509

    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    trusted = True
    try:
        der = _peer_certificate(host, port, ssl.create_default_context(), timeout)
    except ssl.SSLCertVerificationError:
        trusted = False
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        try:
            der = _peer_certificate(host, port, insecure, timeout)
        except (OSError, ssl.SSLError):
            der = b""
    except (OSError, ssl.SSLError):
        return []  # unreachable: the server check says so
    days = -1
    if der:
        cert = x509.load_der_x509_certificate(der)
        days = (cert.not_valid_after_utc - datetime.now(UTC)).days
    if not trusted:
        return [
            failure(
                "certificate",
                N_("The server's certificate is not trusted by this computer"),
                N_(
                    "Install the centre's certificate authority on this computer, or ask the "
                    "central admin to fix the server's certificate"
                ),
            )
        ]
    if days < CERT_WARN_DAYS:
        return [
            warning(
                "certificate",
                N_("The server's certificate expires in {days} days"),
                N_("Tell the central admin to renew the server's certificate"),
                days=days,
            )
        ]
    return [
        ok("certificate", N_("The server's certificate is trusted, {days} days left"), days=days)
    ]


def _peer_certificate(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes:
    with (
        socket.create_connection((host, port), timeout=timeout) as raw_socket,
        context.wrap_socket(raw_socket, server_hostname=host) as tls,
    ):
        return tls.getpeercert(binary_form=True) or b""


# --- the LAN: peer port and mDNS -----------------------------------------------------------


def check_peer_port(device_id: str, port: int = PEER_PORT) -> list[Finding]:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name == "posix":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("0.0.0.0", port))
    except OSError:
        pass
    else:
        return [ok("peer_port", N_("The LAN peer port {port} is free"), port=port)]
    finally:
        probe.close()
    owner = _peer_answer(port)
    if owner == device_id:
        return [ok("peer_port", N_("The LAN peer port {port} is served by this desk"), port=port)]
    if owner:
        return [
            warning(
                "peer_port",
                N_("The LAN peer port {port} is served by another desk ({device})"),
                N_("Two data folders run on this computer: choose another port in Settings"),
                port=port,
                device=owner,
            )
        ]
    return [
        warning(
            "peer_port",
            N_("The LAN peer port {port} is taken by another program"),
            N_("Stop that program or choose another peer port in Settings"),
            port=port,
        )
    ]


def _peer_answer(port: int) -> str:
    """The device id of a Một Cửa peer answering on this computer's `port`, or ""."""
    import requests

    try:
        answer = requests.get(f"http://127.0.0.1:{port}/v1/peer", timeout=2.0)
        data = answer.json()
    except (requests.RequestException, ValueError):
        return ""
    return str(data.get("device_id", "")) if isinstance(data, dict) else ""


def check_mdns() -> list[Finding]:
    try:
        from zeroconf import Zeroconf

        zc = Zeroconf()
    except Exception as err:  # zeroconf raises OSError and its own errors alike
        return [
            warning(
                "mdns",
                N_("mDNS cannot start: {error}"),
                N_(
                    "Desks of the branch will not find each other by themselves: allow UDP "
                    "port 5353 in the firewall, or add peers by address ('motcua peers --add')"
                ),
                error=str(err),
            )
        ]
    zc.close()
    return [ok("mdns", N_("mDNS starts: desks of the branch can find each other"))]


# --- the event log: unsent events ------------------------------------------------------------


def check_unsent(branch: Any) -> list[Finding]:
    from .sync import LocalReplica

    count = LocalReplica(branch).pending_event_count()
    if count:
        return [
            warning(
                "unsent",
                N_("{count} events of this branch have not reached the server yet"),
                N_(
                    "Run 'motcua sync --once' when the server answers; before retiring this "
                    "desk, make sure the count is 0"
                ),
                count=count,
            )
        ]
    return [ok("unsent", N_("Every event of this desk has reached the server"))]


# --- all of it -----------------------------------------------------------------------------


def run(
    data_dir: Path,
    *,
    server: bool = True,
    lan: bool = True,
    peer_port: int = PEER_PORT,
    timeout: float = 5.0,
    extra: Sequence[tuple[str, Check]] = (),
) -> list[Finding]:
    """Every check, in the order branch IT would look."""
    found = guarded("data_dir", lambda: check_data_dir(data_dir))
    if not data_dir.is_dir():
        return found
    unlock = _Unlock(data_dir)
    found += guarded("encryption", lambda: check_encryption(data_dir, unlock))
    found += guarded("plain_files", lambda: check_plain_files(data_dir))
    found += guarded("store", lambda: check_store(data_dir, unlock))
    found += guarded("key", lambda: check_key(data_dir, unlock))
    found += guarded("disk", lambda: check_disk(data_dir))
    branch = None
    if not any(f.level == FAILURE and f.check in ("store", "key") for f in found):
        branch, opening = _open(data_dir)
        found += opening
    try:
        if branch is not None:
            found += guarded("server", lambda: check_server(branch, timeout, ask=server))
            found += guarded("unsent", lambda: check_unsent(branch))
        for name, check in extra:
            found += guarded(name, check)
        if lan:
            device = branch.device_id if branch is not None else ""
            found += guarded("peer_port", lambda: check_peer_port(device, peer_port))
            found += guarded("mdns", check_mdns)
        found += guarded("log", lambda: check_log(data_dir))
    finally:
        if branch is not None:
            with contextlib.suppress(Exception):
                branch.close()
    return found


def _open(data_dir: Path) -> tuple[Any, list[Finding]]:
    from .branch import Branch

    try:
        return Branch.open(data_dir), []
    except MotcuaError as err:
        fix = _fix_for(err)
        return None, [failure("store", N_("{error}"), fix, error=describe(err), path=str(data_dir))]
    except Exception as err:
        log.exception("doctor: opening %s failed", data_dir)
        fix = _fix_for(err)
        return None, [
            failure(
                "store",
                N_("The store cannot be opened: {error}"),
                fix,
                error=str(err),
                path=str(data_dir),
            )
        ]


def worst(findings: Sequence[Finding]) -> str:
    levels = {f.level for f in findings}
    return FAILURE if FAILURE in levels else WARNING if WARNING in levels else OK
