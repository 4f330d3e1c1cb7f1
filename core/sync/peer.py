"""LAN peers: the signed version-vector exchange served desktop to desktop.

A desktop serves, over plain HTTP on the LAN (``http.server``, no web framework), the same
exchange the central server offers:

- ``GET /v1/peer`` (no auth): who I am — protocol, branch, device id, public key;
- ``POST /v1/vector``: my vector, and the events above the caller's;
- ``POST /v1/events``: events pushed by the caller, applied through the same checks as
  anything received from the server (contiguity, chain links, hashes, signatures);
- ``POST /v1/blobs/held`` and ``GET /v1/blobs/{sha256}``: the scans the caller's events
  refer to (``core.sync.peer_blobs``); an exchange ends by fetching those it lacks.

Every request is signed by the caller's device key (``core.sync.auth``) and is accepted
only from a known, unrevoked device of this branch (the device list comes from the
centre); stale or replayed requests are refused. Every answer is signed too, over the
request's nonce, so the caller knows it speaks with the peer it meant to.

The server is a bounded pool: one thread accepts connections and queues them for
``POOL_SIZE`` worker threads; it holds at most ``POOL_SIZE + QUEUE_SIZE`` connections
(served or waiting), and answers any other ``503`` at once (unsigned: nothing of it was
read) and closes it. Every connection has ``TIMEOUT_S`` for a request's headers and body,
counted from its accept (its wait in the queue included), and again for writing each
answer; a kept-alive connection waits at most ``KEEP_ALIVE_S`` for its next request. A
watchdog in the accepting loop shuts down connections past their deadline, so a client
that sends a request byte by byte cannot hold a worker either: many slow clients cost a
bounded number of threads, and nothing once the timeout has passed.

This module knows the protocol, not the store: it talks to a :class:`PeerReplica`
(implemented by ``core.services.peers`` over the local store).
"""

from __future__ import annotations

import io
import json
import logging
import math
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Protocol

import requests
from pydantic import ValidationError as PydanticError

from core.domain import authority
from core.domain.errors import N_, MotcuaError, ValidationError
from core.domain.events import Event, check_json_subset
from core.domain.signing import DeviceKey, fingerprint, verify_signature
from core.i18n import language_of

from . import auth, peer_units
from .agent import IngestSummary
from .client import Credentials, FileSlice, RetryPolicy, SyncClient, retry_after_seconds
from .errors import ProtocolError, ServerRefused, SyncError, Unreachable
from .peer_blobs import (
    BLOBS_PATH,
    HEADER_SIZE,
    HELD_PATH,
    BlobSource,
    ServedBlob,
    TransferSlots,
    blob_reply_message,
    fetch_blobs,
    held,
    served_blob,
)
from .peer_wire import (
    HEADER_REPLY,
    PeerBusy,
    PeerRefusal,
    parse_request,
    reply_message,
)
from .wire import (
    MAX_BODY,
    MAX_PULL_EVENTS,
    PEER_PROTOCOL,
    PeerInfo,
    PushRequest,
    PushResponse,
    PushResult,
    PushStatus,
    TransferItem,
    VectorRequest,
    VectorResponse,
)

PEER_PAGE = 2000

# The bounded pool (read when a server starts, or at each use: tests may lower them).
POOL_SIZE = 8  # worker threads serving connections
QUEUE_SIZE = 16  # accepted connections waiting for a worker; beyond: 503 at once
TIMEOUT_S = 15.0  # a request's headers and body; writing an answer
KEEP_ALIVE_S = 5.0  # a kept-alive connection's wait for its next request
BUSY_RETRY_S = 1  # the Retry-After of the 503 of a full queue
BUSY_WAIT_S = 5.0  # the most a client waits on a busy peer's (unsigned) Retry-After
LISTEN_BACKLOG = 128
WATCH_S = 0.25  # how often the accepting thread looks for connections past their deadline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownDevice:
    device_id: str
    branch: str
    public_key: str
    revoked: bool


class PeerReplica(Protocol):
    """What the peer server and client need of the local store."""

    device_id: str
    branch: str
    key: DeviceKey

    def known_device(self, device_id: str) -> KnownDevice | None: ...

    def vector(self) -> dict[str, int]: ...

    def events_for_peer(self, vector: dict[str, int], limit: int) -> tuple[list[Event], bool]: ...

    def ingest_from_peer(self, events: Sequence[Event]) -> IngestSummary: ...

    def peer_seen(self, address: str, device_id: str, error: SyncError | None) -> None:
        """The outcome of an exchange with `address`: kept as the error's message and
        parameters, so that it is shown in the language of whoever reads it."""

    # Scans (``core.sync.peer_blobs``): served, and fetched.
    def servable_blob(self, sha256: str) -> Path | None: ...

    def wanted_blobs(self) -> list[str]: ...

    def partial_blob(self, sha256: str) -> Path: ...

    def complete_blob(
        self, sha256: str, *, durable: bool = True, digest: str | None = None
    ) -> None: ...

    # Peers of another unit (``core.sync.peer_units``).
    def centre_key(self) -> str | None: ...

    def own_enrolment(self) -> dict[str, Any] | None: ...

    def introduced_device(self, enrolment: Mapping[str, Any]) -> KnownDevice | None:
        """A desk of another unit, as the centre's enrolment it sent vouches for it."""
        ...

    def messages_for(self, unit: str) -> list[TransferItem]: ...

    def receive_transfers_from_peer(
        self, items: Sequence[TransferItem]
    ) -> tuple[int, list[str]]: ...

    def servable_blob_for(self, sha256: str, unit: str) -> Path | None: ...


class NonceCache:
    """Nonces seen within the signature window: a second use is a replay."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def first_use(self, device_id: str, nonce: str, now_ms: int) -> bool:
        with self._lock:
            if len(self._seen) > 10000:
                cutoff = now_ms - 2 * auth.WINDOW_MS
                self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
            if (device_id, nonce) in self._seen:
                return False
            self._seen[(device_id, nonce)] = now_ms
            return True


def info_of(replica: PeerReplica) -> PeerInfo:
    return PeerInfo(
        protocol=PEER_PROTOCOL,
        branch=replica.branch,
        device_id=replica.device_id,
        public_key=replica.key.public_b64,
        fingerprint=fingerprint(replica.key.public_b64),
        enrolment=replica.own_enrolment(),
    )


class PeerServer:
    """The exchange served to the LAN. ``start()`` runs it on a daemon thread."""

    def __init__(
        self,
        replica: PeerReplica,
        host: str = "0.0.0.0",
        port: int = 0,
        *,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.replica = replica
        self.clock_ms = clock_ms
        self.nonces = NonceCache()
        busy = PeerRefusal(
            503, "busy", N_("This desktop is busy serving other peers: try again shortly")
        )
        self.httpd = PooledHTTPServer((host, port), _handler_for(self), _busy_answer(busy))
        self.blob_slots = TransferSlots()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> PeerServer:
        self.httpd.start_workers()
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(WATCH_S,), name="motcua-peer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # --- the calls ---------------------------------------------------------------------
    def authenticate(
        self, headers: Mapping[str, str], method: str, path: str, body: bytes
    ) -> KnownDevice:
        """The caller, or a refusal (401 unknown/bad/replayed, 403 another branch — save a
        desk of another unit, introduced by its enrolment, on the calls it may make)."""
        signed = auth.read_headers(headers)
        if signed is None:
            raise PeerRefusal(
                401, "unsigned", N_("The request is not signed by an enrolled device")
            )
        now = self.clock_ms()
        if not auth.fresh(signed, now):
            raise PeerRefusal(
                401, "stale", N_("The request's time is too far from this desktop's clock")
            )
        device = self._caller(signed.device_id, headers)
        if device.revoked:
            raise PeerRefusal(
                401, "revoked", N_("Device {device} is revoked"), device=device.device_id
            )
        if not auth.verify_request(signed, device.public_key, method, path, body):
            raise PeerRefusal(
                401, "bad-request-signature", N_("The request signature does not verify")
            )
        if device.branch != self.replica.branch and not peer_units.may_call(path, method):
            raise PeerRefusal(
                403,
                "wrong-branch",
                N_("Device {device} is of branch {branch}"),
                device=device.device_id,
                branch=device.branch,
            )
        if not self.nonces.first_use(device.device_id, signed.nonce, now):
            raise PeerRefusal(401, "replayed", N_("This request was already received (replayed)"))
        return device

    def _caller(self, device_id: str, headers: Mapping[str, str]) -> KnownDevice:
        device = self.replica.known_device(device_id)
        introduced = _header(headers, peer_units.HEADER_ENROLMENT)
        if device is None and introduced:
            enrolment = peer_units.read_introduction(introduced)
            device = self.replica.introduced_device(enrolment)
            if device is not None and device.device_id != device_id:
                device = None
        if device is None:
            raise PeerRefusal(
                401, "unknown-device", N_("Unknown device {device}"), device=device_id[:64]
            )
        return device

    def blobs_for(self, caller: KnownDevice) -> BlobSource:
        """The scans `caller` may fetch: its branch's, or those sent to its unit."""
        if caller.branch == self.replica.branch:
            return self.replica
        return peer_units.UnitBlobs(self.replica, caller.branch)

    def vector(self, body: bytes) -> bytes:
        request = parse_request(VectorRequest, body)
        if request.scope != self.replica.branch:
            raise PeerRefusal(
                403, "wrong-scope", N_("Scope {scope} is not this branch"), scope=request.scope
            )
        limit = min(request.limit, MAX_PULL_EVENTS)
        events, more = self.replica.events_for_peer(dict(request.vector), limit)
        head = json.dumps(
            {"scope": self.replica.branch, "vector": self.replica.vector(), "more": more}
        )
        wire = ",".join(json.dumps(e.to_wire(), ensure_ascii=False) for e in events)
        return (head[:-1] + ',"events":[' + wire + "]}").encode()

    def push(self, body: bytes) -> bytes:
        request = parse_request(PushRequest, body)
        events = [e.to_event() for e in request.events]
        for event in events:
            if not in_scope(event, self.replica.branch):
                raise PeerRefusal(
                    403,
                    "wrong-branch",
                    N_("Event {event} is of branch {branch}"),
                    event=event.event_id,
                    branch=event.branch,
                )
            try:
                check_json_subset(event.payload)
            except ValidationError as err:
                raise PeerRefusal(422, "malformed-event", err.message, **err.params) from None
        before = self.replica.vector()
        try:
            summary = self.replica.ingest_from_peer(events)
        except MotcuaError as err:
            raise PeerRefusal(409, "refused-events", err.message, **err.params) from None
        after = self.replica.vector()
        results = [_result(e, before, after) for e in events]
        answer = PushResponse(
            accepted=summary.accepted, duplicates=summary.duplicates, results=results
        )
        return answer.model_dump_json().encode()


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")


NATIONAL_CHAIN = authority.CENTRE_PREFIX + authority.GLOBAL_SCOPE


def in_scope(event: Event, branch: str) -> bool:
    """Whether a LAN page may carry `event`: one of this branch, or of the centre's national
    chain. A desk's event of another scope is refused at the wire, as the server would:
    logged here, it could never reach the centre nor the branch's other desks but over
    the LAN, and the next events of its chain could not be relayed past it."""
    return event.branch == branch or event.origin_device == NATIONAL_CHAIN


def problem_body(refusal: PeerRefusal, language: str) -> bytes:
    return json.dumps(
        {
            "type": f"urn:motcua:problem:{refusal.kind}",
            "title": refusal.kind,
            "status": refusal.status,
            "detail": refusal.detail(language),
        },
        ensure_ascii=False,
    ).encode()


def _busy_answer(refusal: PeerRefusal) -> bytes:
    """The whole answer to a connection turned away (nothing of it read: Vietnamese)."""
    body = problem_body(refusal, language_of(None))
    head = (
        f"HTTP/1.1 {refusal.status} Service Unavailable\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {BUSY_RETRY_S}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class PooledHTTPServer(HTTPServer):
    """``http.server`` served by a fixed pool of workers from a bounded queue, with a
    deadline on every connection (see the module's docstring).

    The accepting thread (``serve_forever``) queues each connection with its deadline, or
    answers ``busy`` and closes it when ``capacity`` connections are held already (served
    or waiting, until their worker closes them); after each accept and every
    ``poll_interval`` it shuts down the connections past their deadline, which wakes the
    worker blocked on one. A worker's handler moves its connection's deadline: ``arm`` at
    each phase that waits for the client (the next request, the answer), ``disarm`` while
    the request is processed (the store's time is not the client's).
    """

    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], busy: bytes
    ) -> None:
        # Set before the bind: a bind that fails (the port is taken) calls
        # ``server_close``, which reads them, and its OSError must reach the caller.
        self.busy = busy
        self.pool_size = POOL_SIZE
        self.capacity = POOL_SIZE + QUEUE_SIZE  # connections held: being served or waiting
        self.pending: queue.Queue[tuple[socket.socket, Any] | None] = queue.Queue()
        self.workers: list[threading.Thread] = []
        self._deadlines: dict[socket.socket, float] = {}  # every connection held
        self._expired: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, handler)

    def start_workers(self) -> None:
        for n in range(self.pool_size):
            worker = threading.Thread(target=self._work, name=f"motcua-peer-{n}", daemon=True)
            worker.start()
            self.workers.append(worker)

    # --- the accepting thread ---------------------------------------------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        connection: socket.socket = request
        with self._lock:
            taken = len(self._deadlines) + len(self._expired) < self.capacity
            if taken:  # its deadline runs from the accept: the wait in the queue counts
                self._deadlines[connection] = time.monotonic() + TIMEOUT_S
        if taken:
            self.pending.put((connection, client_address))
        else:
            self._turn_away(connection)

    def _turn_away(self, connection: socket.socket) -> None:
        """Answer ``busy`` without waiting for anything, and close."""
        try:
            # A client already gone needs no answer: any socket error ends it quietly.
            with suppress(OSError):
                connection.setblocking(False)
                with suppress(OSError):  # read what came already: fewer resets first
                    for _ in range(4):
                        if not connection.recv(65536):
                            break
                connection.send(self.busy)
        finally:
            self.shutdown_request(connection)

    def service_actions(self) -> None:
        """Shut down every connection past its deadline (its worker wakes on EOF)."""
        now = time.monotonic()
        with self._lock:
            late = [c for c, deadline in self._deadlines.items() if deadline <= now]
            for connection in late:
                del self._deadlines[connection]
                self._expired.add(connection)
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    # --- the workers ------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self.pending.get()
            if item is None:
                return
            connection, address = item
            try:
                if not self.expired(connection):
                    self.finish_request(connection, address)
            except Exception:
                self.handle_error(connection, address)
            finally:
                self.forget(connection)
                self.shutdown_request(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # a client gone, a connection cut
            log.debug("peer connection from %s ended", client_address, exc_info=True)
        else:
            log.exception("peer request from %s failed", client_address)

    # --- deadlines --------------------------------------------------------------------
    def arm(self, connection: socket.socket, seconds: float) -> None:
        with self._lock:
            if connection not in self._expired:
                self._deadlines[connection] = time.monotonic() + seconds

    def disarm(self, connection: socket.socket) -> None:
        with self._lock:
            if connection in self._deadlines:
                self._deadlines[connection] = math.inf

    def expired(self, connection: socket.socket) -> bool:
        with self._lock:
            return connection in self._expired

    def forget(self, connection: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(connection, None)
            self._expired.discard(connection)

    def held(self) -> int:
        """Connections queued or being served (for tests and diagnostics)."""
        with self._lock:
            return len(self._deadlines) + len(self._expired)

    def server_close(self) -> None:
        """Close the listening socket, every connection held, and stop the workers."""
        super().server_close()
        with self._lock:
            for connection in self._deadlines:
                self._expired.add(connection)
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._deadlines.clear()
        while True:  # the connections still queued
            try:
                item = self.pending.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.forget(item[0])
                self.shutdown_request(item[0])
        workers, self.workers = self.workers, []
        for _ in workers:
            self.pending.put(None)
        for worker in workers:
            worker.join(5)


def _handler_for(server: PeerServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "motcua-peer"
        served = False  # a request was answered on this connection

        @property
        def pool(self) -> PooledHTTPServer:
            assert isinstance(self.server, PooledHTTPServer)
            return self.server

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def setup(self) -> None:
            super().setup()
            self.connection.settimeout(TIMEOUT_S)
            # An answer is written as headers then body: without this, Nagle holds the
            # body until the caller's delayed ACK of the headers (40 ms a call on Linux).
            with suppress(OSError):
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def handle_one_request(self) -> None:
            if self.served and not self._next_request_comes():
                self.close_connection = True
                return
            self.served = True
            super().handle_one_request()

        def _next_request_comes(self) -> bool:
            """A kept-alive connection: wait up to KEEP_ALIVE_S for a next request's first
            byte; then it has TIMEOUT_S for its headers and body."""
            wait = min(KEEP_ALIVE_S, TIMEOUT_S)
            self.pool.arm(self.connection, wait)
            self.connection.settimeout(wait)
            reader = self.rfile
            try:
                waiting = reader.peek(1) if isinstance(reader, io.BufferedReader) else b"-"
            except OSError:
                return False
            if not waiting or self.pool.expired(self.connection):
                return False
            self.connection.settimeout(TIMEOUT_S)
            self.pool.arm(self.connection, TIMEOUT_S)
            return True

        def _body(self, length: int) -> bytes | None:
            """The request's body, or ``None`` when it did not arrive whole in time."""
            try:
                body = self.rfile.read(length)
            except OSError:
                return None
            if len(body) != length or self.pool.expired(self.connection):
                return None
            self.pool.disarm(self.connection)  # processing: not the client's time
            return body

        def do_GET(self) -> None:
            if self.path == "/v1/peer":
                self._answer(200, info_of(server.replica).model_dump_json().encode(), "")
                return
            headers = dict(self.headers.items())
            signed = auth.read_headers(headers)
            nonce = signed.nonce if signed else ""
            try:
                if not self.path.startswith(BLOBS_PATH):
                    raise PeerRefusal(404, "not-found", N_("No such call"))
                self.pool.disarm(self.connection)  # processing: not the client's time
                caller = server.authenticate(headers, "GET", self.path, b"")
                source = server.blobs_for(caller)
                blob = served_blob(source, self.path, self.headers.get("Range"))
                with server.blob_slots.slot():
                    self._send_blob(blob, nonce)
            except PeerRefusal as refusal:
                self._refuse(refusal, nonce)

        def _send_blob(self, blob: ServedBlob, nonce: str) -> None:
            """The bytes, a piece at a time; the deadline re-armed for each, so a reader
            that stops frees this worker and the transfer slot after TIMEOUT_S."""
            self.pool.arm(self.connection, TIMEOUT_S)
            self.send_response(blob.status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(blob.size - blob.offset))
            self.send_header(HEADER_SIZE, str(blob.size))
            if blob.offset:
                span = f"bytes {blob.offset}-{blob.size - 1}/{blob.size}"
                self.send_header("Content-Range", span)
            message = blob_reply_message(blob.status, nonce, blob.sha256, blob.offset, blob.size)
            self.send_header(HEADER_REPLY, server.replica.key.sign(message))
            self.end_headers()
            sent = blob.offset
            for piece in blob.pieces():
                self.pool.arm(self.connection, TIMEOUT_S)
                self.wfile.write(piece)
                sent += len(piece)
            if sent != blob.size:  # the file shrank: the length announced is not met
                self.close_connection = True

        def do_POST(self) -> None:
            nonce = ""
            try:
                length = self.headers.get("Content-Length", "0")
                if not length.isdigit() or int(length) > MAX_BODY:
                    self.close_connection = True
                    raise PeerRefusal(413, "too-large", N_("The request body is too large"))
                body = self._body(int(length))
                if body is None:
                    self.close_connection = True
                    return
                headers = dict(self.headers.items())
                signed = auth.read_headers(headers)
                nonce = signed.nonce if signed else ""
                caller = server.authenticate(headers, "POST", self.path, body)
                if self.path == "/v1/vector":
                    answer = server.vector(body)
                elif self.path == "/v1/events":
                    answer = server.push(body)
                elif self.path == HELD_PATH:
                    answer = held(server.blobs_for(caller), body)
                elif self.path == peer_units.TRANSFERS_PATH:
                    answer = peer_units.handed(server.replica, body)
                else:
                    raise PeerRefusal(404, "not-found", N_("No such call"))
            except PeerRefusal as refusal:
                self._refuse(refusal, nonce)
                return
            self._answer(200, answer, nonce)

        def _refuse(self, refusal: PeerRefusal, nonce: str) -> None:
            language = language_of(self.headers.get("Accept-Language"))
            self._answer(
                refusal.status, problem_body(refusal, language), nonce, "application/problem+json"
            )

        def _answer(
            self, status: int, body: bytes, nonce: str, kind: str = "application/json"
        ) -> None:
            self.pool.arm(self.connection, TIMEOUT_S)  # the client's time again: to read it
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if nonce:
                signature = server.replica.key.sign(reply_message(status, nonce, body))
                self.send_header(HEADER_REPLY, signature)
            if status == 503:
                self.send_header("Retry-After", str(BUSY_RETRY_S))
            self.end_headers()
            self.wfile.write(body)

    return Handler


# --- the client side ------------------------------------------------------------------------


class PeerClient(SyncClient):
    """A SyncClient that checks every signed answer against the peer's known key."""

    def __init__(
        self, base_url: str, credentials: Credentials, peer_key: str = "", **options: Any
    ) -> None:
        super().__init__(base_url, credentials, **options)
        self.peer_key = peer_key
        self.introduce = ""  # to a peer of another unit: the centre's enrolment of this desk

    def extra_headers(self) -> dict[str, str]:
        return {peer_units.HEADER_ENROLMENT: self.introduce} if self.introduce else {}

    def request(self, method: str, path: str, **options: Any) -> requests.Response:
        try:
            return super().request(method, path, **options)
        except ServerRefused as err:
            if err.status == 503:  # its detail is not signed: not shown
                raise PeerBusy(self.base_url) from None
            raise

    def info(self) -> PeerInfo:
        attempt = 0
        while True:
            try:
                response = self.session.get(self.base_url + "/v1/peer", timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as err:
                raise Unreachable(self.base_url, type(err).__name__) from None
            if response.status_code != 503:
                break
            response.close()
            if attempt + 1 >= self.retry.attempts:
                raise PeerBusy(self.base_url)
            self.retry.sleep(self.retry.delay(attempt, _busy_wait(response)))
            attempt += 1
        if response.status_code != 200:
            raise ProtocolError(N_("The address {url} is not a Một Cửa peer"), url=self.base_url)
        try:
            return PeerInfo.model_validate_json(response.content)
        except PydanticError:
            raise ProtocolError(
                N_("The address {url} is not a Một Cửa peer"), url=self.base_url
            ) from None

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | FileSlice,
        headers: Mapping[str, str] | None,
        stream: bool,
        timeout: tuple[float, float] | None,
    ) -> requests.Response:
        assert self.credentials is not None
        if isinstance(body, FileSlice):  # peers move events only: no streamed bodies
            body = b"".join(bytes(piece) for piece in body)
        signed = auth.sign_request(
            self.credentials.key,
            self.credentials.device_id,
            method,
            target,
            body,
            self.clock_ms(),
        )
        response = self.session.request(
            method,
            self.base_url + target,
            data=body or None,
            headers={**(headers or {}), **self.extra_headers(), **signed},
            timeout=timeout or self.timeout,
        )
        reply = response.headers.get(HEADER_REPLY, "")
        if response.status_code == 503 and not reply:
            # Turned away before the request was read (its queue was full): nothing to
            # sign over. Retried like any 503, after at most BUSY_WAIT_S whatever it asks.
            response.headers["Retry-After"] = str(_busy_wait(response))
            return response
        message = reply_message(response.status_code, signed[auth.HEADER_NONCE], response.content)
        if not reply or not verify_signature(self.peer_key, reply, message):
            response.close()
            raise ProtocolError(
                N_("The peer {url} did not sign its answer with the key of its device"),
                url=self.base_url,
            )
        return response


def _busy_wait(response: requests.Response) -> float:
    """How long to wait on a busy peer: its Retry-After, unsigned, so at most BUSY_WAIT_S."""
    asked = retry_after_seconds(response.headers.get("Retry-After"))
    return min(BUSY_RETRY_S if asked is None else asked, BUSY_WAIT_S)


@dataclass(frozen=True)
class PeerSummary:
    peer: str
    device_id: str
    received: int = 0
    applied: int = 0
    sent: int = 0
    accepted: int = 0
    dossiers: frozenset[str] = frozenset()
    blobs: int = 0  # scans fetched from the peer
    blob_bytes: int = 0
    unit: str = ""  # a peer of another unit: its unit (only messages and scans cross)
    handed: int = 0  # messages of transfers handed to a peer of another unit, kept by it

    def as_dict(self) -> dict[str, object]:
        return {
            "peer": self.peer,
            "device_id": self.device_id,
            "received": self.received,
            "applied": self.applied,
            "sent": self.sent,
            "accepted_by_peer": self.accepted,
            "dossiers_changed": len(self.dossiers),
            "blobs_received": self.blobs,
            "bytes_received": self.blob_bytes,
            **({"unit": self.unit, "messages_handed": self.handed} if self.unit else {}),
        }


def peer_url(address: str) -> str:
    """``HOST:PORT`` (or a URL) as the base URL of a peer."""
    if address.startswith(("http://", "https://")):
        return address.rstrip("/")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host or not 0 < int(port) < 65536:
        raise ProtocolError(N_("A peer address is HOST:PORT, not {address}"), address=address)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _result(event: Event, before: Mapping[str, int], after: Mapping[str, int]) -> PushResult:
    """What became of one pushed event: taken, already held, or refused by the authority
    table (with the rest of its origin's events after it)."""
    seq = event.origin_seq
    if seq <= before.get(event.origin_device, 0):
        status: PushStatus = "duplicate"
    elif seq <= after.get(event.origin_device, 0):
        status = "accepted"
    else:
        status = "rejected"
    return PushResult(
        event_id=event.event_id,
        origin_device=event.origin_device,
        origin_seq=seq,
        status=status,
    )


def exchange_with_peer(
    replica: PeerReplica,
    address: str,
    *,
    expected_device: str = "",
    expected_fingerprint: str = "",
    timeout: tuple[float, float] = (3.0, 30.0),
) -> PeerSummary:
    """One full exchange with a peer: pull what it has above my vector, push what it lacks.

    The peer must be a known, unrevoked device of my branch whose key matches what it
    announces; every answer it sends is checked against that key.
    """
    url = peer_url(address)
    try:
        summary = _exchange(replica, url, expected_device, expected_fingerprint, timeout)
    except SyncError as err:
        replica.peer_seen(address, expected_device, err)
        raise
    replica.peer_seen(address, summary.device_id, None)
    return summary


def _exchange(
    replica: PeerReplica,
    url: str,
    expected_device: str,
    expected_fingerprint: str,
    timeout: tuple[float, float],
) -> PeerSummary:
    credentials = Credentials(replica.device_id, replica.key)
    retry = RetryPolicy(attempts=2, base_s=0.2)
    client = PeerClient(url, credentials, timeout=timeout, retry=retry)
    try:
        return _exchange_through(client, replica, url, expected_device, expected_fingerprint)
    finally:
        client.session.close()  # the kept-alive connection holds one of the peer's workers


def _exchange_through(
    client: PeerClient,
    replica: PeerReplica,
    url: str,
    expected_device: str,
    expected_fingerprint: str,
) -> PeerSummary:
    info = client.info() if not expected_device else None
    device_id = expected_device or (info.device_id if info else "")
    known = replica.known_device(device_id)
    if known is None or known.branch != replica.branch:
        info = info or client.info()
        if info.branch != replica.branch:  # a desk of another unit: transfers only
            return _exchange_with_unit(client, replica, url, info, expected_fingerprint)
    if known is None:
        raise ProtocolError(
            N_("The peer {device} is not a device this desktop knows: sync with the server first"),
            device=device_id[:64],
        )
    if known.branch != replica.branch:
        raise ProtocolError(
            N_("The peer {device} belongs to branch {branch}, not this one"),
            device=device_id,
            branch=known.branch,
        )
    if known.revoked:
        raise ProtocolError(N_("The peer {device} is revoked"), device=device_id)
    if expected_fingerprint and fingerprint(known.public_key) != expected_fingerprint:
        raise ProtocolError(
            N_("The peer {device} announces a key that is not its enrolled one"), device=device_id
        )
    client.peer_key = known.public_key
    received = applied = 0
    dossiers: set[str] = set()
    while True:  # pull: what it has above my vector
        answer: VectorResponse = client.exchange(replica.branch, replica.vector(), PEER_PAGE)
        try:
            events = [e.to_event() for e in answer.events]
            for event in events:
                if not in_scope(event, replica.branch):
                    raise ProtocolError(
                        N_("Event {event} is of branch {branch}"),
                        event=event.event_id,
                        branch=event.branch,
                    )
                check_json_subset(event.payload)  # as the server's wire checks it
            result = replica.ingest_from_peer(events) if events else None
        except SyncError:
            raise
        except MotcuaError as err:  # a page this desk refuses: this exchange fails, not
            # the round (``sync_peers`` goes on to the next peer on a SyncError only)
            raise ProtocolError(err.message, **err.params) from err
        if result is not None:
            received += len(events)
            applied += result.accepted
            dossiers |= result.dossiers
        if not answer.more or not events or result is None or result.accepted == 0:
            break  # nothing new taken (what the table refuses comes again): stop here
    theirs = dict(answer.vector)
    sent = accepted = 0
    while True:  # push: what I have above its vector
        batch, _more = replica.events_for_peer(theirs, PEER_PAGE)
        if not batch:
            break
        pushed = client.push(batch)
        sent += len(batch)
        accepted += pushed.accepted
        for event in batch:
            theirs[event.origin_device] = max(theirs.get(event.origin_device, 0), event.origin_seq)
    scans = fetch_blobs(client, replica)  # those its events (and mine) refer to
    return PeerSummary(
        peer=url,
        device_id=device_id,
        received=received,
        applied=applied,
        sent=sent,
        accepted=accepted,
        dossiers=frozenset(dossiers),
        blobs=scans.blobs,
        blob_bytes=scans.bytes,
    )


def _exchange_with_unit(
    client: PeerClient,
    replica: PeerReplica,
    url: str,
    info: PeerInfo,
    expected_fingerprint: str,
) -> PeerSummary:
    """With a desk of another unit: hand it the messages of the transfers addressed to its
    unit, then fetch the scans its unit sent this one (``core.sync.peer_units``)."""
    key = peer_units.peer_key_of(info, replica.centre_key())
    if expected_fingerprint and fingerprint(key) != expected_fingerprint:
        raise ProtocolError(
            N_("The peer {device} announces a key that is not its enrolled one"),
            device=info.device_id,
        )
    mine = replica.own_enrolment()
    if mine is None:
        raise ProtocolError(
            N_("This desktop is not enrolled: it cannot check a desk of another unit")
        )
    client.peer_key = key
    client.introduce = peer_units.introduction(mine)
    handed = peer_units.hand_messages(client, replica.messages_for(info.branch))
    scans = fetch_blobs(client, replica)
    return PeerSummary(
        peer=url,
        device_id=info.device_id,
        blobs=scans.blobs,
        blob_bytes=scans.bytes,
        unit=info.branch,
        handed=handed,
    )
