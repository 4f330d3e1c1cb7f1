"""Blobs (scans, result files): content-addressed by SHA-256, moved in resumable chunks.

A transfer is resumable because its state is just "how many bytes of this hash the other
side has": the sender asks, sends from there in chunks, and the receiver checks the hash
when the last byte arrives. A cut costs at most the chunk in flight.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from core.domain.errors import N_

from .errors import ProtocolError

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# A blob chunk's request carries the SHA-256 of the blob's first ``offset + length`` bytes
# in this header, and its signature covers that hash instead of the body's: the server
# checks the chunk by continuing the blob's running hash (one pass over each byte), and
# the last chunk's prefix hash is the blob's address itself.
PREFIX_HEADER = "X-Motcua-Prefix-Sha256"


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
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_chunks(path: Path, offset: int, chunk_size: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) chunks of `path` from `offset` to the end."""
    with path.open("rb") as handle:
        handle.seek(offset)
        while block := handle.read(chunk_size):
            yield offset, block
            offset += len(block)


def referenced_blobs(payload: object) -> list[str]:
    """SHA-256 addresses an event payload refers to (``sha256`` keys at any depth)."""
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
