"""A desk's side: trust the centre's root, check, download and verify, stage.

python-tuf's ``Updater`` does every check of the TUF client workflow (signatures by the
keys the trusted root names, versions never going back, expiry, lengths and hashes);
each of its refusals becomes one specific message here. The metadata this desk trusts
lives in ``<data dir>/updates/metadata``: a server that later offers older metadata (a
replayed release) is refused, whatever it signs.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuf.api import exceptions as tuf_errors
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from core.domain.errors import N_, NotFoundError, StoreError, ValidationError
from core.sync.errors import network_reason

from . import launcher, repository, versions
from . import state as st
from ._tuf import Metadata, Root, Targets, Updater
from .errors import VerificationFailed

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass(frozen=True)
class Release:
    version: str
    target: str  # the path in the repository
    size: int


def metadata_dir(data_dir: Path) -> Path:
    return st.updates_dir(data_dir) / "metadata"


# --- trust ------------------------------------------------------------------------------
def trust(data_dir: Path, root_file: Path) -> dict[str, Any]:
    """Take the centre's ``root.json`` (from the admin, not from the network) as this
    desk's anchor. It must be a root signed by its own keys."""
    try:
        data = root_file.read_bytes()
        md = Metadata[Root].from_bytes(data)
        if not isinstance(md.signed, Root):
            raise ValueError("not a root")
        md.signed.verify_delegate(Root.type, md.signed_bytes, md.signatures)
    except (FileNotFoundError, IsADirectoryError):
        raise ValidationError(N_("File not found: {path}"), path=str(root_file)) from None
    except OSError:
        raise
    except Exception:
        raise ValidationError(
            N_("{path} is not the centre's signed update root (root.json)"), path=str(root_file)
        ) from None
    folder = metadata_dir(data_dir)
    if (folder / "root.json").exists():
        raise ValidationError(
            N_("This desk already trusts an update root: the centre rotates it by publishing")
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root.json").write_bytes(data)
    return {"trusted_root": str(folder / "root.json"), "root_version": md.signed.version}


def _bundled_root() -> bytes | None:
    """The root shipped inside the installed program, if the build put one there."""
    import sys

    if not getattr(sys, "frozen", False):
        return None
    shipped = Path(sys.executable).resolve().parent / "update-root.json"
    return shipped.read_bytes() if shipped.exists() else None


# --- the network, with progress ------------------------------------------------------------
class _ProgressFetcher(FetcherInterface):
    """urllib3's fetcher, reporting the bytes of the target being downloaded."""

    def __init__(self, timeout_s: int) -> None:
        self.inner = Urllib3Fetcher(socket_timeout=timeout_s, app_user_agent="motcua")
        self.report: Progress | None = None
        self.total = 0

    def _fetch(self, url: str) -> Iterator[bytes]:
        chunks = self.inner._fetch(url)
        report, total = self.report, self.total
        if report is None:
            return chunks
        return self._counted(chunks, report, total)

    @staticmethod
    def _counted(chunks: Iterator[bytes], report: Progress, total: int) -> Iterator[bytes]:
        done = 0
        for chunk in chunks:
            done += len(chunk)
            report(done, total)
            yield chunk


# --- check, download, stage ----------------------------------------------------------------
class UpdateClient:
    def __init__(self, data_dir: Path, server_url: str, timeout_s: int = 30) -> None:
        self.data_dir = data_dir
        self.fetcher = _ProgressFetcher(timeout_s)
        folder = metadata_dir(data_dir)
        if not (folder / "root.json").exists():
            shipped = _bundled_root()
            if shipped is None:
                raise NotFoundError(
                    N_(
                        "This desk trusts no update root yet: run 'motcua update trust "
                        "root.json' with the file from the central admin"
                    )
                )
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "root.json").write_bytes(shipped)
        base = server_url.rstrip("/") + "/updates"
        downloads = st.updates_dir(data_dir) / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        with _verifying():
            self.updater = Updater(
                str(folder),
                f"{base}/metadata/",
                str(downloads),
                f"{base}/targets/",
                fetcher=self.fetcher,
                bootstrap=None,  # the root this desk already trusts
            )

    def releases(self, platform: str | None = None) -> list[Release]:
        """Every release of this platform the verified, current targets list."""
        with _verifying():
            self.updater.refresh()
        # refresh() verified and stored targets.json: it is the one this desk trusts now.
        targets = Metadata[Targets].from_file(str(metadata_dir(self.data_dir) / "targets.json"))
        platform = platform or repository.platform_tag()
        return [
            Release(r["version"], r["target"], r["size"])
            for r in repository.releases_of(targets.signed)
            if r["platform"] == platform
        ]

    def check(self, running: str, platform: str | None = None) -> Release | None:
        """The release to install: the pinned one, else the newest above the running
        version that never failed to start here; None when there is none."""
        state = st.load(self.data_dir)
        found = self.releases(platform)
        state.checked_at = datetime.now(UTC).isoformat(timespec="seconds")
        st.save(self.data_dir, state)
        if state.pinned:
            pinned = [r for r in found if r.version == state.pinned]
            if state.pinned == running or not pinned:
                return None
            return pinned[0]
        fresh = [
            r for r in found if versions.newer(r.version, running) and r.version not in state.failed
        ]
        return max(fresh, key=lambda r: versions.parse(r.version)) if fresh else None

    def download(self, release: Release, progress: Progress | None = None) -> Path:
        """The verified archive (a copy already verified is not downloaded again)."""
        with _verifying(release.version):
            info = self.updater.get_targetinfo(release.target)
            if info is None:
                raise NotFoundError(
                    N_("The server does not list version {version}"), version=release.version
                )
            cached = self.updater.find_cached_target(info)
            if cached is not None:
                return Path(cached)
            self.fetcher.report, self.fetcher.total = progress, info.length
            try:
                return Path(self.updater.download_target(info))
            finally:
                self.fetcher.report = None


def stage(data_dir: Path, release: Release, archive: Path, held: str = "") -> Path:
    """Unpack a verified archive into ``versions/<v>`` and mark it for the next start
    (held back with a reason when old unsynced events need a confirmation first)."""
    versions_dir = st.versions_dir(data_dir)
    target = versions_dir / release.version
    partial = versions_dir / f".{release.version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        _unpack(archive, partial)
        root = _program_root(partial)
        shutil.rmtree(target, ignore_errors=True)
        root.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    archive.unlink(missing_ok=True)
    state = st.load(data_dir)
    state.staged, state.held, state.download = release.version, held, {}
    st.save(data_dir, state)
    launcher.prune(data_dir)
    return target


def _unpack(archive: Path, into: Path) -> None:
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as packed:
                for name in packed.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise ValueError(name)
                packed.extractall(into)
        else:
            with tarfile.open(archive) as packed:
                _extract_tar(packed, into)
    except (tarfile.TarError, zipfile.BadZipFile, ValueError) as err:
        raise StoreError(
            N_("The update archive {path} cannot be unpacked"), path=archive.name
        ) from err


def _extract_tar(packed: tarfile.TarFile, into: Path) -> None:
    """No path outside `into`, no device file, no link leaving it: the "data" filter,
    checked by hand where the Python lacks it (3.11 before 3.11.4)."""
    if hasattr(tarfile, "data_filter"):
        packed.extractall(into, filter="data")
        return
    for member in packed.getmembers():
        parts = Path(member.name).parts
        link = Path(member.linkname).parts if member.issym() or member.islnk() else ()
        if member.name.startswith("/") or ".." in parts or ".." in link or member.isdev():
            raise ValueError(member.name)
        if member.issym() and member.linkname.startswith("/"):
            raise ValueError(member.name)
    packed.extractall(into)


def _program_root(folder: Path) -> Path:
    """The unpacked program folder: the archive's single top folder, or its top."""
    children = list(folder.iterdir())
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return folder


# --- what python-tuf refuses, in plain words -------------------------------------------------
class _verifying:  # noqa: N801 - used as a statement: ``with _verifying():``
    def __init__(self, version: str = "") -> None:
        self.version = version

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: Any, _trace: Any) -> None:
        mapped = _refusal(err, self.version) if isinstance(err, Exception) else None
        if mapped is not None:
            log.warning("update refused: %s", err)
            raise mapped from err


_ROLES = ("timestamp", "snapshot", "targets", "root")  # as python-tuf names them


def _refusal(err: Exception, version: str) -> Exception | None:
    if isinstance(
        err, tuf_errors.LengthOrHashMismatchError | tuf_errors.DownloadLengthMismatchError
    ):
        if version:
            return VerificationFailed(
                "tampered",
                N_(
                    "The downloaded update {version} does not match the centre's signed "
                    "hash (altered on the way or on the server): refused, nothing installed"
                ),
                version=version,
            )
        return VerificationFailed(
            "tampered",
            N_("The update information does not match its signed hash: refused"),
        )
    if isinstance(err, tuf_errors.ExpiredMetadataError):
        return VerificationFailed(
            "expired",
            N_(
                "The centre's update information ({role}) has expired: the central admin "
                "must sign it again; nothing was installed"
            ),
            role=next((r for r in _ROLES if r in str(err)), "?"),
        )
    if isinstance(err, tuf_errors.BadVersionNumberError):
        return VerificationFailed(
            "replayed",
            N_(
                "The server offers older update information than this desk already trusts "
                "(a replayed release): refused, nothing installed"
            ),
        )
    if isinstance(err, tuf_errors.UnsignedMetadataError):
        return VerificationFailed(
            "unsigned",
            N_("The update information is not signed by the centre's keys: refused"),
        )
    if isinstance(err, tuf_errors.RepositoryError):
        return VerificationFailed(
            "invalid", N_("The update information is invalid: {detail}"), detail=str(err)
        )
    if isinstance(err, tuf_errors.DownloadHTTPError) and err.status_code == 404:
        return NotFoundError(N_("The server publishes no updates (no update repository)"))
    if isinstance(err, tuf_errors.DownloadError):
        return StoreError(
            N_("The update server cannot be reached or stopped answering: {detail}"),
            detail=network_reason(err),
        )
    return None
