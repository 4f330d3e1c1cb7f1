"""Bad input: each is refused with its specific 4xx problem, and nothing is stored."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from core.domain.events import GENESIS_HASH, Event
from core.domain.hlc import Timestamp
from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.services.branch import Branch
from core.sync import auth
from core.sync.blobs import PREFIX_HEADER
from core.sync.wire import MAX_CHUNK
from sync_server import blobstore
from sync_server import schema as st
from tests.sync.fixtures import Net

PROBLEM = "application/problem+json"


def event(desk: Branch, seq: int, prev: str = GENESIS_HASH, **changes: Any) -> Event:
    key = changes.pop("key", desk.key)
    base = Event(
        event_id=new_uuid7(),
        dossier_id=None,
        branch=desk.branch_code,
        type="branch.setting_set",
        payload={"name": "greeting", "value": f"xin chào {seq}"},
        actor="admin",
        origin_device=desk.device_id,
        origin_seq=seq,
        hlc=Timestamp(int(time.time() * 1000), seq).encode(),
        prev_hash=prev,
    )
    return replace(base, **changes).sealed(key)


def chain(desk: Branch, n: int) -> list[Event]:
    out: list[Event] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        out.append(event(desk, seq, prev))
        prev = out[-1].hash
    return out


def send(
    net: Net, desk: Branch | None, method: str, path: str, body: bytes = b"", **extra: Any
) -> requests.Response:
    headers = {"Content-Type": extra.pop("content_type", "application/json")}
    if desk is not None:
        headers.update(
            auth.sign_request(desk.key, desk.device_id, method, path, body, int(time.time() * 1000))
        )
    headers.update(extra.pop("headers", {}))
    return requests.request(method, net.server.url + path, data=body, headers=headers, timeout=30)


def push(net: Net, desk: Branch, events: list[Event] | list[dict[str, Any]]) -> requests.Response:
    wire = [e.to_wire() if isinstance(e, Event) else e for e in events]
    return send(net, desk, "POST", "/v1/events", json.dumps({"events": wire}).encode())


def stored(net: Net) -> tuple[int, int, int]:
    """(events, sum of scope heads, complete blobs) on the server."""
    with net.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(st.events)).scalar_one()
        seqs = conn.execute(select(func.coalesce(func.sum(st.scopes.c.last_seq), 0))).scalar_one()
        blobs = conn.execute(
            select(func.count()).select_from(st.blobs).where(st.blobs.c.complete.is_(True))
        ).scalar_one()
    return int(events), int(seqs), int(blobs)


def refused(response: requests.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["title"] == kind and body["status"] == status and body["detail"]
    return body


def setup(net: Net) -> Branch:
    return net.desktop(net.branch())


def test_valid_push_is_accepted_then_duplicate(net: Net) -> None:
    """GIVEN a valid chain of three events
    WHEN pushed twice (fresh signatures each time)
    THEN the first is accepted, the replayed batch is all duplicates, stored once."""
    desk = setup(net)
    events = chain(desk, 3)
    first = push(net, desk, events)
    assert first.status_code == 200 and first.json()["accepted"] == 3
    before = stored(net)
    again = push(net, desk, events)
    assert again.status_code == 200 and again.json()["duplicates"] == 3
    assert {r["status"] for r in again.json()["results"]} == {"duplicate"}
    assert stored(net) == before


def test_forged_signature(net: Net) -> None:
    """GIVEN an event whose hash is right but signed by another key
    WHEN pushed
    THEN 422 bad-signature and nothing stored."""
    desk = setup(net)
    before = stored(net)
    forged = event(desk, 1, key=DeviceKey.generate())
    refused(push(net, desk, [forged]), 422, "bad-signature")
    assert stored(net) == before


def test_altered_event(net: Net) -> None:
    """GIVEN a signed event whose payload was altered afterwards
    WHEN pushed
    THEN 422 bad-hash and nothing stored."""
    desk = setup(net)
    before = stored(net)
    altered = replace(event(desk, 1), payload={"name": "greeting", "value": "đã sửa"})
    refused(push(net, desk, [altered]), 422, "bad-hash")
    assert stored(net) == before


def test_event_of_another_branch(net: Net) -> None:
    """GIVEN a desktop of one branch and another branch on the server
    WHEN it pushes an event claiming the other branch
    THEN 403 wrong-branch and nothing stored."""
    desk = setup(net)
    other = net.branch()
    before = stored(net)
    refused(push(net, desk, [event(desk, 1, branch=other)]), 403, "wrong-branch")
    assert stored(net) == before


def test_relay_of_unknown_device(net: Net) -> None:
    """GIVEN an event of a device the server never enrolled
    WHEN a desktop relays it
    THEN 403 unknown-origin and nothing stored."""
    desk = setup(net)
    stranger = event(desk, 1, origin_device=new_uuid7(), key=DeviceKey.generate())
    before = stored(net)
    refused(push(net, desk, [stranger]), 403, "unknown-origin")
    assert stored(net) == before


def test_replayed_request(net: Net) -> None:
    """GIVEN a signed push the server accepted
    WHEN the very same request (same nonce and signature) is sent again
    THEN 401 replayed and nothing more is stored."""
    desk = setup(net)
    body = json.dumps({"events": [e.to_wire() for e in chain(desk, 2)]}).encode()
    headers = auth.sign_request(
        desk.key, desk.device_id, "POST", "/v1/events", body, int(time.time() * 1000)
    )
    url = net.server.url + "/v1/events"
    headers["Content-Type"] = "application/json"
    assert requests.post(url, data=body, headers=headers, timeout=30).status_code == 200
    before = stored(net)
    refused(requests.post(url, data=body, headers=headers, timeout=30), 401, "replayed")
    assert stored(net) == before


def test_gap(net: Net) -> None:
    """GIVEN a server that holds nothing of a device
    WHEN the device pushes its events 2 and 3 only
    THEN 409 gap naming sequence 1 as expected, and nothing stored."""
    desk = setup(net)
    before = stored(net)
    body = refused(push(net, desk, chain(desk, 3)[1:]), 409, "gap")
    assert body["expected_seq"] == 1 and body["origin_device"] == desk.device_id
    assert stored(net) == before


def test_broken_chain(net: Net) -> None:
    """GIVEN event 1 stored
    WHEN event 2 is pushed with a prev_hash that is not event 1's hash
    THEN 409 broken-chain and nothing stored."""
    desk = setup(net)
    assert push(net, desk, chain(desk, 1)).status_code == 200
    before = stored(net)
    refused(push(net, desk, [event(desk, 2, "f" * 64)]), 409, "broken-chain")
    assert stored(net) == before


def test_equivocation_flags_the_device(net: Net) -> None:
    """GIVEN event 1 of a device stored
    WHEN the device pushes a different event as its sequence 1
    THEN 409 equivocation, nothing stored, and the device is flagged."""
    desk = setup(net)
    assert push(net, desk, chain(desk, 1)).status_code == 200
    before = stored(net)
    refused(push(net, desk, [event(desk, 1)]), 409, "equivocation")
    assert stored(net) == before
    with net.engine.connect() as conn:
        flagged = conn.execute(
            select(st.devices.c.flagged).where(st.devices.c.device_id == desk.device_id)
        ).scalar_one()
        incidents = conn.execute(select(func.count()).select_from(st.incidents)).scalar_one()
    assert flagged.startswith("equivocation") and incidents == 1


def test_revoked_device(net: Net) -> None:
    """GIVEN a revoked device
    WHEN it pushes a valid event
    THEN 401 revoked and nothing stored."""
    from sync_server import identity

    desk = setup(net)
    identity.revoke(net.engine, net.key, desk.device_id)
    before = stored(net)
    refused(push(net, desk, chain(desk, 1)), 401, "revoked")
    assert stored(net) == before
    # Revoked again (a second click, a script run twice): no second event for every desk.
    assert identity.revoke(net.engine, net.key, desk.device_id)["already"] is True
    assert stored(net) == before


def test_unsigned_and_badly_signed_requests(net: Net) -> None:
    """GIVEN an enrolled device
    WHEN a push comes unsigned, or signed over another body
    THEN 401 each time and nothing stored."""
    desk = setup(net)
    before = stored(net)
    body = json.dumps({"events": [e.to_wire() for e in chain(desk, 1)]}).encode()
    refused(send(net, None, "POST", "/v1/events", body), 401, "unsigned")
    headers = auth.sign_request(
        desk.key, desk.device_id, "POST", "/v1/events", b"{}", int(time.time() * 1000)
    )
    refused(
        send(net, None, "POST", "/v1/events", body, headers=headers), 401, "bad-request-signature"
    )
    stale = auth.sign_request(desk.key, desk.device_id, "POST", "/v1/events", body, 1_000)
    refused(send(net, None, "POST", "/v1/events", body, headers=stale), 401, "stale")
    assert stored(net) == before


def test_expired_and_used_enrolment_codes(net: Net) -> None:
    """GIVEN a code that expired and a code already used
    WHEN a desktop tries to enrol with each
    THEN 410 expired-code, then 403 bad-code, and no device is created."""
    branch = net.branch()
    desk = net.desktop(branch, enrolled=False)
    from sync_server import identity

    expired = identity.new_enrol_code(
        net.engine, branch, 60, now_ms=int(time.time() * 1000) - 3_600_000
    )
    request = {
        "code": expired["code"],
        "device_id": desk.device_id,
        "public_key": desk.key.public_b64,
        "branch": branch,
        "label": "",
    }
    with net.engine.connect() as conn:
        devices = conn.execute(select(func.count()).select_from(st.devices)).scalar_one()
    refused(
        send(net, None, "POST", "/v1/enroll", json.dumps(request).encode()), 410, "expired-code"
    )
    used = net.code(branch)
    other = net.desktop(branch, enrolled=False)
    from core.services.sync import enroll

    enroll(other, net.server.url, used)
    request["code"] = used
    refused(send(net, None, "POST", "/v1/enroll", json.dumps(request).encode()), 403, "bad-code")
    with net.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(st.devices)).scalar_one()
    assert after == devices + 1  # only the legitimate enrolment


def _upload(
    net: Net,
    desk: Branch,
    sha: str,
    blob: bytes,
    offset: int,
    end: int,
    *,
    body: bytes | None = None,
    prefix: str | None = None,
) -> requests.Response:
    """PUT `blob[offset:end]` (or `body`) as a chunk of `sha`, signed over the prefix hash
    of `blob[:end]` (or `prefix`), as the client does."""
    path = f"/v1/blobs/{sha}?offset={offset}&size={len(blob)}"
    chunk = blob[offset:end] if body is None else body
    claimed = prefix or hashlib.sha256(blob[:end]).hexdigest()
    headers = {"Content-Type": "application/octet-stream", PREFIX_HEADER: claimed}
    now = int(time.time() * 1000)
    headers.update(auth.sign_request(desk.key, desk.device_id, "PUT", path, b"", now, claimed))
    return requests.put(net.server.url + path, data=chunk, headers=headers, timeout=30)


def upload_partial(net: Net, desk: Branch, sha: str) -> Path:
    """The partial file of this desk's upload of the blob (each device's apart)."""
    who = blobstore.Uploader(desk.device_id, desk.branch_code)
    return blobstore.addr.partial_path(who.folder(net.server.settings.blobs_dir), sha)


def blob_state(net: Net, desk: Branch, sha: str, size: int) -> tuple[int, bool, int]:
    """(received per the server, complete, bytes in the partial file)."""
    status = send(net, desk, "GET", f"/v1/blobs/{sha}/status?size={size}").json()
    partial = upload_partial(net, desk, sha)
    held = partial.stat().st_size if partial.exists() else 0
    return status["received"], status["complete"], held


def test_truncated_blob(net: Net) -> None:
    """GIVEN a blob of 200 bytes of which only 100 were uploaded
    WHEN the upload is committed
    THEN 409 incomplete; the blob is still missing and cannot be downloaded."""
    desk = setup(net)
    data = b"x" * 200
    sha = hashlib.sha256(data).hexdigest()
    assert _upload(net, desk, sha, data, 0, 100).status_code == 200
    before = stored(net)
    body = refused(send(net, desk, "POST", f"/v1/blobs/{sha}/commit?size=200"), 409, "incomplete")
    assert body["received"] == 100
    assert stored(net) == before
    refused(send(net, desk, "GET", f"/v1/blobs/{sha}"), 404, "no-blob")
    missing = send(net, desk, "POST", "/v1/blobs/missing", json.dumps({"hashes": [sha]}).encode())
    assert missing.json()["missing"] == [sha]


def test_chunk_at_wrong_offset(net: Net) -> None:
    """GIVEN 100 bytes of a blob uploaded
    WHEN a chunk is sent at offset 150
    THEN 409 wrong-offset telling where to resume."""
    desk = setup(net)
    data = b"y" * 300
    sha = hashlib.sha256(data).hexdigest()
    _upload(net, desk, sha, data, 0, 100)
    body = refused(_upload(net, desk, sha, data, 150, 300), 409, "wrong-offset")
    assert body["received"] == 100
    assert blob_state(net, desk, sha, 300) == (100, False, 100)


def test_wrong_blob_hash(net: Net) -> None:
    """GIVEN bytes uploaded under a SHA-256 that is not theirs, in two chunks
    WHEN the last chunk arrives (its prefix hash is the bytes' own, not the address)
    THEN 422 hash-mismatch, every byte is discarded, and nothing is stored."""
    desk = setup(net)
    data = b"z" * 64
    sha = hashlib.sha256(b"something else").hexdigest()
    assert _upload(net, desk, sha, data, 0, 32).status_code == 200
    before = stored(net)
    body = refused(_upload(net, desk, sha, data, 32, 64), 422, "hash-mismatch")
    assert "received" not in body  # not resumable: the client's file is wrong
    assert stored(net) == before
    assert blob_state(net, desk, sha, 64) == (0, False, 0)
    refused(send(net, desk, "POST", f"/v1/blobs/{sha}/commit?size=64"), 409, "incomplete")


def test_blob_chunk_altered_in_flight(net: Net) -> None:
    """GIVEN 50 good bytes of a blob stored, and a chunk signed for the next bytes
    WHEN other bytes are sent under that signature (the body is streamed to disk)
    THEN 422 chunk-mismatch naming offset 50, the partial file is cut back to the 50
    good bytes, and the upload resumes from there and commits."""
    desk = setup(net)
    data = bytes(range(200))
    sha = hashlib.sha256(data).hexdigest()
    assert _upload(net, desk, sha, data, 0, 50).status_code == 200
    forged = _upload(net, desk, sha, data, 50, 200, body=b"\0" * 150)
    assert refused(forged, 422, "chunk-mismatch")["received"] == 50
    assert blob_state(net, desk, sha, 200) == (50, False, 50)
    assert _upload(net, desk, sha, data, 50, 200).status_code == 200
    done = send(net, desk, "POST", f"/v1/blobs/{sha}/commit?size=200").json()
    assert done["complete"]


def test_blob_chunk_with_a_forged_prefix_hash(net: Net) -> None:
    """GIVEN a chunk whose prefix-hash header was changed after signing
    WHEN sent
    THEN 401 bad-request-signature before any byte is written."""
    desk = setup(net)
    data = bytes(range(100))
    sha = hashlib.sha256(data).hexdigest()
    path = f"/v1/blobs/{sha}?offset=0&size=100"
    signed_for = hashlib.sha256(data).hexdigest()
    headers = {"Content-Type": "application/octet-stream", PREFIX_HEADER: "0" * 64}
    now = int(time.time() * 1000)
    headers.update(auth.sign_request(desk.key, desk.device_id, "PUT", path, b"", now, signed_for))
    forged = requests.put(net.server.url + path, data=data, headers=headers, timeout=30)
    refused(forged, 401, "bad-request-signature")
    assert blob_state(net, desk, sha, 100) == (0, False, 0)


def test_blob_chunk_after_a_server_restart_with_a_damaged_partial(net: Net) -> None:
    """GIVEN 50 bytes of a blob held, then the server forgets its running hash (a restart)
    and the partial file is damaged on disk
    WHEN the next chunk arrives (the server rebuilds the prefix hash from the file)
    THEN 422 chunk-mismatch naming offset 0: the whole upload is discarded, and a new
    upload from 0 commits."""
    desk = setup(net)
    data = bytes(range(100))
    sha = hashlib.sha256(data).hexdigest()
    assert _upload(net, desk, sha, data, 0, 50).status_code == 200
    blobstore._RUNNING.clear()
    partial = upload_partial(net, desk, sha)
    partial.write_bytes(b"\xff" * 50)
    assert refused(_upload(net, desk, sha, data, 50, 100), 422, "chunk-mismatch")["received"] == 0
    assert blob_state(net, desk, sha, 100) == (0, False, 0)
    assert _upload(net, desk, sha, data, 0, 100).status_code == 200
    done = send(net, desk, "POST", f"/v1/blobs/{sha}/commit?size=100").json()
    assert done["complete"]


def test_blob_chunk_past_declared_size(net: Net) -> None:
    """GIVEN a blob declared as 100 bytes
    WHEN a chunk of 150 bytes is streamed
    THEN 413 beyond-size and nothing kept."""
    desk = setup(net)
    data = b"q" * 100
    sha = hashlib.sha256(data).hexdigest()
    refused(_upload(net, desk, sha, data, 0, 100, body=b"q" * 150), 413, "beyond-size")
    assert blob_state(net, desk, sha, 100) == (0, False, 0)


def test_blob_chunk_over_the_largest_chunk(net: Net) -> None:
    """GIVEN a blob larger than the largest chunk
    WHEN one chunk of MAX_CHUNK + 1 bytes is streamed
    THEN 413 chunk-too-large, and nothing kept (a cut must never cost more than a chunk)."""
    desk = setup(net)
    data = bytes(MAX_CHUNK + 4 * 1024 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    for end in (MAX_CHUNK + 1, len(data)):  # one byte over, and far over
        problem = refused(_upload(net, desk, sha, data, 0, end), 413, "chunk-too-large")
        assert problem["limit"] == MAX_CHUNK  # so a desktop can size its chunks under it
        assert blob_state(net, desk, sha, len(data)) == (0, False, 0)


def test_a_blob_chunk_may_exceed_the_body_limit_up_to_the_largest_chunk(net: Net) -> None:
    """GIVEN a blob of 40 MiB (over the 32 MiB limit of other bodies, within MAX_CHUNK)
    WHEN it is sent as one chunk
    THEN the chunk is taken whole: a fast link sends few, large chunks."""
    desk = setup(net)
    data = bytes(range(256)) * (40 * 4096)
    sha = hashlib.sha256(data).hexdigest()
    assert len(data) <= MAX_CHUNK
    response = _upload(net, desk, sha, data, 0, len(data))
    assert response.status_code == 200, response.text
    assert blob_state(net, desk, sha, len(data)) == (len(data), False, len(data))


def test_a_chunk_past_the_start_of_an_unknown_blob_leaves_nothing(net: Net) -> None:
    """GIVEN a blob the server has never seen
    WHEN a chunk at offset 5 is sent, claiming some size
    THEN 409 wrong-offset with received 0, and no upload is recorded: the blob's status
    with its real size is a fresh one (no size-mismatch)."""
    desk = setup(net)
    data = b"w" * 100
    sha = hashlib.sha256(data).hexdigest()
    problem = refused(_upload(net, desk, sha, data + b"x" * 900, 5, 50), 409, "wrong-offset")
    assert problem["received"] == 0
    assert blob_state(net, desk, sha, len(data)) == (0, False, 0)


def test_huge_body(net: Net) -> None:
    """GIVEN a body over the 32 MiB limit
    WHEN pushed
    THEN 413 before any handler runs, and nothing stored."""
    desk = setup(net)
    before = stored(net)
    body = b'{"events": [' + b" " * (33 * 1024 * 1024) + b"]}"
    response = send(net, desk, "POST", "/v1/events", body)
    assert response.status_code == 413 and response.headers["content-type"].startswith(PROBLEM)
    assert stored(net) == before


def test_malformed_json(net: Net) -> None:
    """GIVEN a push whose body is not JSON
    WHEN sent (correctly signed)
    THEN 400 malformed-json and nothing stored."""
    desk = setup(net)
    before = stored(net)
    refused(send(net, desk, "POST", "/v1/events", b'{"events": [}'), 400, "malformed-json")
    assert stored(net) == before


@pytest.mark.parametrize(
    "body", [b'{"branch": "\xff\xfe"}', b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"]
)
def test_an_enrolment_body_that_cannot_be_decoded_is_a_problem(net: Net, body: bytes) -> None:
    """GIVEN an enrolment whose body is not UTF-8, or JSON nested 5,000 deep (FastAPI
    refuses both before any model sees them)
    WHEN sent
    THEN 400 malformed-json as application/problem+json, like every refusal; other
    wrong method is a problem too."""
    refused(send(net, None, "POST", "/v1/enroll", body), 400, "malformed-json")
    refused(send(net, None, "GET", "/v1/enroll"), 405, "http-error")


def test_wrong_types_are_refused_strictly(net: Net) -> None:
    """GIVEN an event whose origin_seq is `false`, and one with an unknown field
    WHEN pushed
    THEN 422 invalid each time (false is not an integer) and nothing stored."""
    desk = setup(net)
    before = stored(net)
    wire = chain(desk, 1)[0].to_wire()
    refused(push(net, desk, [{**wire, "origin_seq": False}]), 422, "invalid")
    refused(push(net, desk, [{**wire, "origin_seq": "1"}]), 422, "invalid")
    refused(push(net, desk, [{**wire, "surprise": 1}]), 422, "invalid")
    refused(push(net, desk, []), 422, "invalid")
    assert stored(net) == before


def test_pull_outside_scope(net: Net) -> None:
    """GIVEN a desktop of one branch
    WHEN it pulls another branch's scope
    THEN 403 wrong-scope."""
    desk = setup(net)
    other = net.branch()
    refused(send(net, desk, "GET", f"/v1/events?scope={other}&after=0"), 403, "wrong-scope")


def test_problem_detail_is_vietnamese_by_default(net: Net) -> None:
    """GIVEN a request refused by the server
    WHEN no language is asked for, then English is asked for
    THEN the detail is Vietnamese, then English."""
    body = send(net, None, "POST", "/v1/events", b"{}").json()
    english = send(net, None, "POST", "/v1/events", b"{}", headers={"Accept-Language": "en"}).json()
    assert english["detail"] == "The request is not signed by an enrolled device"
    assert body["detail"] != english["detail"]


def test_a_stalled_chunk_is_given_up_and_frees_the_blob(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a chunk whose sender sends its headers and part of its body, then falls
    silent without closing the connection (a cut nobody reported)
    WHEN the body stays silent past the idle limit
    THEN 408 body-timeout, the partial file is cut back, and the blob's lock is free: the
    upload then goes through."""
    from sync_server import app as server_app

    monkeypatch.setattr(server_app, "_IDLE_S", 0.5)
    desk = setup(net)
    data = bytes(range(256)) * 64
    sha = hashlib.sha256(data).hexdigest()
    path = f"/v1/blobs/{sha}?offset=0&size={len(data)}"
    claimed = hashlib.sha256(data).hexdigest()
    signed = auth.sign_request(
        desk.key, desk.device_id, "PUT", path, b"", int(time.time() * 1000), claimed
    )
    host, port = net.server.url.removeprefix("http://").split(":")
    head = [f"PUT {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(data)}"]
    head += [f"{k}: {v}" for k, v in {**signed, PREFIX_HEADER: claimed}.items()]
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        stalled.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data[:1000])
        answer = stalled.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 408") and "body-timeout" in answer
    assert blob_state(net, desk, sha, len(data)) == (0, False, 0)
    assert _upload(net, desk, sha, data, 0, len(data)).status_code == 200
    assert send(net, desk, "POST", f"/v1/blobs/{sha}/commit?size={len(data)}").json()["complete"]


def test_blob_chunk_of_an_older_desktop_asks_for_an_update(net: Net) -> None:
    """GIVEN a chunk signed the protocol-1 way (over its own body, no prefix-hash header)
    WHEN sent
    THEN 426 upgrade-required, nothing written."""
    desk = setup(net)
    data = b"old" * 100
    sha = hashlib.sha256(data).hexdigest()
    path = f"/v1/blobs/{sha}?offset=0&size={len(data)}"
    old = send(net, desk, "PUT", path, data, content_type="application/octet-stream")
    refused(old, 426, "upgrade-required")
    assert blob_state(net, desk, sha, len(data)) == (0, False, 0)


def test_a_copy_damaged_on_the_server_is_sent_again(net: Net) -> None:
    """GIVEN a blob whose every byte arrived, then the server restarted (no running hash)
    and its partial file was damaged on disk
    WHEN the upload is committed
    THEN 409 stored-damaged naming offset 0 (the client sends it again), nothing served;
    the blob then goes up again and commits."""
    desk = setup(net)
    data = bytes(range(256)) * 8
    sha = hashlib.sha256(data).hexdigest()
    assert _upload(net, desk, sha, data, 0, len(data)).status_code == 200
    blobstore._RUNNING.clear()
    partial = upload_partial(net, desk, sha)
    partial.write_bytes(b"\0" * len(data))
    commit = f"/v1/blobs/{sha}/commit?size={len(data)}"
    assert refused(send(net, desk, "POST", commit), 409, "stored-damaged")["received"] == 0
    refused(send(net, desk, "GET", f"/v1/blobs/{sha}"), 404, "no-blob")
    assert _upload(net, desk, sha, data, 0, len(data)).status_code == 200
    assert send(net, desk, "POST", commit).json()["complete"]
