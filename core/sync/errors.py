"""The errors of the sync protocol and agent, below ``core.domain.errors.MotcuaError``.

SyncError                 the exchange with the server or a peer did not complete
├── Unreachable           no answer: network down, server stopped, timeout
├── ServerRefused         the server answered with a problem (4xx/5xx); carries status, problem
│   └── Unauthorised      401: unknown or revoked device, bad or replayed request signature
├── ProtocolError         the answer breaks the protocol (malformed, wrong hash, broken chain)
│   └── LocalFileShort    a local blob's file ended before its recorded size, mid-send
└── NotEnrolled           this desktop is not enrolled with a server yet
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain.errors import N_, MotcuaError


class SyncError(MotcuaError):
    exit_code = 10


NETWORK_REASONS = {
    "SSLError": N_("its certificate is not trusted"),
    "ConnectTimeout": N_("no answer in time"),
    "ReadTimeout": N_("no answer in time"),
    "Timeout": N_("no answer in time"),
    "ConnectionError": N_("no connection (the network or the server is down)"),
    "ChunkedEncodingError": N_("the connection was cut"),
    "InvalidURL": N_("the address is not valid"),
    "MissingSchema": N_("the address is not valid"),
    "InvalidSchema": N_("the address is not valid"),
}


def network_reason(err: BaseException) -> str:
    """The reason (a message to translate) for a network failure, from the class names of
    `err` and its causes: the library's own text is English, and names no fix."""
    seen: BaseException | None = err
    while seen is not None:
        reason = NETWORK_REASONS.get(type(seen).__name__)
        if reason is not None:
            return reason
        seen = seen.__cause__ or seen.__context__
    return N_("the network failed")


class Unreachable(SyncError):
    def __init__(self, url: str, detail: str) -> None:
        # `detail` is the failure's class name; the user reads its reason in her language.
        reason = NETWORK_REASONS.get(detail, N_("the network failed"))
        super().__init__(N_("The server {url} cannot be reached: {detail}"), url=url, detail=reason)


class ServerRefused(SyncError):
    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        detail = str(problem.get("detail") or problem.get("title") or "")
        super().__init__(
            N_("The server refused the request ({status}): {detail}"), status=status, detail=detail
        )


class Unauthorised(ServerRefused):
    pass


class ProtocolError(SyncError):
    pass


class NotEnrolled(SyncError):
    def __init__(self) -> None:
        super().__init__(
            N_("This desktop is not enrolled with a sync server: run 'motcua enroll' first")
        )


def refused(status: int, problem: Mapping[str, Any]) -> ServerRefused:
    """The error for a problem answer, 401 being its own kind."""
    if status == 401:
        return Unauthorised(status, problem)
    return ServerRefused(status, problem)


class LocalFileShort(ProtocolError):
    """A local blob's file ended before the bytes a chunk declared (cut short on disk while
    it was being sent): the blob is named damaged, the others still go up."""

    def __init__(self, path: str, offset: int) -> None:
        super().__init__(
            N_("The local file {path} ended early, at byte {offset}"), path=path, offset=offset
        )
