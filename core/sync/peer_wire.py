"""What the LAN peer service and its callers share, beside the wire models: the signed
answer, the refusal written in the caller's language, a busy peer.

``core.sync.peer`` (events) and ``core.sync.peer_blobs`` (scans) build on it; the names
are re-exported by ``core.sync.peer``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import ValidationError as PydanticError

from core.domain.errors import N_
from core.i18n import translations

from .errors import SyncError, Unreachable

HEADER_REPLY = "X-Motcua-Reply-Signature"


def reply_message(status: int, nonce: str, body: bytes) -> bytes:
    """What a peer signs in its answer: bound to the request's nonce and the body."""
    digest = hashlib.sha256(body).hexdigest()
    return f"motcua-v1-reply\n{status}\n{nonce}\n{digest}".encode()


class PeerRefusal(Exception):
    """A refused peer call: its problem detail is a catalogue message (``N_``), written in
    the caller's language (``Accept-Language``; Vietnamese by default)."""

    def __init__(self, status: int, kind: str, message: str, /, **params: object) -> None:
        # Positional-only: a message's own parameters may be named kind or status.
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.params = params

    def detail(self, language: str) -> str:
        text = translations(language).gettext(self.message)
        return text.format(**self.params) if self.params else text


def parse_request(model: Any, body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except PydanticError as err:
        raise PeerRefusal(
            422, "invalid", N_("The request is not valid: {detail}"), detail=str(err)[:300]
        ) from None


class PeerBusy(Unreachable):
    """A peer turned the connection away: it serves as many peers as it can already."""

    def __init__(self, url: str) -> None:
        SyncError.__init__(
            self, N_("The peer {url} is busy serving other desktops: try again shortly"), url=url
        )
