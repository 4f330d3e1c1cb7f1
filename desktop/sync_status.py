"""What the desktop shows of sync, whatever the sync agent looks like.

The dashboard and the top bar read a :class:`SyncState`. A :class:`SyncSource` produces
it: :class:`NotConfigured` when this desktop has no sync agent (yet), or
:class:`AgentSource`, which reads the status record of ``core.sync``'s ``SyncAgent``
and tolerates fields it does not know, so the UI keeps working while the agent grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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


def _first(record: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = record.get(name) if isinstance(record, dict) else getattr(record, name, None)
        if value is not None:
            return value
    return default


def _count(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    try:
        return len(value)
    except TypeError:
        return 0


class AgentSource:
    """Reads ``agent.status()`` (a record or a dict) into a :class:`SyncState`."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    def status(self) -> SyncState:
        refresh = getattr(self.agent, "refresh_pending", None)
        if callable(refresh):
            refresh()
        return state_from_record(self.agent.status())

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


def state_from_record(record: Any) -> SyncState:
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
