"""The key of an encrypted store: made once, kept in the OS keystore or under a passphrase.

An encrypted desk has one random 256-bit store key. SQLCipher encrypts the store with it;
keys derived from it seal the device key and the scans (``core.domain.sealing``). The
key itself is never written in the clear. ``store.keys.json``, beside the store, says
where it is (it holds no secret a thief can use)::

    {"format": "motcua-store-keys", "version": 1, "store_id": "…",
     "check": "…",                       # sealed with the key: tells a wrong key at once
     "sqlcipher": {"version": 4, "cipher_page_size": "2048", "cipher_hmac_algorithm": …},
     "keyring": {"service": "motcua", "username": "<store_id>", "backend": "…"} | null,
     "passphrase": {"kdf": "argon2id", "salt": "…", "time_cost": 3, "memory_kib": 65536,
                    "lanes": 4, "wrapped": "…"} | null}

- ``keyring``: the key (hex) is an entry of the OS keystore (Secret Service on Linux,
  Windows Credential Locker, macOS Keychain), readable by this user's session only.
- ``passphrase``: the key sealed under a key derived from the branch passphrase with
  Argon2id — where no keystore exists (a headless machine), and as the recovery of a
  keystore entry that is lost (a new user profile, a reinstalled system).

Opening tries the keystore first, then the passphrase (``MOTCUA_PASSPHRASE``, or the
caller's prompt). A key that is missing or wrong is a :class:`StoreKeyError`, saying
what to do.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from argon2.low_level import Type, hash_secret_raw

from core.domain import sealing
from core.domain.errors import N_, StoreKeyError, ValidationError
from core.domain.ids import new_uuid7
from core.storage.db import (
    CIPHER_CHOICES,
    CIPHER_SETTINGS,
    SQLITE_HEADER,
    Cipher,
    check_store_file,
    known_cipher,
)

log = logging.getLogger(__name__)

KEYS_FILE = "store.keys.json"
FORMAT = "motcua-store-keys"
PASSPHRASE_ENV = "MOTCUA_PASSPHRASE"
KEYSTORE_ENV = "MOTCUA_KEYSTORE"  # "off": never use the OS keystore (passphrase only)
SERVICE = "motcua"
MIN_PASSPHRASE = 10
# Argon2id: RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes).
TIME_COST, MEMORY_KIB, LANES = 3, 64 * 1024, 4
_CHECK = b"motcua store key check v1"
_WRAP = b"motcua store key v1"
KEYRING, PASSPHRASE = "keyring", "passphrase"

Prompt = Callable[[], str | None]


@dataclass(frozen=True)
class Unlocked:
    key: bytes
    source: str  # KEYRING or PASSPHRASE
    cipher: Cipher  # the store's SQLCipher settings, from its key file


def keys_path(data_dir: Path) -> Path:
    return data_dir / KEYS_FILE


def is_encrypted(data_dir: Path) -> bool:
    return keys_path(data_dir).is_file()


def passphrase_from_env(env: dict[str, str] | None = None) -> str | None:
    return (env if env is not None else os.environ).get(PASSPHRASE_ENV) or None


# --- the OS keystore -----------------------------------------------------------------------


def keystore() -> Any | None:
    """The OS keystore's backend when one is usable here, else None (a headless machine
    has only keyring's "fail" backend). ``MOTCUA_KEYSTORE=off`` turns it off."""
    if os.environ.get(KEYSTORE_ENV, "").lower() == "off":
        return None
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:  # a bundle without it: the passphrase remains
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def keystore_name(backend: Any) -> str:
    return str(getattr(backend, "name", type(backend).__name__))


def _keystore_get(backend: Any, name: str) -> str | None:
    from keyring.errors import KeyringError

    try:
        value = backend.get_password(SERVICE, name)
    except KeyringError as err:  # locked, or its service went away
        log.warning("the keystore did not give the store key: %s", err)
        return None
    return str(value) if value else None


# --- making a key ------------------------------------------------------------------------------


def create(
    data_dir: Path, passphrase: str | None, *, target: Path | None = None
) -> tuple[bytes, dict[str, Any]]:
    """A new store key, kept in the OS keystore when there is one and under `passphrase`
    when given (at least one of the two). Its description is written to `target`
    (``store.keys.json`` by default). Returns the key and the description."""
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError(
            N_("The branch passphrase must have at least {count} characters"),
            count=MIN_PASSPHRASE,
        )
    key = sealing.new_key()
    store_id = new_uuid7()
    check = sealing.seal(sealing.subkey(key, _CHECK), b"", _CHECK)
    keys: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "store_id": store_id,
        "check": _b64(check),
        # what opens the store besides the key (see ``core.storage.db.CIPHER_SETTINGS``)
        "sqlcipher": {"version": 4, **dict(CIPHER_SETTINGS)},
        "keyring": _put_in_keystore(key, store_id, passphrase is not None),
        "passphrase": _wrap(key, store_id, passphrase) if passphrase is not None else None,
    }
    if keys["keyring"] is None and keys["passphrase"] is None:
        raise StoreKeyError(
            N_(
                "This computer has no keystore for the store key: set MOTCUA_PASSPHRASE to "
                "a branch passphrase (see docs/encryption.md)"
            )
        )
    write_keys(target or keys_path(data_dir), keys)
    return key, keys


def _put_in_keystore(key: bytes, store_id: str, has_passphrase: bool) -> dict[str, str] | None:
    backend = keystore()
    if backend is None:
        return None
    from keyring.errors import KeyringError

    try:
        backend.set_password(SERVICE, store_id, key.hex())
    except KeyringError as err:
        if has_passphrase:  # the passphrase alone keeps it
            log.warning("the keystore refused the store key, the passphrase keeps it: %s", err)
            return None
        raise StoreKeyError(
            N_(
                "The keystore refused the store key ({detail}): unlock it, or set "
                "MOTCUA_PASSPHRASE to a branch passphrase"
            ),
            detail=str(err)[:200],
        ) from None
    return {"service": SERVICE, "username": store_id, "backend": keystore_name(backend)}


def _derive(passphrase: str, spec: dict[str, Any]) -> bytes:
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        base64.b64decode(spec["salt"]),
        int(spec["time_cost"]),
        int(spec["memory_kib"]),
        int(spec["lanes"]),
        sealing.KEY_LEN,
        Type.ID,
    )


def _wrap(key: bytes, store_id: str, passphrase: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kdf": "argon2id",
        "salt": _b64(os.urandom(16)),
        "time_cost": TIME_COST,
        "memory_kib": MEMORY_KIB,
        "lanes": LANES,
    }
    spec["wrapped"] = _b64(sealing.seal(_derive(passphrase, spec), key, _WRAP + store_id.encode()))
    return spec


def set_passphrase(data_dir: Path, key: bytes, passphrase: str) -> None:
    """Keep (or replace) the recovery of `key` under a new branch passphrase."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError(
            N_("The branch passphrase must have at least {count} characters"),
            count=MIN_PASSPHRASE,
        )
    keys = read_keys(keys_path(data_dir))
    keys["passphrase"] = _wrap(key, str(keys["store_id"]), passphrase)
    write_keys(keys_path(data_dir), keys)


# --- opening -----------------------------------------------------------------------------------


def unlock(data_dir: Path, passphrase: str | None = None, prompt: Prompt | None = None) -> Unlocked:
    """The store key of the encrypted store in `data_dir`: from the OS keystore, else
    from `passphrase` (else ``MOTCUA_PASSPHRASE``, else `prompt`)."""
    return unlock_file(keys_path(data_dir), passphrase, prompt)


def unlock_file(
    path: Path, passphrase: str | None = None, prompt: Prompt | None = None
) -> Unlocked:
    keys = read_keys(path)
    cipher = _cipher(keys, path)
    if keys.get("keyring"):
        backend = keystore()
        value = _keystore_get(backend, keys["keyring"]["username"]) if backend else None
        if value is not None:
            key = _from_hex(value)
            if key is not None and _checks(key, keys):
                return Unlocked(key, KEYRING, cipher)
            log.warning("the keystore's entry for %s is not this store's key", path)
    spec = keys.get("passphrase")
    if not spec:
        raise StoreKeyError(
            N_(
                "The key of the encrypted store in {path} is not in this computer's keystore "
                "and the store has no branch passphrase: log in as the user who set it up, "
                "or restore the desk from a backup"
            ),
            path=str(path.parent),
        )
    secret = passphrase or passphrase_from_env() or (prompt() if prompt else None)
    if not secret:
        raise StoreKeyError(
            N_("The store in {path} is encrypted: set MOTCUA_PASSPHRASE to the branch passphrase"),
            path=str(path.parent),
        )
    try:
        key = sealing.unseal(
            _derive(secret, spec),
            base64.b64decode(spec["wrapped"]),
            _WRAP + str(keys["store_id"]).encode(),
        )
    except ValidationError:
        raise StoreKeyError(
            N_("Wrong branch passphrase for the store in {path}"), path=str(path.parent)
        ) from None
    return Unlocked(key, PASSPHRASE, cipher)


def _cipher(keys: dict[str, Any], path: Path) -> Cipher:
    """The SQLCipher settings the store was made with (2 KiB pages today, 4 KiB before)."""
    described = keys.get("sqlcipher")
    if isinstance(described, dict) and described.get("version") == 4:
        cipher = cast(Cipher, tuple((name, described.get(name)) for name in CIPHER_CHOICES))
        if known_cipher(cipher):
            return cipher
    raise StoreKeyError(
        N_("The key file {path} of the encrypted store is damaged: restore it from a backup"),
        path=str(path),
    )


def _checks(key: bytes, keys: dict[str, Any]) -> bool:
    try:
        sealing.unseal(sealing.subkey(key, _CHECK), base64.b64decode(keys["check"]), _CHECK)
    except ValidationError:
        return False
    return True


def _from_hex(value: str) -> bytes | None:
    try:
        key = bytes.fromhex(value)
    except ValueError:
        return None
    return key if len(key) == sealing.KEY_LEN else None


def read_keys(path: Path) -> dict[str, Any]:
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreKeyError(
            N_("The key file {path} of the encrypted store is missing: restore it from a backup"),
            path=str(path),
        ) from None
    except (ValueError, UnicodeDecodeError):
        keys = None
    if not isinstance(keys, dict) or keys.get("format") != FORMAT or "check" not in keys:
        raise StoreKeyError(
            N_("The key file {path} of the encrypted store is damaged: restore it from a backup"),
            path=str(path),
        )
    return keys


def write_keys(path: Path, keys: dict[str, Any]) -> None:
    """Written whole or not at all (a temporary file renamed), owner-only."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(keys, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def describe_keys(data_dir: Path) -> dict[str, Any]:
    """Where the key of the store in `data_dir` is kept (no secret): for doctor."""
    keys = read_keys(keys_path(data_dir))
    ring = keys.get("keyring") or {}
    return {"keyring": ring.get("backend", ""), "passphrase": bool(keys.get("passphrase"))}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- what the branch needs to open -------------------------------------------------------------

BLOBS_DIR = "blobs"  # the desk's blob root under its data folder (as ``documents``)


def open_store(
    data_dir: Path, passphrase: str | None = None, prompt: Prompt | None = None
) -> Unlocked | None:
    """The key of the encrypted store in `data_dir`, where it came from and the store's
    settings (None when the store is plain), after checking that its file is an
    encrypted store."""
    if not is_encrypted(data_dir):
        if _sealed_device_key(data_dir):
            raise StoreKeyError(
                N_(
                    "The desk in {path} is encrypted and its key file store.keys.json is "
                    "missing: put that file back (from the backup of this folder), or restore "
                    "the desk from its backup ('motcua restore')"
                ),
                path=str(data_dir),
            )
        return None
    store = data_dir / "motcua.db"
    if not store.is_file() or not store.stat().st_size:
        check_store_file(store)  # missing or empty: said as for a plain store
    else:
        with store.open("rb") as handle:
            plain = handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
        if plain:
            raise StoreKeyError(
                N_(
                    "The store in {path} is not encrypted yet its key file is there: run "
                    "'motcua store encrypt' to finish encrypting it"
                ),
                path=str(data_dir),
            )
    return unlock(data_dir, passphrase, prompt)


def _sealed_device_key(data_dir: Path) -> bool:
    """Whether the desk's device key is sealed: the desk was encrypted, so its store is
    too (a plain desk's store without SQLite's header is a damaged store instead)."""
    try:
        return sealing.is_sealed((data_dir / "device.key").read_bytes())
    except OSError:
        return False


def register_blobs(data_dir: Path, key: bytes | None, owner: object) -> None:
    """Scans under `data_dir` are sealed with `key`'s blob key while `owner` (the open
    store) is open."""
    if key is not None:
        from core.sync import sealed

        sealed.register(data_dir / BLOBS_DIR, sealing.subkey(key, sealing.BLOBS), owner)


def unregister_blobs(data_dir: Path, key: bytes | None, owner: object) -> None:
    if key is not None:
        from core.sync import sealed

        sealed.unregister(data_dir / BLOBS_DIR, owner)


def seal_device_key(pem: bytes, key: bytes | None) -> bytes:
    if key is None:
        return pem
    return sealing.seal(sealing.subkey(key, sealing.DEVICE_KEY), pem, sealing.DEVICE_KEY)


def open_device_key(data: bytes, key: bytes | None, path: Path) -> bytes:
    """The device key's PEM from its file's bytes (sealed on an encrypted desk)."""
    if not sealing.is_sealed(data):
        return data
    if key is None:
        raise StoreKeyError(
            N_("The device key {path} is encrypted and the store's key file is missing"),
            path=str(path),
        )
    try:
        return sealing.unseal(sealing.subkey(key, sealing.DEVICE_KEY), data, sealing.DEVICE_KEY)
    except ValidationError:
        raise StoreKeyError(
            N_("The device key {path} does not open with the store's key"), path=str(path)
        ) from None
