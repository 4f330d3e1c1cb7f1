"""Blobs (scans, result files): content-addressed by SHA-256, moved in resumable chunks.

A transfer is resumable because its state is just "how many bytes of this hash the other
side has": the sender asks, sends from there in chunks, and the receiver checks the hash
when the last byte arrives. A cut costs at most the chunk in flight.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from core.domain.errors import N_

from . import sealed
from .errors import ProtocolError
from .wire import MIN_CHUNK

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# A blob chunk's request carries the SHA-256 of the blob's first ``offset + length`` bytes
# in this header, and its signature covers that hash instead of the body's: the server
# checks the chunk by continuing the blob's running hash (one pass over each byte), and
# the last chunk's prefix hash is the blob's address itself.
PREFIX_HEADER = "X-Motcua-Prefix-Sha256"

# Prefix marks: the raw SHA-256 of a blob's first k * MARK_SPAN bytes, for every whole
# span short of its end, taken in the pass that names the blob. Chunks are whole spans
# (powers of two from MIN_CHUNK), so an upload reads their prefix hashes from the marks
# instead of hashing the file a second time.
MARK_SPAN = MIN_CHUNK
_DIGEST = 32


def check_hash(sha256: str) -> str:
    if not _HEX64.match(sha256):
        raise ProtocolError(N_("Not a SHA-256 content address: {value}"), value=sha256[:80])
    return sha256


def blob_path(root: Path, sha256: str) -> Path:
    """Where a complete blob lives: ``root/ab/abcdef…`` (two-level fan-out)."""
    check_hash(sha256)
    return root / sha256[:2] / sha256


def partial_path(root: Path, sha256: str) -> Path:
    check_hash(sha256)
    return root / "partial" / f"{sha256}.part"


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with sealed.open_read(path) as handle:  # a sealed blob's address is its plain bytes'
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_marks(path: Path) -> tuple[str, bytes]:
    """The SHA-256 of `path` and its prefix marks, in one pass."""
    with sealed.open_read(path) as handle:
        return digest_with_marks(iter(lambda: handle.read(MARK_SPAN), b""))


def bytes_marks(data: bytes) -> tuple[str, bytes]:
    """The SHA-256 of `data` and its prefix marks."""
    view = memoryview(data)
    return digest_with_marks(view[at : at + MARK_SPAN] for at in range(0, len(view), MARK_SPAN))


def digest_with_marks(spans: Iterable[bytes | memoryview]) -> tuple[str, bytes]:
    """The SHA-256 of the concatenated `spans` (each MARK_SPAN bytes but the last) and
    the marks: the digest after each span that is followed by another."""
    digest = hashlib.sha256()
    marks: list[bytes] = []
    for span in spans:
        digest.update(span)
        marks.append(digest.digest())
    return digest.hexdigest(), b"".join(marks[:-1])


def prefix_from_marks(marks: bytes, sha256: str, size: int, end: int) -> str | None:
    """The hex SHA-256 of a blob's first `end` bytes, read from its marks; None when the
    marks do not hold it (not a whole span, or marks of another length)."""
    if end == size:
        return sha256
    spans, rest = divmod(end, MARK_SPAN)
    if rest or not 0 < end < size or not marks_fit(marks, size):
        return None
    return marks[_DIGEST * (spans - 1) : _DIGEST * spans].hex()


def marks_fit(marks: bytes, size: int) -> bool:
    """`marks` has one digest per whole span short of the end of a blob of `size` bytes."""
    return len(marks) == _DIGEST * max(0, (size - 1) // MARK_SPAN)


def read_chunks(path: Path, offset: int, chunk_size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) chunks of `path` from `offset` to the end."""
    with sealed.open_read(path) as handle:
        handle.seek(offset)
        while block := handle.read(chunk_size):
            yield offset, block
            offset += len(block)


def referenced_blobs(payload: object) -> list[str]:
    """SHA-256 addresses an event payload refers to (``sha256`` keys at any depth)."""
    # A pulled page asks this of every payload and few name a scan: encoding one (orjson,
    # about a microsecond) and looking for the key is several times cheaper than the walk.
    try:
        if b'"sha256"' not in orjson.dumps(payload):
            return []
    except orjson.JSONEncodeError:
        pass  # not plain JSON (a mapping of another kind): walked below
    found: list[str] = []
    _collect(payload, found)
    return found


def _collect(node: object, found: list[str]) -> None:
    # Only containers are descended into: a pulled page walks every payload.
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if key == "sha256" and _HEX64.match(value):
                    found.append(value)
            elif isinstance(value, dict | list):
                _collect(value, found)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _collect(item, found)
