"""Prefix marks (taken when a blob is stored, read when it is uploaded) and the chunk
bodies a desktop sends from its files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import requests

from core.sync.blobs import (
    MARK_SPAN,
    bytes_marks,
    file_marks,
    marks_fit,
    prefix_from_marks,
)
from core.sync.client import FileSlice, MarkedCutter, PrefixHasher, _payload
from core.sync.errors import LocalFileShort

SIZES = [0, 1, MARK_SPAN - 1, MARK_SPAN, MARK_SPAN + 1, 3 * MARK_SPAN, 3 * MARK_SPAN + 17]


@pytest.mark.parametrize("size", SIZES)
def test_marks_hold_the_hash_of_every_whole_span(size: int, tmp_path: Path) -> None:
    """GIVEN random bytes of a size on, around or between span boundaries
    WHEN marked from memory and from a file
    THEN both give the blob's SHA-256, one mark per whole span short of the end, and each
    mark is the SHA-256 of that prefix."""
    data = os.urandom(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    sha, marks = bytes_marks(data)
    assert (sha, marks) == file_marks(path)
    assert sha == hashlib.sha256(data).hexdigest()
    assert len(marks) == 32 * max(0, (size - 1) // MARK_SPAN)
    assert marks_fit(marks, size)
    for end in range(MARK_SPAN, size, MARK_SPAN):
        assert prefix_from_marks(marks, sha, size, end) == hashlib.sha256(data[:end]).hexdigest()
    assert prefix_from_marks(marks, sha, size, size) == sha


def test_marks_do_not_answer_what_they_do_not_hold() -> None:
    """GIVEN the marks of a 3-span blob
    THEN an end off a span boundary, the start, an end past the blob, or marks of another
    length give None (the caller then hashes the file)."""
    data = os.urandom(3 * MARK_SPAN + 5)
    sha, marks = bytes_marks(data)
    size = len(data)
    assert prefix_from_marks(marks, sha, size, MARK_SPAN + 1) is None
    assert prefix_from_marks(marks, sha, size, 0) is None
    assert prefix_from_marks(marks, sha, size, 4 * MARK_SPAN) is None
    assert prefix_from_marks(marks[:-32], sha, size, MARK_SPAN) is None
    assert not marks_fit(marks + b"x", size)


def test_a_marked_cutter_gives_the_same_slices_as_hashing_the_file(tmp_path: Path) -> None:
    """GIVEN a file of 5 spans and a bit, and its marks
    WHEN cut from an aligned offset in chunks of 2 spans, by marks and by hashing
    THEN the slices (offset, length, prefix hash) are the same."""
    data = os.urandom(5 * MARK_SPAN + 100)
    path = tmp_path / "scan"
    path.write_bytes(data)
    sha, marks = file_marks(path)
    assert MarkedCutter.fits(len(data), marks, MARK_SPAN)
    assert not MarkedCutter.fits(len(data), marks, MARK_SPAN + 1)
    assert not MarkedCutter.fits(len(data), b"", MARK_SPAN)
    marked = MarkedCutter(path, sha, len(data), marks, MARK_SPAN)
    hashed = PrefixHasher(path, MARK_SPAN)
    while True:
        a, b = marked.next_slice(2 * MARK_SPAN), hashed.next_slice(2 * MARK_SPAN)
        assert (a.offset, a.length, a.prefix_sha256) == (b.offset, b.length, b.prefix_sha256)
        if a.length == 0:
            break


def test_a_slice_sends_the_file_bytes_and_no_more_than_the_file_holds(tmp_path: Path) -> None:
    """GIVEN a file of 2.5 MiB
    WHEN slices are read as a request body: one at an unaligned offset across pieces, one
    of no bytes, one reaching past the end of the file (a file shorter than its marks say)
    THEN each gives exactly the file's bytes there, reading a slice again (a retry) gives
    the same bytes, an empty slice goes as no body (Content-Length 0, not chunked), and
    the one past the end fails on its short read, naming where the file ended."""
    data = os.urandom(5 * MARK_SPAN // 2)
    path = tmp_path / "scan"
    path.write_bytes(data)

    def body(piece: FileSlice) -> bytes:
        return b"".join(bytes(view) for view in piece)

    unaligned = FileSlice(path, 12_345, 2 * MARK_SPAN, "")
    assert body(unaligned) == data[12_345 : 12_345 + 2 * MARK_SPAN]
    assert body(unaligned) == body(unaligned)
    assert body(FileSlice(path, 0, 0, "")) == b""
    empty = requests.Request("PUT", "http://x/", data=_payload(FileSlice(path, 0, 0, "")))
    assert empty.prepare().headers["Content-Length"] == "0"
    with pytest.raises(LocalFileShort, match=str(len(data))):
        body(FileSlice(path, 2 * MARK_SPAN, MARK_SPAN, ""))


def test_referenced_blobs_found_at_any_depth_and_only_under_their_key() -> None:
    """The quick look for the key before the walk finds what the walk finds, misses no
    scan, and lets text that merely mentions "sha256" through."""
    from types import MappingProxyType

    from core.sync.blobs import referenced_blobs

    one, two = "a" * 64, "b" * 64
    nested = {"documents": [{"files": [{"sha256": one}]}, {"sha256": two}], "n": 1}
    assert referenced_blobs(nested) == [one, two]
    assert referenced_blobs({"note": 'the "sha256" of the scan', "sha": one}) == []
    assert referenced_blobs({"sha256": "not a digest"}) == []
    assert referenced_blobs({}) == []
    # a mapping orjson does not encode is walked all the same
    assert referenced_blobs({"inner": MappingProxyType({"x": 1}), "list": [{"sha256": one}]}) == [
        one
    ]
