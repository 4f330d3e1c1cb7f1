"""What the desktop shows of sync, whatever the sync agent looks like.

The dashboard and the top bar read a :class:`SyncState`. A :class:`SyncSource` produces
it: :class:`NotConfigured` when this desktop has no sync agent (yet), or
:class:`AgentSource`, which reads the status record of ``core.sync``'s ``SyncAgent``
and tolerates fields it does not know, so the UI keeps working while the agent grows.

Revocation: when the server answers that this desk is revoked (401 ``revoked``), the
:class:`AgentSource` records it in the store (``Branch.mark_revoked``); from then on the
state says ``revoked``, the shell shows it on every screen, the core refuses new events,
and :func:`export_unsent` gives branch IT the events the server never received.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sized
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.domain.errors import MotcuaError
from core.services import printouts
from core.sync.errors import ServerRefused

if TYPE_CHECKING:
    from core.services.branch import Branch
    from core.sync.agent import SyncAgent

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 60.0


@dataclass(frozen=True)
class SyncState:
    configured: bool
    last_sync: str = ""  # ISO moment of the last successful exchange
    pending_events: int = 0
    pending_blobs: int = 0
    peers: int = 0
    online: bool = False
    problem: str = ""
    revoked: bool = False  # the centre revoked this desk: reads only


class SyncSource(Protocol):
    def status(self) -> SyncState: ...

    def sync_now(self) -> SyncState: ...

    def start(self) -> None: ...

    def trigger(self) -> None: ...

    def stop(self) -> None: ...


class NotConfigured:
    """No sync agent on this desktop: the branch works alone until it is enrolled."""

    def status(self) -> SyncState:
        return SyncState(configured=False)

    def sync_now(self) -> SyncState:
        return self.status()

    def start(self) -> None:
        """Nothing to run: the branch works alone."""

    def trigger(self) -> None:
        """Nothing to wake."""

    def stop(self) -> None:
        """Nothing to stop."""


def _first(record: object, *names: str, default: object = None) -> object:
    for name in names:
        value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
        if value is not None:
            return value
    return default


def _count(value: object) -> int:
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, Sized):
        return len(value)
    return 0


class AgentSource:
    """Reads ``agent.status()`` (a record or a dict) into a :class:`SyncState`; with the
    branch, notices the server's answer that this desk is revoked and keeps it."""

    def __init__(self, agent: SyncAgent, branch: Branch | None = None) -> None:
        self.agent = agent
        self.branch = branch
        describe = getattr(agent, "describe", None)
        if branch is not None and callable(describe):
            # Every failed exchange passes through the agent's describe, in its own
            # thread or in sync_now: the one place to see what the server answered.
            agent.describe = _watching(describe, self._refused)

    def _refused(self, err: MotcuaError) -> None:
        if revoked_answer(err) and self.branch is not None:
            try:
                self.branch.mark_revoked()
            except Exception:  # the next refusal tries again; the exchange's error stands
                log.exception("could not record that this desk is revoked")

    def status(self) -> SyncState:
        refresh = getattr(self.agent, "refresh_pending", None)
        if callable(refresh):
            refresh()
        state = state_from_record(self.agent.status())
        if self.branch is not None and self.branch.revoked:
            return replace(state, revoked=True)
        return state

    def sync_now(self) -> SyncState:
        for name in ("sync_once", "sync_now", "run_once"):
            method = getattr(self.agent, name, None)
            if callable(method):
                method()
                break
        return self.status()

    def start(self) -> None:
        """The agent's background loop (its own thread): every minute, and at once when
        the server answers again after a cut."""
        method = getattr(self.agent, "start", None)
        if callable(method):
            method(interval_s=SYNC_INTERVAL_S)

    def trigger(self) -> None:
        """A local change: push it now rather than at the next interval."""
        method = getattr(self.agent, "trigger", None)
        if callable(method):
            method()

    def stop(self) -> None:
        method = getattr(self.agent, "stop", None)
        if callable(method):
            method()


def state_from_record(record: object) -> SyncState:
    """The state in a status record: ``core.sync.agent.SyncStatus``, or any record (or
    dict) naming its fields differently."""
    last = _first(record, "last_sync", "last_success", "last_sync_at", default="")
    return SyncState(
        configured=True,
        last_sync=last.isoformat() if hasattr(last, "isoformat") else str(last or ""),
        pending_events=_count(_first(record, "pending_events", "unsent_events", default=0)),
        pending_blobs=_count(_first(record, "pending_blobs", "unsent_blobs", default=0)),
        peers=_count(_first(record, "peers", "peer_count", default=0)),
        online=bool(_first(record, "online", "connected", "server_reachable", default=False)),
        problem=str(_first(record, "problem", "last_error", "error", default="") or ""),
    )


def revoked_answer(err: BaseException) -> bool:
    """The server's answer that the signing device (this desk) is revoked."""
    return (
        isinstance(err, ServerRefused)
        and err.status == 401
        and (err.problem.get("title") == "revoked")
    )


def _watching(
    describe: Callable[[MotcuaError], str], observe: Callable[[MotcuaError], None]
) -> Callable[[MotcuaError], str]:
    def watched(err: MotcuaError) -> str:
        observe(err)
        return describe(err)

    return watched


def export_unsent(branch: Branch, folder: Path | None = None) -> tuple[Path, int]:
    """The events of this branch the server never received (above what it last said it
    has), one wire-format event a line — what the desk would have pushed, signed as it
    is — in a file readable by its owner only (it holds citizens' data)."""
    from core.services.sync import LocalReplica

    replica = LocalReplica(branch)
    events = replica.events_above(replica.server_vector(), limit=2**62)
    target = folder or branch.data_dir / printouts.EXPORT_DIR
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = target / f"unsent-{branch.branch_code}-{branch.device_id}-{stamp}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event.to_wire(), ensure_ascii=False, sort_keys=True) + "\n")
    return path, len(events)
