"""LAN peers carry scans: real peer services on loopback; a desk fetches the scans its
dossiers refer to from a peer of its branch, resuming, checked by SHA-256; a peer of
another branch, an unsigned or replayed request, a scan no event refers to, and a peer
sending other bytes are refused; transfers are bounded."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import insert, select

from core.domain.workflow import Action
from core.services import documents
from core.services.branch import Branch
from core.services.peers import PeerService, add_peer, sync_with_peer
from core.services.sync import LocalReplica, agent_for
from core.storage import replication
from core.storage import schema as t
from core.sync import auth, peer, peer_blobs
from core.sync.applied import Applied
from core.sync.client import RetryPolicy
from core.sync.errors import ProtocolError
from core.sync.peer import peer_url

from .fixtures import Net, act, attach_blob, no_wait, receive
from .live import live_server

MiB = 1 << 20


@dataclass
class Lan:
    net: Net
    a: Branch
    b: Branch
    other: Branch  # a desk of another branch
    serving: list[PeerService]

    def serve(self, desk: Branch) -> str:
        service = PeerService(desk).start("127.0.0.1", 0, advertise=False)
        self.serving.append(service)
        return f"127.0.0.1:{service.port}"

    def scan_on_a(self, size: int) -> tuple[str, str, bytes]:
        """A dossier received on A with a scan of `size` bytes attached (never sent to
        the centre): its code, the scan's SHA-256 and bytes."""
        view = receive(self.a)
        data = os.urandom(size)
        source = self.net.root / f"scan-{size}.pdf"
        source.write_bytes(data)
        sha = LocalReplica(self.a).add_blob(source)
        attach_blob(self.a, view.id, sha)
        return view.code, sha, data


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[Lan]:
    with live_server("sqlite", tmp_path / "server") as server:
        net = Net(server, tmp_path)
        unit, elsewhere = net.branch(), net.branch()
        a, b, other = net.desktop(unit), net.desktop(unit), net.desktop(elsewhere)
        for desk in (a, b, other, a):
            net.agent(desk).sync_once()  # learn the devices of the branch
        lan = Lan(net, a, b, other, [])
        try:
            yield lan
        finally:
            for service in lan.serving:
                service.stop()
            net.close()


def signed_get(
    url: str, path: str, desk: Branch, stream: bool = False, **headers: str
) -> requests.Response:
    signed = auth.sign_request(desk.key, desk.device_id, "GET", path, b"", int(time.time() * 1000))
    return requests.get(url + path, headers={**signed, **headers}, timeout=10, stream=stream)


def present(desk: Branch, sha: str) -> bool:
    with desk.store.read() as conn:
        row = conn.execute(
            select(replication.blobs.c.present).where(replication.blobs.c.sha256 == sha)
        ).first()
    return bool(row and row.present)


def test_a_dossier_received_on_a_is_processed_with_its_scan_on_b_without_the_centre(
    lan: Lan,
) -> None:
    """GIVEN a dossier received on desk A with a 3 MiB scan, the centre unreachable for B
    WHEN B's agent runs one LAN round with A
    THEN B holds the dossier and the scan's exact bytes, tells its listeners the scan
    arrived, and processes the dossier; the next round moves no byte again; once the
    centre answers, B uploads the scan (A never did) and A learns the centre keeps it."""
    code, sha, data = lan.scan_on_a(3 * MiB)
    add_peer(lan.b, lan.serve(lan.a))
    agent = agent_for(
        lan.b, "http://127.0.0.1:9", lan=True, retry=RetryPolicy(attempts=1, sleep=no_wait)
    )
    told: list[Applied] = []
    agent.on_applied.append(told.append)
    assert len(agent.sync_lan()) == 1
    assert documents.read(lan.b, sha) == data and present(lan.b, sha)
    assert sha in set().union(*(x.blobs for x in told))
    assert sha in {blob.sha256 for blob in LocalReplica(lan.b).pending_blobs()}
    view = act(lan.b, code, Action.TRANSFER)
    assert view.code == code
    again = sync_with_peer(lan.b, lan.serve(lan.a))
    assert (again.blobs, again.blob_bytes) == (0, 0)
    # Once the centre answers, B's copy goes up (A never sent it), and A learns it is kept.
    assert lan.net.agent(lan.b).sync_once().blobs_up == 1
    assert lan.net.agent(lan.a).sync_once().blobs_up == 0
    assert LocalReplica(lan.a).pending_blobs() == LocalReplica(lan.b).pending_blobs() == []


def test_a_cut_transfer_resumes_from_its_partial_file(
    lan: Lan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN B holding A's dossier (its scan refused while A was busy), and the first
    1.5 MiB of the 4 MiB scan in its partial file (a cut transfer)
    WHEN B exchanges with A again
    THEN only the rest travels (a range from the partial's end) and the scan is whole."""
    _code, sha, data = lan.scan_on_a(4 * MiB)
    address = lan.serve(lan.a)
    with monkeypatch.context() as busy:
        busy.setattr(peer_blobs, "BLOB_TRANSFERS", 0)
        first = sync_with_peer(lan.b, address)
    assert (first.applied, first.blobs) == (2, 0)
    assert LocalReplica(lan.b).wanted_blobs() == [sha]
    partial = LocalReplica(lan.b).partial_blob(sha)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(data[: 3 * MiB // 2])
    summary = sync_with_peer(lan.b, address)
    assert (summary.blobs, summary.blob_bytes) == (1, len(data) - 3 * MiB // 2)
    assert documents.read(lan.b, sha) == data and not partial.exists()


def test_a_partial_file_of_other_bytes_is_dropped_and_the_scan_fetched_whole(
    lan: Lan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN B wanting A's 2 MiB scan, with 1 MiB of other bytes in its partial file (a
    transfer cut from a peer that sent wrong bytes)
    WHEN B exchanges with A
    THEN the resumed whole fails its check, the partial file is dropped, and the scan is
    fetched again from its start, from A, in the same exchange."""
    _code, sha, data = lan.scan_on_a(2 * MiB)
    address = lan.serve(lan.a)
    with monkeypatch.context() as busy:
        busy.setattr(peer_blobs, "BLOB_TRANSFERS", 0)
        sync_with_peer(lan.b, address)
    partial = LocalReplica(lan.b).partial_blob(sha)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(bytes(MiB))
    summary = sync_with_peer(lan.b, address)
    assert (summary.blobs, summary.blob_bytes) == (1, MiB + len(data))
    assert documents.read(lan.b, sha) == data


def test_a_peer_sending_other_bytes_is_refused_and_nothing_is_kept(lan: Lan) -> None:
    """GIVEN A's scan altered on A's disk (A now sends bytes that are not that scan)
    WHEN B exchanges with A
    THEN the exchange fails naming A, B keeps neither the scan nor a partial file, the
    dossier's events still came; once A's file is repaired, B gets the scan."""
    code, sha, data = lan.scan_on_a(2 * MiB)
    stored = lan.a.data_dir / "blobs" / sha[:2] / sha
    stored.write_bytes(bytes(len(data)))
    address = lan.serve(lan.a)
    with pytest.raises(ProtocolError, match="SHA-256") as refused:
        sync_with_peer(lan.b, address)
    assert peer_url(address) in str(refused.value)
    assert not present(lan.b, sha) and not LocalReplica(lan.b).partial_blob(sha).exists()
    assert not (lan.b.data_dir / "blobs" / sha[:2] / sha).exists()
    assert lan.b.dossiers.get(code).code == code
    stored.write_bytes(data)
    assert sync_with_peer(lan.b, address).blobs == 1
    assert documents.read(lan.b, sha) == data


def test_scans_are_sent_only_to_signed_peers_of_the_branch_and_only_if_an_event_refers_to_them(
    lan: Lan,
) -> None:
    """GIVEN A serving a scan its dossier refers to, and a stored file no event refers to
    WHEN B asks for both; a desk of another branch asks (unknown to A, then known); the
    same request comes unsigned, then replayed
    THEN B gets the referred scan only (the other is unknown: 404, and not listed as
    held); the other branch's desk is refused 401 then 403; unsigned and replayed: 401."""
    _code, sha, data = lan.scan_on_a(MiB)
    orphan_file = lan.net.root / "orphan.pdf"
    orphan_file.write_bytes(b"%PDF-1.7 no event refers to me")
    orphan = LocalReplica(lan.a).add_blob(orphan_file)
    url = peer_url(lan.serve(lan.a))

    ok = signed_get(url, f"/v1/blobs/{sha}", lan.b)
    assert ok.status_code == 200 and ok.content == data
    assert ok.headers[peer_blobs.HEADER_SIZE] == str(len(data))
    hidden = signed_get(url, f"/v1/blobs/{orphan}", lan.b)
    assert (hidden.status_code, hidden.json()["title"]) == (404, "unknown-blob")
    assert LocalReplica(lan.b).wanted_blobs() == []  # B has no event naming either yet
    summary = sync_with_peer(lan.b, lan.serve(lan.a))
    assert summary.blobs == 1 and not present(lan.b, orphan)

    stranger = signed_get(url, f"/v1/blobs/{sha}", lan.other)
    assert (stranger.status_code, stranger.json()["title"]) == (401, "unknown-device")
    lan.a.store.write(
        lambda conn: conn.execute(
            insert(t.devices).values(
                device_id=lan.other.device_id,
                branch=lan.other.branch_code,
                public_key=lan.other.key.public_b64,
                label="",
                revoked=False,
            )
        )
    )
    known = signed_get(url, f"/v1/blobs/{sha}", lan.other)
    # A desk of another unit may fetch only the scans sent to its unit: this one is not,
    # so it is as if this desk lacked it (``core.sync.peer_units``).
    assert (known.status_code, known.json()["title"]) == (404, "unknown-blob")

    assert requests.get(url + f"/v1/blobs/{sha}", timeout=10).status_code == 401
    path = f"/v1/blobs/{sha}"
    headers = auth.sign_request(
        lan.b.key, lan.b.device_id, "GET", path, b"", int(time.time() * 1000)
    )
    assert requests.get(url + path, headers=headers, timeout=10).status_code == 200
    replay = requests.get(url + path, headers=headers, timeout=10)
    assert (replay.status_code, replay.json()["title"]) == (401, "replayed")
    resumed = signed_get(url, path, lan.b, Range=f"bytes={len(data) - 10}-")
    assert resumed.status_code == 206 and resumed.content == data[-10:]
    beyond = signed_get(url, path, lan.b, Range=f"bytes={len(data)}-")
    assert beyond.status_code == 416


def test_scan_transfers_are_bounded_and_a_stalled_reader_frees_its_slot(
    lan: Lan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN A serving one scan at a time, with a 1 s deadline per piece written
    WHEN B opens a 32 MiB transfer and stops reading, and asks again meanwhile
    THEN the second request is turned away (503, signed, with Retry-After) and, once the
    stalled transfer's deadline passes, the slot is free again."""
    monkeypatch.setattr(peer_blobs, "BLOB_TRANSFERS", 1)
    monkeypatch.setattr(peer, "TIMEOUT_S", 1.0)
    _code, sha, _data = lan.scan_on_a(32 * MiB)
    url = peer_url(lan.serve(lan.a))
    path = f"/v1/blobs/{sha}"
    stalled = signed_get(url, path, lan.b, stream=True)
    assert stalled.status_code == 200
    busy = signed_get(url, path, lan.b)
    assert busy.status_code == 503 and busy.json()["title"] == "busy"
    assert busy.headers["Retry-After"] and busy.headers[peer.HEADER_REPLY]
    deadline = time.monotonic() + 10
    while (answer := signed_get(url, path, lan.b, stream=True)).status_code == 503:
        answer.close()
        assert time.monotonic() < deadline, "the stalled transfer kept its slot"
        time.sleep(0.2)
    assert answer.status_code == 200
    answer.close()
    stalled.close()


class _FillingDisk:
    """A file that takes `room` bytes, then answers as a full disk does."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.kept = bytearray()

    def write(self, piece: bytes) -> int:
        if len(self.kept) + len(piece) > self.room:
            raise OSError(28, "No space left on device")
        self.kept += piece
        return len(piece)


def test_pieces_are_written_and_hashed_in_order_off_the_receiving_thread() -> None:
    """GIVEN 40 pieces of different bytes and sizes
    WHEN they go through the writer of fetched scans (a thread writes, another hashes)
    THEN the file holds them in order and the digest is their SHA-256."""
    pieces = [os.urandom(1 + n * 997) for n in range(40)]
    disk = _FillingDisk(room=1 << 30)
    with peer_blobs._PieceWriter(disk, hashing=True) as out:  # type: ignore[arg-type]
        for piece in pieces:
            out.write(piece)
    assert bytes(disk.kept) == b"".join(pieces)
    assert out.digest == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_full_disk_while_writing_a_fetched_scan_is_raised_not_lost() -> None:
    """GIVEN a disk with room for 2 of 10 pieces
    WHEN the pieces are written
    THEN the disk's error reaches the caller (at a later piece or at the end) and what
    was written is the pieces before it, in order."""
    pieces = [bytes([n]) * 1000 for n in range(10)]
    disk = _FillingDisk(room=2000)

    def write_all() -> None:
        with peer_blobs._PieceWriter(disk, hashing=False) as out:  # type: ignore[arg-type]
            for piece in pieces:
                out.write(piece)

    with pytest.raises(OSError, match="No space"):
        write_all()
    assert bytes(disk.kept) == pieces[0] + pieces[1]
