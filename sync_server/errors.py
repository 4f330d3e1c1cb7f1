"""What the server refuses, as problems (RFC 9457) with a specific status and type.

Refusal(MotcuaError)   a request the server answers with a 4xx problem; carries
                       ``status``, a short ``kind`` (the problem type) and extra members
                       (e.g. ``expected_seq`` for a gap, ``received`` for a blob offset).
"""

from __future__ import annotations

from typing import Any

from core.domain import authority
from core.domain.errors import MotcuaError


class Refusal(MotcuaError):
    # Positional-only: a message's own parameters may be named ``kind`` or ``status``.
    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        /,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        self.status = status
        self.kind = kind
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(message, **params)

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        """The command line's code for the same refusal (``docs/server.md``): a thing
        not found is 4, as on the desk; the rest is the operator's input, 2."""
        return 4 if self.status == 404 else 2


def authority_refusal(err: authority.AuthorityRefused | authority.MalformedEvent) -> Refusal:
    """The problem for an event the authority table refuses: 403 naming the rule for an
    author who may not write it, 422 for a malformed one."""
    if isinstance(err, authority.AuthorityRefused):
        status, kind = 403, "authority"
    else:
        status, kind = 422, "malformed-event"
    return Refusal(status, kind, err.message, extra={"rule": err.rule}, **err.params)
