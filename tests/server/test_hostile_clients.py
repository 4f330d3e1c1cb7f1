"""One hostile enrolled desktop, or anonymous clients, against the real server (SQLite and
PostgreSQL): long-polls hold no thread, nobody's body is read before they are known, bodies
in flight are bounded and timed out, enrolment codes cannot be probed or guessed, and old
nonces are pruned without letting a replay through."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, cast

import pytest
import requests
from sqlalchemy import insert, select

from core.domain.ids import new_uuid7
from core.domain.signing import DeviceKey
from core.services.branch import Branch
from core.sync import auth
from sync_server import app as server_app
from sync_server import limits
from sync_server import schema as st
from tests.server.test_bad_input import chain, push, refused, send, stored
from tests.sync.fixtures import Net

# --- helpers ----------------------------------------------------------------------------------


def setup_desk(net: Net) -> Branch:
    return net.desktop(net.branch())


def server_of(net: Net) -> server_app.Server:
    return cast(server_app.Server, net.server.app_server)


def head_of(net: Net, desk: Branch) -> int:
    """The head of `desk`'s branch scope on the server."""
    answer = send(net, desk, "GET", f"/v1/events?scope={desk.branch_code}&after=0")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["head"])


def until(condition: Any, what: str, limit_s: float = 60.0) -> None:
    """Wait for `condition()` (a state the test sets up, never a timing it asserts)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never reached: {what}")
        time.sleep(0.02)


def address(net: Net) -> tuple[str, int]:
    host, port = net.server.url.removeprefix("http://").split(":")
    return host, int(port)


def open_request(
    net: Net, method: str, path: str, headers: dict[str, str], sent: bytes, length: int
) -> socket.socket:
    """A request whose headers declare `length` body bytes, of which only `sent` are sent:
    the connection stays open, silent (the caller closes it)."""
    host, port = address(net)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    lines += ["Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock = socket.create_connection((host, port), timeout=30)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
    return sock


def response_of(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The status, headers and JSON body of the answer read from `sock`."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"closed without an answer: {data!r}"
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    while len(body) < int(headers["content-length"]):
        piece = sock.recv(65536)
        assert piece, "closed in the middle of the answer"
        body += piece
    return int(status_line.split()[1]), headers, json.loads(body)


def signed_for(desk: Branch, method: str, path: str, body: bytes) -> dict[str, str]:
    return auth.sign_request(desk.key, desk.device_id, method, path, body, int(time.time() * 1000))


def push_body(desk: Branch, n: int = 1) -> bytes:
    return json.dumps({"events": [e.to_wire() for e in chain(desk, n)]}).encode()


@contextmanager
def held_bodies(
    net: Net, desk: Branch | None, count: int, expected_in_use: int
) -> Iterator[list[socket.socket]]:
    """`count` pushes (of `desk`, or anonymous enrolments) whose bodies never end, each
    holding a body slot once admitted; closed on exit."""
    server = server_of(net)
    with ExitStack() as stack:
        sockets: list[socket.socket] = []
        for _ in range(count):
            if desk is None:
                path, body, headers = "/v1/enroll", b'{"code": "' + b"A" * 100, {}
            else:
                path, body = "/v1/events", push_body(desk)
                headers = signed_for(desk, "POST", path, body)
            sock = open_request(net, "POST", path, headers, body[:10], len(body))
            sockets.append(stack.enter_context(sock))
        until(lambda: server.bodies.used == expected_in_use, f"{expected_in_use} bodies held")
        yield sockets


# --- 1. long-polls ----------------------------------------------------------------------------

POLLS = 60  # more than the thread pool's 40 threads


def test_long_polls_hold_no_thread(net: Net) -> None:
    """GIVEN 60 long-polls (wait=20) of one desk waiting on its quiet branch: more than the
    server's thread pool has threads
    WHEN a desk of another branch pushes, and the health check is asked, meanwhile
    THEN both are answered while every poll is still waiting (none has returned); an
    event in the polled branch then ends them all, each with a 200 past the old head."""
    watcher = net.desktop(net.branch())
    pusher = net.desktop(net.branch())
    server = server_of(net)
    head = head_of(net, watcher)
    path = f"/v1/events?scope={watcher.branch_code}&after={head}&wait=20"
    returned: list[requests.Response] = []
    lock = threading.Lock()

    def poll() -> None:
        answer = send(net, watcher, "GET", path)
        with lock:
            returned.append(answer)

    threads = [threading.Thread(target=poll, daemon=True) for _ in range(POLLS)]
    for thread in threads:
        thread.start()
    until(lambda: server.polls.waiting == POLLS, f"{POLLS} polls waiting")

    pushed = push(net, pusher, chain(pusher, 1))
    health = requests.get(net.server.url + "/v1/health", timeout=30)
    with lock:
        early = list(returned)
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 1, pushed.text
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert early == [] and server.polls.waiting == POLLS  # all still waiting

    ending = push(net, watcher, chain(watcher, 1))  # an event in the polled branch
    assert ending.status_code == 200, ending.text
    for thread in threads:
        thread.join(60)
    assert len(returned) == POLLS
    assert all(r.status_code == 200 and r.json()["next"] > head for r in returned)
    assert server.polls.waiting == 0


# --- 2. the gate: known before read, bodies bounded and timed out ---------------------------


def test_a_stranger_is_refused_before_its_body_is_read(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN pushes declaring a 30 MiB body and sending none of it: one unsigned, one
    signed by a device the server does not know, one by a revoked device, one forged
    under an enrolled device's identifier, one declaring no digest (a body the
    server waited for would be answered only after the hour-long idle limit)
    WHEN each is sent
    THEN each gets its 401 (unsigned, unknown-device, revoked; signed with another key
    under a known device's identifier; without the digest its signature covers) while
    its body is still unsent — the server answered from the headers alone — and the
    server closes the connection (it does not drain the body); no body slot was taken."""
    from sync_server import identity

    monkeypatch.setattr(server_app, "_IDLE_S", 3600.0)
    length = 30 * 1024 * 1024
    stranger = auth.sign_request(
        DeviceKey.generate(), new_uuid7(), "POST", "/v1/events", b"x" * 10, int(time.time() * 1000)
    )
    revoked = setup_desk(net)
    revoked_headers = signed_for(revoked, "POST", "/v1/events", b"x" * 10)
    identity.revoke(net.engine, net.key, revoked.device_id)
    known = setup_desk(net)  # its identifier is known to the forger, its key is not
    forged = auth.sign_request(
        DeviceKey.generate(), known.device_id, "POST", "/v1/events", b"x", int(time.time() * 1000)
    )
    undeclared = signed_for(known, "POST", "/v1/events", b"x" * 10)
    del undeclared[auth.HEADER_DIGEST]
    for headers, kind in (
        ({}, "unsigned"),
        (stranger, "unknown-device"),
        (revoked_headers, "revoked"),
        (forged, "bad-request-signature"),
        (undeclared, "undeclared-digest"),
    ):
        with open_request(net, "POST", "/v1/events", headers, b"", length) as sock:
            status, answer_headers, body = response_of(sock)
            assert sock.recv(1) == b""  # and the connection is closed: nothing more is read
        assert (status, body["title"]) == (401, kind)
        assert answer_headers["connection"] == "close"
    assert server_of(net).bodies.used == 0


def test_a_silent_body_is_given_up(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a push signed by an enrolled desk whose body stops after 10 bytes, the
    connection left open
    WHEN the body stays silent past the idle limit (made short here)
    THEN 408 body-timeout, nothing stored, its body slot given back; the same desk's next
    push goes through."""
    monkeypatch.setattr(server_app, "_IDLE_S", 0.5)
    desk = setup_desk(net)
    before = stored(net)
    body = push_body(desk)
    headers = signed_for(desk, "POST", "/v1/events", body)
    with open_request(net, "POST", "/v1/events", headers, body[:10], len(body)) as sock:
        status, _headers, problem = response_of(sock)
    assert (status, problem["title"]) == (408, "body-timeout")
    assert stored(net) == before
    until(lambda: server_of(net).bodies.used == 0, "the slot given back")
    assert push(net, desk, chain(desk, 1)).status_code == 200


def test_bodies_in_flight_are_bounded_per_device_and_per_process(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a process that holds at most 4 bodies, 2 of one client (made small here),
    and a desk holding 2 bodies that never end
    WHEN it sends a third, then another desk holds 2, then a third desk pushes
    THEN the third body of the first desk gets 429 busy with Retry-After while the other
    desk's go through; once 4 are held, any push gets 429 busy; when the held connections
    close, the slots come back and the third desk's push goes through."""
    monkeypatch.setattr(server_app, "_IDLE_S", 3600.0)
    server = server_of(net)
    monkeypatch.setattr(server, "bodies", limits.Slots(total=4, per_key=2))
    hog, other, late = setup_desk(net), setup_desk(net), setup_desk(net)
    with held_bodies(net, hog, 2, 2):
        third = push(net, hog, chain(hog, 1))
        refused(third, 429, "busy")
        assert int(third.headers["Retry-After"]) > 0
        with held_bodies(net, other, 2, 4):
            refused(push(net, late, chain(late, 1)), 429, "busy")
    until(lambda: server.bodies.used == 0, "the slots given back")
    assert push(net, late, chain(late, 1)).status_code == 200


def test_anonymous_bodies_never_take_the_devices_slots(
    net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN anonymous clients holding as many enrolment bodies as all anonymous clients
    together may (2 here), never ending them
    WHEN another enrolment comes, and a desk pushes
    THEN the enrolment gets 429 busy, the push goes through; an anonymous body over
    16 KiB is refused 413 from its declared length, before it is read."""
    monkeypatch.setattr(server_app, "_IDLE_S", 3600.0)
    server = server_of(net)
    monkeypatch.setattr(server, "bodies", limits.Slots(total=4, per_key=2))
    desk = setup_desk(net)
    with held_bodies(net, None, 2, 2):
        refused(send(net, None, "POST", "/v1/enroll", b"{}"), 429, "busy")
        assert push(net, desk, chain(desk, 1)).status_code == 200
    until(lambda: server.bodies.used == 0, "the slots given back")
    with open_request(net, "POST", "/v1/enroll", {}, b"", 16 * 1024 + 1) as sock:
        status, _headers, problem = response_of(sock)
    assert (status, problem["title"], problem["limit"]) == (413, "too-large", 16 * 1024)


# --- 3. enrolment -----------------------------------------------------------------------------


def enrol(net: Net, code: str, branch: str, client: str = "10.1.1.1") -> requests.Response:
    """An enrolment of a fresh device, from `client` (the address a trusted proxy names)."""
    body = {
        "code": code,
        "device_id": new_uuid7(),
        "public_key": DeviceKey.generate().public_b64,
        "branch": branch,
        "label": "",
    }
    return send(
        net,
        None,
        "POST",
        "/v1/enroll",
        json.dumps(body).encode(),
        headers={"X-Forwarded-For": client, "Accept-Language": "en"},
    )


def devices(net: Net) -> int:
    with net.engine.connect() as conn:
        return len(conn.execute(select(st.devices.c.device_id)).all())


def test_a_code_of_another_branch_reveals_nothing(net: Net) -> None:
    """GIVEN a code of one branch, and an expired code of that branch
    WHEN a desktop of another branch tries each
    THEN 403 bad-code, word for word what an unknown code gets (no branch named, not
    even 'expired'), nothing enrolled; the code still enrols a desktop of its branch."""
    from sync_server import identity

    mine, theirs = net.branch(), net.branch()
    code = net.code(theirs)
    expired = identity.new_enrol_code(
        net.engine, theirs, 60, now_ms=int(time.time() * 1000) - 3_600_000
    )["code"]
    before = devices(net)
    unknown = refused(enrol(net, "FFFF-FFFF-FFFF-FFFF", mine), 403, "bad-code")
    for tried in (code, expired):
        answer = refused(enrol(net, tried, mine), 403, "bad-code")
        assert answer == unknown and theirs not in json.dumps(answer)
    assert devices(net) == before
    assert enrol(net, code, theirs).status_code == 200


def test_failed_enrolments_are_limited_per_address(net: Net) -> None:
    """GIVEN 10 failed enrolment attempts from one address (unknown codes)
    WHEN that address then brings a good code
    THEN 429 too-many-attempts with a Retry-After of at most 10 minutes, and the code is
    not taken: another address enrols with it."""
    tried, good = net.branch(), net.branch()
    code = net.code(good)
    for n in range(limits.ENROL_FAILURES):
        refused(enrol(net, f"BAD0-0000-0000-{n:04d}", tried, "10.2.2.2"), 403, "bad-code")
    limited = enrol(net, code, good, "10.2.2.2")
    refused(limited, 429, "too-many-attempts")
    assert 0 < int(limited.headers["Retry-After"]) <= limits.ENROL_WINDOW_S
    assert enrol(net, code, good, "10.3.3.3").status_code == 200


def test_failed_enrolments_are_limited_per_branch(net: Net) -> None:
    """GIVEN 10 failed enrolment attempts into one branch, each from its own address
    WHEN a fresh address brings a good code of that branch
    THEN 429 too-many-attempts (so rotating addresses does not help a guesser); the same
    address enrols into another branch."""
    target, elsewhere = net.branch(), net.branch()
    for n in range(limits.ENROL_FAILURES):
        refused(enrol(net, f"BAD1-0000-0000-{n:04d}", target, f"10.4.4.{n}"), 403, "bad-code")
    refused(enrol(net, net.code(target), target, "10.5.5.5"), 429, "too-many-attempts")
    assert enrol(net, net.code(elsewhere), elsewhere, "10.5.5.5").status_code == 200


def test_attempts_slide_out_of_their_window() -> None:
    """GIVEN a limit of 3 failures per 600 s (a clock the test moves)
    WHEN 3 failures come at 0, 100 and 200 s
    THEN the key waits until the first leaves the window (400 s at 200 s), is free again
    at 600 s; other keys are untouched; at most `max_keys` keys are remembered."""
    now = [0.0]
    attempts = limits.Attempts(3, 600.0, clock=lambda: now[0], max_keys=5)
    for moment in (0.0, 100.0, 200.0):
        now[0] = moment
        blocked = attempts.failed(["a"])
    assert blocked == ["a"]
    assert attempts.wait_s(["a", "b"]) == 400 and attempts.wait_s(["b"]) == 0
    now[0] = 600.0
    assert attempts.wait_s(["a"]) == 0
    for n in range(20):
        attempts.failed([f"k{n}"])
    assert len(attempts._failures) == 5


# --- 4. nonces --------------------------------------------------------------------------------


def nonce_rows(net: Net, desk: Branch) -> dict[str, int]:
    with net.engine.connect() as conn:
        rows = conn.execute(
            select(st.nonces.c.nonce, st.nonces.c.at_ms).where(
                st.nonces.c.device_id == desk.device_id
            )
        )
        return {r.nonce: int(r.at_ms) for r in rows}


def add_nonce(net: Net, desk: Branch, nonce: str, age_ms: int) -> None:
    with net.engine.begin() as conn:
        conn.execute(
            insert(st.nonces).values(
                device_id=desk.device_id, nonce=nonce, at_ms=int(time.time() * 1000) - age_ms
            )
        )


def test_old_nonces_are_pruned_and_a_replay_is_still_refused(net: Net) -> None:
    """GIVEN a nonce older than twice the freshness window (no request can carry it any
    more) and one a little older than one window (a request signed ahead of the server's
    clock still can), and a push the server took
    WHEN pruning is due and a signed request comes
    THEN the old nonce is deleted, the other is kept; the push replayed byte for byte
    afterwards is still 401 replayed; pruning runs at most once a minute: an old nonce
    added right after stays until the next."""
    desk = setup_desk(net)
    server = server_of(net)
    keep_ms = server_app.NONCE_KEEP_MS
    assert keep_ms >= 2 * auth.WINDOW_MS
    body = push_body(desk, 2)
    headers = {**signed_for(desk, "POST", "/v1/events", body), "Content-Type": "application/json"}
    url = net.server.url + "/v1/events"
    assert requests.post(url, data=body, headers=headers, timeout=30).status_code == 200
    add_nonce(net, desk, "old", keep_ms + 60_000)
    add_nonce(net, desk, "recent", auth.WINDOW_MS + 60_000)

    server._prune_next = 0.0  # due now
    assert head_of(net, desk) > 0
    rows = nonce_rows(net, desk)
    assert "old" not in rows and "recent" in rows
    assert headers[auth.HEADER_NONCE] in rows
    refused(requests.post(url, data=body, headers=headers, timeout=30), 401, "replayed")

    add_nonce(net, desk, "old-again", keep_ms + 60_000)
    assert head_of(net, desk) > 0
    assert "old-again" in nonce_rows(net, desk)  # not due again within the minute


def test_a_rate_limited_enrolment_is_named_at_once(net: Net, tmp_path: Any) -> None:
    """GIVEN a branch locked out of enrolment after repeated failures
    WHEN branch IT runs the enrolment of a desk (the real client, with its retries)
    THEN it fails at once with the rate limit's message, instead of sleeping through a
    Retry-After of minutes."""
    from core.services.branch import Branch
    from core.services.sync import enroll
    from core.sync.errors import ServerRefused

    target = net.branch()
    for n in range(limits.ENROL_FAILURES):
        refused(enrol(net, f"BAD2-0000-0000-{n:04d}", target, f"10.6.6.{n}"), 403, "bad-code")
    desk = Branch.init(tmp_path / "desk", target, "x", ("admin", "admin-pass-1"))
    started = time.monotonic()
    with pytest.raises(ServerRefused) as err:
        enroll(desk, net.server.url, net.code(target))
    assert err.value.status == 429 and err.value.problem["title"] == "too-many-attempts"
    assert time.monotonic() - started < limits.ENROL_WINDOW_S / 10  # no sleeping it through
    desk.close()
