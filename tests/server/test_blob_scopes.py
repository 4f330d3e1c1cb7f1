"""Scans are a branch's own: listed, reported and readable only by the branches that
uploaded them, and each device's upload is its own (nobody can squat another's).

Against the real server (SQLite and PostgreSQL), signed as the desktops sign."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from core.services.branch import Branch
from sync_server import blobstore
from sync_server import schema as st
from tests.server.test_bad_input import _upload, refused, send
from tests.sync.fixtures import Net


def _commit(net: Net, desk: Branch, sha: str, size: int) -> dict[str, object]:
    answer = send(net, desk, "POST", f"/v1/blobs/{sha}/commit?size={size}")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _missing(net: Net, desk: Branch, sha: str) -> list[str]:
    body = json.dumps({"hashes": [sha]}).encode()
    answer = send(net, desk, "POST", "/v1/blobs/missing", body)
    assert answer.status_code == 200, answer.text
    found: list[str] = answer.json()["missing"]
    return found


def _status(net: Net, desk: Branch, sha: str, size: int) -> dict[str, object]:
    path = f"/v1/blobs/{sha}/status?size={size}"
    answer = send(net, desk, "GET", path)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _uploads(net: Net, sha: str) -> list[tuple[str, int, int]]:
    with net.engine.connect() as conn:
        rows = conn.execute(
            select(st.blob_uploads.c.device_id, st.blob_uploads.c.size, st.blob_uploads.c.received)
            .where(st.blob_uploads.c.sha256 == sha)
            .order_by(st.blob_uploads.c.device_id)
        )
        return [(r.device_id, int(r.size), int(r.received)) for r in rows]


def test_another_branchs_scan_is_neither_listed_nor_readable(net: Net) -> None:
    """GIVEN a scan uploaded by a desk of branch A
    WHEN a desk of branch B asks whether the server lacks it, its status, and reads it —
    having named it in no event, or in an event of its own
    THEN to B it is missing, with nothing received, and 404 like an unknown blob: nothing
    tells it exists. A's desks are told it is there and read it."""
    a, b = net.desktop(net.branch()), net.desktop(net.branch())
    data = b"scan of branch A " * 1000
    sha = hashlib.sha256(data).hexdigest()
    assert _upload(net, a, sha, data, 0, len(data)).status_code == 200
    assert _commit(net, a, sha, len(data))["complete"] is True
    assert _missing(net, a, sha) == []
    unknown = "0" * 64
    assert _missing(net, b, sha) == [sha]
    assert _status(net, b, sha, len(data)) == _status(net, b, unknown, len(data)) | {"sha256": sha}
    assert _status(net, b, sha, len(data))["received"] == 0
    refused(send(net, b, "GET", f"/v1/blobs/{sha}"), 404, "no-blob")
    assert send(net, a, "GET", f"/v1/blobs/{sha}").content == data


def test_uploading_the_bytes_proves_a_branch_holds_the_scan(net: Net) -> None:
    """GIVEN a scan already stored for branch A
    WHEN a desk of branch B uploads the same bytes (it holds the same document)
    THEN its chunks are checked like any upload, the commit completes without storing the
    scan twice, and from then on B is told it is there and reads it."""
    a, b = net.desktop(net.branch()), net.desktop(net.branch())
    data = b"the same certificate " * 500
    sha = hashlib.sha256(data).hexdigest()
    _upload(net, a, sha, data, 0, len(data))
    _commit(net, a, sha, len(data))
    half = len(data) // 2
    assert _upload(net, b, sha, data, 0, half).json()["received"] == half
    assert _upload(net, b, sha, data, half, len(data)).status_code == 200
    assert _commit(net, b, sha, len(data))["complete"] is True
    assert _missing(net, b, sha) == []
    assert send(net, b, "GET", f"/v1/blobs/{sha}").content == data
    stored = net.server.settings.blobs_dir
    assert sorted(p.name for p in stored.rglob(sha)) == [sha]  # one copy, no partial left


def test_a_wrong_upload_by_one_device_never_stands_in_anothers_way(net: Net) -> None:
    """GIVEN a hostile desk of the branch that opens an upload of a scan its branch
    references with a wrong size, then sends bytes that will never hash to the address
    WHEN an honest desk of the branch uploads the scan
    THEN the honest upload starts from byte 0, goes on while the hostile one is refused
    at its final chunk, and completes."""
    branch = net.branch()
    hostile, honest = net.desktop(branch), net.desktop(branch)
    data = b"citizen's ID card " * 800
    sha = hashlib.sha256(data).hexdigest()
    wrong = b"\0" * (len(data) + 7)
    assert _upload(net, hostile, sha, wrong, 0, 1000, body=wrong[:1000]).status_code == 200
    garbage = b"x" * len(data)
    assert _upload(net, hostile, sha, garbage, 0, 4000).status_code == 200
    assert _status(net, honest, sha, len(data))["received"] == 0
    assert _upload(net, honest, sha, data, 0, 2000).json()["received"] == 2000
    # The hostile upload goes nowhere: its last chunk does not hash to the address.
    refused(_upload(net, hostile, sha, garbage, 4000, len(garbage)), 422, "hash-mismatch")
    assert _status(net, honest, sha, len(data))["received"] == 2000
    assert _upload(net, honest, sha, data, 2000, len(data)).status_code == 200
    assert _commit(net, honest, sha, len(data))["complete"] is True
    assert send(net, honest, "GET", f"/v1/blobs/{sha}").content == data


def test_a_refused_chunk_creates_no_upload(net: Net) -> None:
    """GIVEN a first chunk whose bytes do not match the prefix hash its signature covers
    WHEN it is sent
    THEN 422 chunk-mismatch and no upload row: the server recorded nothing for it."""
    desk = net.desktop(net.branch())
    data = b"z" * 5000
    sha = hashlib.sha256(data).hexdigest()
    forged = _upload(net, desk, sha, data, 0, 1000, body=b"y" * 1000)
    refused(forged, 422, "chunk-mismatch")
    assert _uploads(net, sha) == []
    assert _upload(net, desk, sha, data, 0, 1000).status_code == 200
    assert _uploads(net, sha) == [(desk.device_id, 5000, 1000)]
    folder = blobstore.Uploader(desk.device_id, desk.branch_code).folder(
        net.server.settings.blobs_dir
    )
    assert folder.is_relative_to(net.server.settings.blobs_dir / "uploads")
