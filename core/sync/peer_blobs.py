"""LAN peers carry scans: a desk fetches the blobs its events refer to from the peers of
its branch that hold them, resumable, and kept only once their SHA-256 is checked.

Served beside the event exchange (``core.sync.peer``) and under its rules: every request
signed by a known, unrevoked device of this branch, never replayed; every answer signed.

- ``POST /v1/blobs/held`` ``{"hashes": [...]}``: which of these I hold and may send you
  (an event of our branch, or of the national chain, refers to each), with their sizes;
- ``GET /v1/blobs/{sha256}`` (``Range: bytes=N-`` resumes): the bytes, streamed. The
  answer's signature covers its status, the request's nonce, the hash, the offset and
  the size; not the body, whose SHA-256 is its address, checked by the receiver.

Bounded: at most ``BLOB_TRANSFERS`` blobs are sent at once (beyond, a signed 503 with
Retry-After), and writing each piece re-arms the connection's deadline, so a reader that
stops reading frees its slot after ``peer.TIMEOUT_S``. The receiver appends to a partial
file, resumes from its length, reads no more than the size announced, and makes the blob
visible only when its SHA-256 is its name: other bytes are discarded and the peer that
sent them is named.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

import requests
from pydantic import ValidationError as PydanticError

from core.domain.errors import N_
from core.domain.signing import verify_signature

from . import auth, sealed
from .errors import ProtocolError, ServerRefused, Unreachable, refused
from .peer_wire import HEADER_REPLY, PeerBusy, PeerRefusal, parse_request, reply_message
from .wire import MAX_BLOB_QUERY, HeldBlob, HeldResponse, MissingRequest

if TYPE_CHECKING:
    from .peer import PeerClient, PeerReplica

BLOBS_PATH = "/v1/blobs/"
HELD_PATH = "/v1/blobs/held"
HEADER_SIZE = "X-Motcua-Blob-Size"
BLOB_TRANSFERS = 2  # blobs sent at once by one desk (read at each use: tests lower it)
# The largest blob taken from a peer: bytes are checked only when whole, so this bounds
# what a hostile peer can make a desk write before its bytes are refused.
MAX_BLOB_BYTES = 1 << 30
PIECE = 1 << 20  # written (and read) at a time; each write re-arms the deadline
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_RANGE = re.compile(r"^bytes=(\d{1,15})-$")


class BlobSource(Protocol):
    def servable_blob(self, sha256: str) -> Path | None:
        """The file of a blob this desk holds whole and an event of its branch (or the
        national chain) refers to; None otherwise."""
        ...


def blob_reply_message(status: int, nonce: str, sha256: str, offset: int, size: int) -> bytes:
    """What a peer signs when it sends a blob's bytes (see the module's docstring)."""
    return f"motcua-v1-blob\n{status}\n{nonce}\n{sha256}\n{offset}\n{size}".encode()


# --- serving ---------------------------------------------------------------------------------


def held(source: BlobSource, body: bytes) -> bytes:
    """The answer to ``/v1/blobs/held``: the asked blobs this desk may send."""
    asked: MissingRequest = parse_request(MissingRequest, body)
    found = []
    for sha256 in dict.fromkeys(asked.hashes):
        path = source.servable_blob(sha256)
        if path is not None:
            found.append(HeldBlob(sha256=sha256, size=sealed.size(path)))
    return HeldResponse(held=found).model_dump_json().encode()


@dataclass(frozen=True)
class ServedBlob:
    path: Path
    sha256: str
    offset: int
    size: int

    @property
    def status(self) -> int:
        return 206 if self.offset else 200

    def pieces(self) -> Iterator[bytes]:
        """The bytes from `offset`, a piece at a time; ends early if the file shrank (the
        receiver then has less than announced and resumes, or discards, later)."""
        with sealed.open_read(self.path) as handle:
            handle.seek(self.offset)
            left = self.size - self.offset
            while left and (piece := handle.read(min(PIECE, left))):
                left -= len(piece)
                yield piece


def served_blob(source: BlobSource, path: str, range_header: str | None) -> ServedBlob:
    """The blob a ``GET /v1/blobs/{sha256}`` asks for, from the offset its range names;
    refused alike whether this desk lacks it or may not send it (nothing is revealed)."""
    sha256 = path.removeprefix(BLOBS_PATH)
    file = source.servable_blob(sha256) if _HEX64.match(sha256) else None
    if file is None:
        raise PeerRefusal(404, "unknown-blob", N_("This desktop has no such scan to send"))
    size = sealed.size(file)
    offset = _offset(range_header)
    if offset is None or offset > size or (offset == size and size):
        raise PeerRefusal(
            416, "bad-range", N_("The range asked is not within the scan's {size} bytes"), size=size
        )
    return ServedBlob(file, sha256, offset, size)


def _offset(range_header: str | None) -> int | None:
    if not range_header:
        return 0
    match = _RANGE.match(range_header.strip())
    return int(match.group(1)) if match else None


class TransferSlots:
    """At most ``BLOB_TRANSFERS`` blobs sent at once; a request beyond is turned away."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._busy >= BLOB_TRANSFERS:
                raise PeerRefusal(
                    503, "busy", N_("This desktop is sending as many scans as it can: try again")
                )
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1


# --- fetching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    blobs: int = 0
    bytes: int = 0


def fetch_blobs(client: PeerClient, replica: PeerReplica) -> Fetched:
    """Fetch from the peer behind `client` every blob this desk wants that it holds. A busy
    peer or one that predates scans ends this early (next round, or the centre)."""
    wanted = replica.wanted_blobs()
    count = received = 0
    try:
        for start in range(0, len(wanted), MAX_BLOB_QUERY):
            for blob in _held_by(client, wanted[start : start + MAX_BLOB_QUERY]):
                received += fetch_blob(client, replica, blob)
                count += 1
    except PeerBusy:
        pass  # its slots are taken: the scans left wait for the next round (or the centre)
    except ServerRefused as err:
        if err.status != 404 or err.problem.get("title") != "not-found":
            raise
    return Fetched(count, received)


def _held_by(client: PeerClient, hashes: list[str]) -> list[HeldBlob]:
    body = MissingRequest(hashes=hashes).model_dump_json().encode()
    response = client.request(
        "POST", HELD_PATH, body=body, headers={"Content-Type": "application/json"}
    )
    try:
        answer = HeldResponse.model_validate_json(response.content)
    except PydanticError as err:
        raise ProtocolError(
            N_("The server sent a malformed answer: {detail}"), detail=str(err)[:300]
        ) from None
    asked = set(hashes)
    return [blob for blob in answer.held if blob.sha256 in asked]


def fetch_blob(client: PeerClient, replica: PeerReplica, blob: HeldBlob) -> int:
    """One blob into its partial file, from where an earlier transfer stopped; kept only if
    its SHA-256 is its name. Returns the bytes received."""
    if blob.size > MAX_BLOB_BYTES:
        raise ProtocolError(
            N_("The peer {url} offers a scan of {size} bytes, more than a scan may be"),
            url=client.base_url,
            size=blob.size,
        )
    partial = replica.partial_blob(blob.sha256)
    partial.parent.mkdir(parents=True, exist_ok=True)
    offset = sealed.size(partial) if partial.exists() else 0
    if offset > blob.size:  # not a prefix of this blob: start again
        partial.unlink()
        offset = 0
    got, whole = _fetch_checked(client, replica, blob, partial, offset)
    if not whole and offset:
        # The bytes kept from an earlier transfer (perhaps another peer's) were wrong, or
        # these are: the check discarded them; once more from the start, from this peer.
        again, whole = _fetch_checked(client, replica, blob, partial, 0)
        got += again
    if not whole:
        raise ProtocolError(
            N_("The peer {url} sent a scan that is not what its SHA-256 names: discarded ({sha})"),
            url=client.base_url,
            sha=blob.sha256[:12],
        )
    return got


def _fetch_checked(
    client: PeerClient, replica: PeerReplica, blob: HeldBlob, partial: Path, offset: int
) -> tuple[int, bool]:
    """The bytes received from `offset`, and whether the whole is that blob (if not, it
    is discarded: ``complete_blob`` alone makes a blob visible)."""
    got, digest = _download(client, blob, partial, offset) if offset < blob.size else (0, None)
    try:
        replica.complete_blob(blob.sha256, durable=False, digest=digest)
    except ProtocolError:
        partial.unlink(missing_ok=True)
        return got, False
    return got, True


def _download(
    client: PeerClient, blob: HeldBlob, partial: Path, offset: int
) -> tuple[int, str | None]:
    """Append the blob's bytes from `offset`, never more than its size; a cut keeps what
    arrived (the next round resumes from it). Returns the bytes received and, for a
    transfer from the first byte, the SHA-256 of what was written (so the file need not
    be read again to check it)."""
    left = blob.size - offset
    response = _open(client, blob, offset)
    try:
        with sealed.open_append(partial) as handle, _PieceWriter(handle, offset == 0) as out:
            for data in response.iter_content(PIECE):
                piece = data[:left]
                out.write(piece)
                left -= len(piece)
                if not left:
                    break
    except (requests.ConnectionError, requests.Timeout) as err:
        raise Unreachable(client.base_url, type(err).__name__) from None
    finally:
        response.close()
    if left:
        raise ProtocolError(
            N_("The peer {url} stopped sending a scan: it resumes at the next exchange"),
            url=client.base_url,
        )
    return blob.size - offset, out.digest


class _PieceWriter:
    """Writes and (for a transfer from the first byte) hashes the pieces received, each on
    a thread of its own, so receiving the next piece overlaps both: all three release the
    GIL, and on a fast link the disk and SHA-256 are most of the time. One thread per task
    keeps the pieces in order; at most two wait; a write's error is raised at the next
    piece or at the end."""

    def __init__(self, handle: IO[bytes], hashing: bool) -> None:
        self._hasher = hashlib.sha256() if hashing else None
        self._steps: list[tuple[ThreadPoolExecutor, Callable[[bytes], object]]] = [
            (ThreadPoolExecutor(1, thread_name_prefix="motcua-blob-write"), handle.write)
        ]
        if self._hasher is not None:
            hashing_pool = ThreadPoolExecutor(1, thread_name_prefix="motcua-blob-hash")
            self._steps.append((hashing_pool, self._hasher.update))
        self._pending: deque[list[Future[object]]] = deque()
        self.digest: str | None = None

    def __enter__(self) -> _PieceWriter:
        return self

    def write(self, piece: bytes) -> None:
        while len(self._pending) >= 2:
            _wait(self._pending.popleft())
        self._pending.append([pool.submit(step, piece) for pool, step in self._steps])

    def __exit__(self, *exc: object) -> None:
        try:
            while self._pending:
                _wait(self._pending.popleft())
        finally:
            for pool, _step in self._steps:
                pool.shutdown(wait=True)
        if self._hasher is not None:
            self.digest = self._hasher.hexdigest()


def _wait(jobs: list[Future[object]]) -> None:
    for job in jobs:
        job.result()


def _open(client: PeerClient, blob: HeldBlob, offset: int) -> requests.Response:
    """The signed ``GET`` of a blob from `offset`, its answer's signature checked before
    a byte of the body is read; refusals raised as the other calls' are."""
    assert client.credentials is not None
    target = BLOBS_PATH + blob.sha256
    headers = auth.sign_request(
        client.credentials.key, client.credentials.device_id, "GET", target, b"", client.clock_ms()
    )
    nonce = headers[auth.HEADER_NONCE]
    headers.update(client.extra_headers())  # a desk of another unit introduces itself
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = client.session.get(
            client.base_url + target, headers=headers, stream=True, timeout=client.timeout
        )
    except (requests.ConnectionError, requests.Timeout) as err:
        raise Unreachable(client.base_url, type(err).__name__) from None
    if response.status_code in (200, 206):
        _check_blob_answer(client, response, blob, offset, nonce)
        return response
    raise _refusal(client, response, nonce)


def _check_blob_answer(
    client: PeerClient, response: requests.Response, blob: HeldBlob, offset: int, nonce: str
) -> None:
    expected = 206 if offset else 200
    size = response.headers.get(HEADER_SIZE, "")
    message = blob_reply_message(response.status_code, nonce, blob.sha256, offset, blob.size)
    signature = response.headers.get(HEADER_REPLY, "")
    if (
        response.status_code != expected
        or size != str(blob.size)
        or not verify_signature(client.peer_key, signature, message)
    ):
        response.close()
        raise ProtocolError(
            N_("The peer {url} did not sign its answer with the key of its device"),
            url=client.base_url,
        )


def _refusal(client: PeerClient, response: requests.Response, nonce: str) -> Exception:
    """The error for a refused blob request (its answer is signed like any other)."""
    body = response.content
    response.close()
    signature = response.headers.get(HEADER_REPLY, "")
    if response.status_code == 503 and not signature:
        return PeerBusy(client.base_url)  # turned away before it was read
    message = reply_message(response.status_code, nonce, body)
    if not verify_signature(client.peer_key, signature, message):
        return ProtocolError(
            N_("The peer {url} did not sign its answer with the key of its device"),
            url=client.base_url,
        )
    if response.status_code == 503:
        return PeerBusy(client.base_url)
    try:
        problem = json.loads(body)
    except ValueError:
        problem = {}
    return refused(response.status_code, problem if isinstance(problem, dict) else {})
