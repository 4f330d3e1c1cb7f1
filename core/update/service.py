"""What the ``motcua update`` commands and the desktop do, over a data folder.

``check_and_stage`` is the whole background job a desk runs after a sync: ask the
repository, download with progress, verify, unpack and stage for the next start (held
when old unsynced events need a confirmation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.domain.errors import N_, MotcuaError, NotFoundError, ValidationError
from core.i18n import describe, tr

from . import guard, versions
from . import state as st
from .client import Progress, Release, UpdateClient, stage

log = logging.getLogger(__name__)
_DAYS = f"{guard.HOLD_DAYS:g}"  # the hold's days, as its message shows them


def running_version() -> str:
    from core import __version__

    return __version__


def status(data_dir: Path) -> dict[str, Any]:
    """The state in plain words: running, staged (and why held), pinned, last rollback."""
    state = st.load(data_dir)
    result: dict[str, Any] = {
        "running": state.current or running_version(),
        "previous": state.previous or "",
        "staged": state.staged or "",
        "pinned": state.pinned or "",
        "checked_at": state.checked_at,
    }
    if state.held:
        result["held"] = tr(state.held, days=_DAYS)
    if state.download:
        result["downloading"] = (
            f"{state.download.get('version')}: {state.download.get('done')}"
            f"/{state.download.get('total')}"
        )
    if state.failed:
        result["failed"] = ", ".join(state.failed)
    if state.rolled_back:
        result["rolled_back"] = tr(
            N_("Version {version} did not start and was replaced by the previous one"),
            version=state.rolled_back,
        )
    return result


def pin(data_dir: Path, version: str | None) -> dict[str, Any]:
    """Keep this version (None: follow the newest again). A pinned version that is not
    the running one is installed by the next check."""
    if version is not None:
        versions.parse(version)
    state = st.load(data_dir)
    state.pinned = version
    if version is not None and state.staged and state.staged != version:
        state.staged, state.held = None, ""  # a staged other version must not apply
    st.save(data_dir, state)
    return {"pinned": version or ""}


def check_and_stage(
    data_dir: Path,
    server_url: str,
    branch: Any = None,
    *,
    download: bool = True,
    force: bool = False,
    progress: Progress | None = None,
    running: str | None = None,
) -> dict[str, Any]:
    """Check the repository; with `download`, fetch, verify and stage what it offers."""
    running = running or _effective_running(data_dir)
    client = UpdateClient(data_dir, server_url)
    release = client.check(running)
    if release is None:
        return {"running": running, "available": "", "staged": st.load(data_dir).staged or ""}
    result: dict[str, Any] = {"running": running, "available": release.version}
    if not download:
        return result
    staged = st.versions_dir(data_dir) / release.version
    if st.load(data_dir).staged == release.version and staged.is_dir():
        result["staged"] = release.version
        return _held(data_dir, branch, force, result)
    archive = client.download(release, _recording(data_dir, release, progress))
    reason = "" if force or branch is None else guard.hold_reason(branch)
    stage(data_dir, release, archive, held=reason)
    result["staged"] = release.version
    return _held(data_dir, branch, force, result)


def _held(data_dir: Path, branch: Any, force: bool, result: dict[str, Any]) -> dict[str, Any]:
    """Re-evaluate the hold of the staged version (events may have gone up since)."""
    state = st.load(data_dir)
    if state.staged:
        state.held = "" if force or branch is None else guard.hold_reason(branch)
        st.save(data_dir, state)
    if state.held:
        result["held"] = tr(state.held, days=_DAYS)
        result["next"] = tr(
            N_(
                "Sync first, or confirm with 'motcua update install --force': the new "
                "version then starts at the next start"
            )
        )
    return result


def release_hold(data_dir: Path, branch: Any, force: bool) -> dict[str, Any]:
    """``motcua update install``: let the staged version apply at the next start; with
    old unsynced events, only with `force` (the confirmation)."""
    state = st.load(data_dir)
    if not state.staged:
        raise NotFoundError(N_("No update is staged: run 'motcua update check' first"))
    reason = "" if force or branch is None else guard.hold_reason(branch)
    if reason:
        raise ValidationError(
            N_(
                "This desk has {reason}: sync first, or add --force to install anyway "
                "(those events stay in the store and are sent later)"
            ),
            reason=tr(reason, days=_DAYS),
        )
    state.held = ""
    st.save(data_dir, state)
    return {
        "staged": state.staged,
        "next": tr(N_("Version {version} starts at the next start"), version=state.staged),
    }


def _effective_running(data_dir: Path) -> str:
    """The version this desk runs: its per-user current one, else this program's."""
    state = st.load(data_dir)
    return state.current or running_version()


def _recording(data_dir: Path, release: Release, progress: Progress | None) -> Progress:
    """Progress for the caller, and into the state every 5 % (`update status` shows it)."""
    last = [-1]

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        step = done * 20 // total if total else 0
        if step != last[0] or done == total:
            last[0] = step
            state = st.load(data_dir)
            state.download = {"version": release.version, "done": done, "total": total}
            st.save(data_dir, state)

    return report


def background_check(
    data_dir: Path,
    server_url: str,
    branch: Any,
    done: Callable[[dict[str, Any]], None],
    progress: Progress | None = None,
) -> None:
    """The desktop's job after a sync: never raises (a failed check is logged, given to
    `done` as ``{"error": ...}``, and the next sync tries again)."""
    try:
        result = check_and_stage(data_dir, server_url, branch, progress=progress)
    except Exception as err:  # the counter keeps working: the update waits
        log.warning("update check failed: %s", err)
        done({"error": describe(err) if isinstance(err, MotcuaError) else str(err)})
        return
    if result.get("staged"):
        log.info("update %s staged for the next start", result["staged"])
    done(result)
