"""The centre's TUF repository: keys, the first root, publishing a release, re-signing.

On the sync server, under ``<server data dir>/updates/``::

    metadata/      N.root.json, N.targets.json, N.snapshot.json, timestamp.json (served)
    targets/       <platform>/<sha256>.motcua-<version>.<ext> (served)
    online-keys/   snapshot.pem, timestamp.pem (0600, never served)

The root and targets keys are written only to the admin's key folder (``--keys DIR``),
which is kept off the server: publishing a release needs it, serving does not. The
repository uses consistent snapshots, so a desk reading while a release is published
sees the old state or the new, never a mix. Every role has threshold 1 and Ed25519 keys.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from core.domain.errors import N_, NotFoundError, StoreError, ValidationError

from . import versions
from ._tuf import (
    CryptoSigner,
    Metadata,
    MetaFile,
    Repository,
    Root,
    Signer,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

OFFLINE_ROLES = (Root.type, Targets.type)
ONLINE_ROLES = (Snapshot.type, Timestamp.type)
ONLINE_KEYS = "online-keys"


@dataclass(frozen=True)
class Lifetimes:
    """How long each role's signature holds. The online roles are re-signed by the
    server before half their lifetime is gone (``refresh``); the offline ones by the
    admin (``release refresh --keys``, or any publish)."""

    root: timedelta = timedelta(days=365)
    targets: timedelta = timedelta(days=180)
    snapshot: timedelta = timedelta(days=14)
    timestamp: timedelta = timedelta(days=2)

    def of(self, role: str) -> timedelta:
        value: timedelta = getattr(self, role)
        return value


def platform_tag() -> str:
    """``linux-x86_64``, ``win32-amd64``: a release is for one system and processor."""
    import platform
    import sys

    system = "linux" if sys.platform.startswith("linux") else sys.platform
    return f"{system}-{platform.machine().lower()}"


# --- keys ----------------------------------------------------------------------------------
def _write_key(path: Path, signer: CryptoSigner) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(signer.private_bytes)


def _read_key(path: Path) -> CryptoSigner:
    try:
        private = load_pem_private_key(path.read_bytes(), None)
    except FileNotFoundError:
        raise NotFoundError(N_("No signing key {path}"), path=str(path)) from None
    except (ValueError, TypeError):
        raise ValidationError(N_("{path} is not a signing key"), path=str(path)) from None
    return CryptoSigner(private)


def _signers(keys_dir: Path | None, online_dir: Path) -> dict[str, Signer]:
    """Every key at hand: the offline ones when their folder is given."""
    found: dict[str, Signer] = {}
    for role in ONLINE_ROLES:
        if (online_dir / f"{role}.pem").exists():
            found[role] = _read_key(online_dir / f"{role}.pem")
    if keys_dir is not None:
        for role in OFFLINE_ROLES:
            found[role] = _read_key(keys_dir / f"{role}.pem")
    return found


# --- the repository on disk ------------------------------------------------------------------
class FileRepository(Repository):
    """python-tuf's repository editing over files: each ``close`` bumps the version, sets
    the expiry and signs with the role's key (refused when that key is not at hand)."""

    def __init__(
        self, folder: Path, signers: dict[str, Signer], lifetimes: Lifetimes, now: datetime
    ) -> None:
        self.folder = folder
        self.signers = signers
        self.lifetimes = lifetimes
        self.now = now

    @property
    def metadata_dir(self) -> Path:
        return self.folder / "metadata"

    def _current(self, role: str) -> Path:
        return self.metadata_dir / f"{role}.json"

    def open(self, role: str) -> Metadata[Any]:
        path = self._current(role)
        if path.exists():
            return Metadata.from_file(str(path))
        if role == Root.type:
            raise NotFoundError(
                N_("No update repository in {path}: run 'motcua-server release init' first"),
                path=str(self.folder),
            )
        fresh = {Targets.type: Targets, Snapshot.type: Snapshot, Timestamp.type: Timestamp}
        signed = fresh[role]()
        signed.version = 0  # close() makes it 1
        return Metadata(signed)

    def close(self, role: str, md: Metadata[Any]) -> None:
        signer = self.signers.get(role)
        if signer is None:
            raise ValidationError(
                N_("The {role} key is needed for this: give the key folder with --keys"),
                role=role,
            )
        md.signed.version += 1
        md.signed.expires = self.now + self.lifetimes.of(role)
        md.sign(signer)
        self._write(role, md)

    def _write(self, role: str, md: Metadata[Any]) -> None:
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        data = md.to_bytes()
        if role != Timestamp.type:  # consistent snapshots: each version under its number
            _atomic(self.metadata_dir / f"{md.signed.version}.{role}.json", data)
        _atomic(self._current(role), data)

    @property
    def targets_infos(self) -> dict[str, MetaFile]:
        return {"targets.json": MetaFile(self.targets().version)}

    @property
    def snapshot_info(self) -> MetaFile:
        return MetaFile(self.snapshot().version)


def _atomic(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temp, 0o644)  # served: readable by the web server
    os.replace(temp, path)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time (the CLI, and each worker of the server re-signing)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _now() -> datetime:
    return datetime.now(UTC)


def _open(
    folder: Path, keys_dir: Path | None, lifetimes: Lifetimes | None = None
) -> FileRepository:
    signers = _signers(keys_dir, folder / ONLINE_KEYS)
    return FileRepository(folder, signers, lifetimes or Lifetimes(), _now())


# --- the commands ----------------------------------------------------------------------------
def init(folder: Path, keys_dir: Path, lifetimes: Lifetimes | None = None) -> dict[str, Any]:
    """New keys for the four roles, root v1, empty targets, snapshot and timestamp."""
    if (folder / "metadata" / "root.json").exists():
        raise ValidationError(
            N_("{path} already holds an update repository"), path=str(folder / "metadata")
        )
    for role in OFFLINE_ROLES:
        if (keys_dir / f"{role}.pem").exists():
            raise ValidationError(
                N_("{path} already holds a {role} key: use an empty folder"),
                path=str(keys_dir),
                role=role,
            )
    signers = {role: CryptoSigner.generate_ed25519() for role in (*OFFLINE_ROLES, *ONLINE_ROLES)}
    for role, signer in signers.items():
        where = keys_dir if role in OFFLINE_ROLES else folder / ONLINE_KEYS
        _write_key(where / f"{role}.pem", signer)
    with _locked(folder):
        repo = FileRepository(folder, dict(signers), lifetimes or Lifetimes(), _now())
        root = Root(consistent_snapshot=True)
        root.version = 0  # close() makes it 1
        for role, signer in signers.items():
            root.add_key(signer.public_key, role)
        repo.close(Root.type, Metadata(root))
        for role in (Targets.type, Snapshot.type):
            repo.close(role, repo.open(role))
        repo.do_timestamp(force=True)
    return {
        "repository": str(folder),
        "root": str(folder / "metadata" / "1.root.json"),
        "offline_keys": str(keys_dir),
    }


def _archive(source: Path, version: str, work: Path) -> Path:
    """The release file: an archive given as is, a folder packed as ``.tar.gz``."""
    if source.is_file():
        if not source.name.endswith((".tar.gz", ".tgz", ".zip")):
            raise ValidationError(
                N_("{path} is not a .tar.gz or .zip archive nor a folder"), path=str(source)
            )
        return source
    if not source.is_dir():
        raise NotFoundError(N_("No such file or folder: {path}."), path=str(source))
    target = work / f"motcua-{version}.tar.gz"
    with tarfile.open(target, "w:gz") as tar:
        for child in sorted(source.iterdir()):
            tar.add(child, arcname=child.name)
    return target


def _extension(path: Path) -> str:
    return ".zip" if path.name.endswith(".zip") else ".tar.gz"


def publish(
    folder: Path,
    source: Path,
    version: str,
    keys_dir: Path,
    platform: str | None = None,
    lifetimes: Lifetimes | None = None,
) -> dict[str, Any]:
    """Add a release as a new target (signed by the offline targets key), then a new
    snapshot and timestamp. A version not above the newest of its platform is refused."""
    versions.parse(version)
    platform = platform or platform_tag()
    with _locked(folder), tempfile.TemporaryDirectory() as work:
        repo = _open(folder, keys_dir, lifetimes)
        newest = newest_version(repo.targets(), platform)
        if newest is not None and not versions.newer(version, newest):
            raise ValidationError(
                N_("Version {version} is not newer than the published {newest}"),
                version=version,
                newest=newest,
            )
        archive = _archive(source, version, Path(work))
        name = f"{platform}/motcua-{version}{_extension(archive)}"
        info = TargetFile.from_file(name, str(archive), ["sha256"])
        info.unrecognized_fields["custom"] = {"version": version, "platform": platform}
        stored = folder / "targets" / platform / f"{info.hashes['sha256']}.{Path(name).name}"
        stored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, stored)
        os.chmod(stored, 0o644)
        with repo.edit_targets() as targets:
            targets.targets[name] = info
        repo.do_snapshot()
        repo.do_timestamp()
    return {"version": version, "platform": platform, "target": name, "size": info.length}


def refresh(
    folder: Path,
    keys_dir: Path | None = None,
    lifetimes: Lifetimes | None = None,
    force: bool = False,
) -> list[str]:
    """Re-sign what expires within half its lifetime (everything with `force`): snapshot
    and timestamp with the online keys, and root and targets too when the offline key
    folder is given. The roles re-signed."""
    done: list[str] = []
    with _locked(folder):
        repo = _open(folder, keys_dir, lifetimes)

        def due(role: str) -> bool:
            left = repo.open(role).signed.expires - repo.now
            return force or left < repo.lifetimes.of(role) / 2

        if keys_dir is not None:
            for role in OFFLINE_ROLES:
                if due(role):
                    repo.close(role, repo.open(role))
                    done.append(role)
        if due(Snapshot.type) or Targets.type in done or Root.type in done:
            repo.do_snapshot(force=True)
            done.append(Snapshot.type)
        if due(Timestamp.type) or done:
            repo.do_timestamp(force=True)
            done.append(Timestamp.type)
    return done


def refresh_online(folder: Path) -> list[str]:
    """What the server does before serving the timestamp: re-sign it (and the snapshot)
    when due. Nothing when the repository or its online keys are missing."""
    if not (folder / ONLINE_KEYS / "timestamp.pem").exists():
        return []
    if not (folder / "metadata" / "timestamp.json").exists():
        return []
    return refresh(folder)


def newest_version(targets: Targets, platform: str) -> str | None:
    found = [v for v in releases_of(targets) if v["platform"] == platform]
    if not found:
        return None
    return max((str(v["version"]) for v in found), key=versions.parse)


def releases_of(targets: Targets) -> list[dict[str, Any]]:
    """Every release a targets role lists: its version, platform, path and size."""
    found = []
    for path, info in targets.targets.items():
        custom = info.custom if isinstance(info.custom, dict) else {}
        if "version" in custom and "platform" in custom:
            found.append(
                {
                    "version": str(custom["version"]),
                    "platform": str(custom["platform"]),
                    "target": path,
                    "size": info.length,
                }
            )
    return sorted(found, key=lambda r: (r["platform"], versions.parse(r["version"])))


def describe(folder: Path) -> dict[str, Any]:
    """The releases published and when each role's signature expires."""
    metadata = folder / "metadata"
    if not (metadata / "root.json").exists():
        raise NotFoundError(
            N_("No update repository in {path}: run 'motcua-server release init' first"),
            path=str(folder),
        )
    expires: dict[str, str] = {}
    releases: list[dict[str, Any]] = []
    try:
        for role in (Root.type, Targets.type, Snapshot.type, Timestamp.type):
            md = Metadata.from_file(str(metadata / f"{role}.json"))
            expires[role] = f"v{md.signed.version}, {md.signed.expires.isoformat()}"
            if isinstance(md.signed, Targets):
                releases = releases_of(md.signed)
    except (OSError, ValueError) as err:
        raise StoreError(
            N_("The update repository in {path} is damaged"), path=str(folder)
        ) from err
    return {"releases": releases, "expires": expires}
