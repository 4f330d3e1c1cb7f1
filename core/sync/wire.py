"""Wire models of the sync protocol, shared by the server and the desktop agent.

Validation is strict (``false`` is not an integer, ``"1"`` is not a number) and unknown
fields are refused, so a malformed request is a clear 4xx and never half-understood.
Events travel as the fields of :class:`core.domain.events.Event`; their canonical
encoding and hash stay the domain's (RFC 8785, ``Event.compute_hash``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.domain.events import Event

# 2: blob chunks are signed over the blob's prefix hash (X-Motcua-Prefix-Sha256).
PROTOCOL_VERSION = 2
# The LAN exchange between desktops (unchanged by version 2). Scans came later, as calls
# of their own: a peer without them answers 404 and its scans are left to the centre.
PEER_PROTOCOL = 1
MAX_PUSH_EVENTS = 5000
MAX_PULL_EVENTS = 5000
MAX_BLOB_QUERY = 2000
MAX_HANDED = 200  # messages between units handed over the LAN at once
# Blob chunks: an upload starts at CHUNK_SIZE and adapts (``agent.next_chunk_size``) so a
# chunk takes about a second on the link, within [MIN_CHUNK, MAX_CHUNK]: few requests on a
# LAN, and a cut never costs more than one chunk, about a second of transfer (a chunk
# reaches 64 MiB only on a link of over 1 Gbit/s). Sizes are powers of two: whole MiBs,
# so prefix hashes come from the blob's marks (``blobs.MARK_SPAN``).
CHUNK_SIZE = 4 * 1024 * 1024
MIN_CHUNK = 1024 * 1024
MAX_CHUNK = 64 * 1024 * 1024
MAX_BODY = 32 * 1024 * 1024

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Ident = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9:._*-]+$")
]
Scope = Annotated[str, StringConstraints(pattern=r"^(\*|[A-Z0-9][A-Z0-9.]{0,30})$")]
Hlc = Annotated[str, StringConstraints(pattern=r"^\d{15}\.\d{6}$")]
Signature = Annotated[str, StringConstraints(min_length=1, max_length=128)]
PublicKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
Text = Annotated[str, StringConstraints(max_length=200)]


class WireModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class WireEvent(WireModel):
    """One event as it travels; ``to_event`` gives the domain record."""

    event_id: Ident
    dossier_id: Ident | None
    branch: Scope
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    payload: dict[str, Any]
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    origin_device: Ident
    origin_seq: Annotated[int, Field(ge=1, le=2**53)]
    hlc: Hlc
    parents: Annotated[list[Ident], Field(max_length=64)]
    prev_hash: Hex64
    hash: Hex64
    signature: Signature
    schema_version: Annotated[int, Field(ge=1, le=1000)]

    def to_event(self) -> Event:
        # The model holds exactly the event's fields, validated: no second check needed.
        values = dict(self.__dict__)
        values["parents"] = tuple(self.parents)
        return Event.from_checked(values)


def event_from_wire(body: dict[str, Any]) -> Event:
    """Strictly validate one wire event (raises pydantic.ValidationError)."""
    return WireEvent.model_validate(body).to_event()


# --- push ---------------------------------------------------------------------------


class PushRequest(WireModel):
    events: Annotated[list[WireEvent], Field(min_length=1, max_length=MAX_PUSH_EVENTS)]


PushStatus = Literal["accepted", "duplicate", "rejected", "not_processed"]


class PushResult(WireModel):
    event_id: str
    origin_device: str
    origin_seq: int
    status: PushStatus
    reason: str | None = None


class PushResponse(WireModel):
    accepted: int
    duplicates: int
    results: list[PushResult]


# --- pull and vector exchange ------------------------------------------------------


class PullResponse(WireModel):
    scope: str
    events: list[WireEvent]
    next: int = Field(description="cursor to ask for next: the last server_seq returned")
    more: bool
    head: int = Field(description="the newest server_seq of the scope when answering")


class VectorRequest(WireModel):
    scope: Scope
    vector: Annotated[dict[Ident, Annotated[int, Field(ge=0, le=2**53)]], Field(max_length=10000)]
    limit: Annotated[int, Field(ge=0, le=MAX_PULL_EVENTS)] = 1000


class VectorResponse(WireModel):
    scope: str
    vector: dict[str, int]
    events: list[WireEvent]
    more: bool


# --- messages between units (``core.domain.transfers``) ------------------------------


class TransferItem(WireModel):
    num: int = 0  # the centre's order (a LAN peer hands them without one)
    kind: Literal["offer", "reply"]
    message: dict[str, Any] = Field(description="the sending desk's signed event")
    enrolment: dict[str, Any] = Field(description="the centre's enrolment of that desk")


class TransfersResponse(WireModel):
    items: list[TransferItem]
    next: int = Field(description="cursor to ask for next: the last num returned")
    more: bool


class TransfersHanded(WireModel):
    """A LAN peer of another unit hands this desk the messages addressed to its unit."""

    items: Annotated[list[TransferItem], Field(max_length=MAX_HANDED)]


class TransfersKept(WireModel):
    kept: int
    refused: list[str]


# --- enrolment ------------------------------------------------------------------------


ENROL_CODE_LENGTH = (4, 64)  # the characters an enrolment code may have, at least and at most


class EnrolRequest(WireModel):
    """A desk asking to join its branch; it names the first admin its ``init`` created, so
    the centre's enrolment event vouches for that admin's key across the branch."""

    code: Annotated[
        str,
        StringConstraints(min_length=ENROL_CODE_LENGTH[0], max_length=ENROL_CODE_LENGTH[1]),
    ]
    device_id: Ident
    public_key: PublicKey
    branch: Scope
    label: Text = ""
    admin_username: (
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] | None
    ) = None
    admin_key: PublicKey | None = None


class DeviceRecord(WireModel):
    device_id: str
    branch: str
    public_key: str
    label: str
    code_blocks: list[int]
    block_width: int
    enrolled_at: str


class EnrolResponse(WireModel):
    device: DeviceRecord
    signature: str = Field(description="the server's Ed25519 signature of the device record")
    server_public_key: str
    server_origins: list[str] = Field(description="origin ids under which the server signs")


# --- blobs -------------------------------------------------------------------------------


class MissingRequest(WireModel):
    hashes: Annotated[list[Hex64], Field(max_length=MAX_BLOB_QUERY)]


class MissingResponse(WireModel):
    missing: list[str]


class HeldBlob(WireModel):
    sha256: Hex64
    size: Annotated[int, Field(ge=0)]


class HeldResponse(WireModel):
    """A LAN peer's answer to ``POST /v1/blobs/held``: which of the asked scans it holds
    and may send the caller (an event of the caller's branch refers to each)."""

    held: Annotated[list[HeldBlob], Field(max_length=MAX_BLOB_QUERY)]


class BlobStatus(WireModel):
    sha256: str
    size: int
    received: int
    complete: bool


class PeerInfo(WireModel):
    """What a LAN peer says of itself (``GET /v1/peer``); trusted only once its answers
    verify with the key the centre enrolled for that device."""

    protocol: int
    branch: Scope
    device_id: Ident
    public_key: PublicKey
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    # The centre's enrolment of this desk: how a peer of another unit learns its key.
    enrolment: dict[str, Any] | None = None


class Health(WireModel):
    status: str
    protocol: int
    server_time_ms: int


class Problem(WireModel):
    """``application/problem+json`` (RFC 9457) with the protocol's extra members."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)
    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
