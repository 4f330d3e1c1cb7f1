"""LAN peers of another unit: the desks of two branches (or of a branch and an agency unit)
in one building or city network hand each other the messages of the dossiers transferred
between them, and the scans those messages name, when the centre is unreachable
(``core.domain.transfers``). Nothing else of either unit crosses.

A desk of another unit is not in this desk's device list (that list is its own branch's).
It introduces itself with the centre's enrolment of its device — header
``X-Motcua-Enrolment``, and ``enrolment`` in ``GET /v1/peer`` — which this desk checks
against the centre's key before it checks the request's (or the answer's) signature with
the key that enrolment vouches for. Such a caller may only:

- ``POST /v1/transfers``: hand the offers and replies its unit addressed to this unit;
  each is checked on its own as one from the centre is (``transfers.keep_messages``);
- ``POST /v1/blobs/held`` and ``GET /v1/blobs/{sha}``: the scans named in this unit's
  send-outs and send-backs addressed to the caller's unit, and no other.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticError

from core.domain import authority, transfers
from core.domain.errors import N_

from .errors import ProtocolError
from .peer_blobs import BLOBS_PATH, HELD_PATH
from .peer_wire import PeerRefusal, parse_request
from .wire import PeerInfo, TransferItem, TransfersHanded, TransfersKept

if TYPE_CHECKING:
    from .peer import PeerClient, PeerReplica

HEADER_ENROLMENT = "X-Motcua-Enrolment"
TRANSFERS_PATH = "/v1/transfers"
MAX_INTRODUCTION = 8 * 1024  # bytes of the header, encoded


def introduction(enrolment: Mapping[str, Any]) -> str:
    """The header value a desk introduces itself with to a peer of another unit."""
    raw = json.dumps(enrolment, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def read_introduction(value: str) -> dict[str, Any]:
    """The enrolment a caller sent, or a refusal (it is checked by the caller's replica)."""
    try:
        if len(value) > MAX_INTRODUCTION:
            raise ValueError("too long")
        found = json.loads(base64.urlsafe_b64decode(value.encode()))
        if not isinstance(found, dict):
            raise ValueError("not an object")
        return found
    except ValueError:
        raise PeerRefusal(
            401, "bad-enrolment", N_("The enrolment this desk introduced itself with is malformed")
        ) from None


def may_call(path: str, method: str) -> bool:
    """What a desk of another unit may ask for."""
    if method == "POST":
        return path in (TRANSFERS_PATH, HELD_PATH)
    return method == "GET" and path.startswith(BLOBS_PATH)


class UnitBlobs:
    """The scans a desk of unit `unit` may fetch here (a ``BlobSource``)."""

    def __init__(self, replica: PeerReplica, unit: str) -> None:
        self.replica = replica
        self.unit = unit

    def servable_blob(self, sha256: str) -> Path | None:
        return self.replica.servable_blob_for(sha256, self.unit)


# --- serving ---------------------------------------------------------------------------------


def handed(replica: PeerReplica, body: bytes) -> bytes:
    """The answer to ``POST /v1/transfers``: how many were kept, each refused one named."""
    request: TransfersHanded = parse_request(TransfersHanded, body)
    kept, refused = replica.receive_transfers_from_peer(request.items)
    return TransfersKept(kept=kept, refused=refused).model_dump_json().encode()


# --- calling ---------------------------------------------------------------------------------


def peer_key_of(info: PeerInfo, centre_key: str | None) -> str:
    """The key of a peer of another unit, as the centre's enrolment it shows vouches for."""
    if not centre_key:
        raise ProtocolError(
            N_("This desktop is not enrolled: it cannot check a desk of another unit")
        )
    if info.enrolment is None:
        raise ProtocolError(
            N_("The peer {device} of unit {unit} shows no enrolment by the centre"),
            device=info.device_id,
            unit=info.branch,
        )
    try:
        device_id, branch, key = transfers.enrolled_desk(info.enrolment, centre_key)
    except (authority.AuthorityRefused, authority.MalformedEvent):
        device_id, branch, key = "", "", ""
    if (device_id, branch, key) != (info.device_id, info.branch, info.public_key):
        raise ProtocolError(
            N_("The peer {device} of unit {unit} is not enrolled by this centre"),
            device=info.device_id,
            unit=info.branch,
        )
    return key


def hand_messages(client: PeerClient, items: list[TransferItem]) -> int:
    """Hand the peer the messages addressed to its unit; how many it kept (it names any it
    refused: an error here)."""
    if not items:
        return 0
    body = TransfersHanded(items=items).model_dump_json().encode()
    response = client.request(
        "POST", TRANSFERS_PATH, body=body, headers={"Content-Type": "application/json"}
    )
    try:
        answer = TransfersKept.model_validate_json(response.content)
    except PydanticError as err:
        raise ProtocolError(
            N_("The server sent a malformed answer: {detail}"), detail=str(err)[:300]
        ) from None
    if answer.refused:
        raise ProtocolError(
            N_("The peer {url} refused messages of this unit: {items}"),
            url=client.base_url,
            items="; ".join(answer.refused)[:500],
        )
    return answer.kept
