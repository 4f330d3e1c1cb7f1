"""LAN peers: the signed version-vector exchange served desktop to desktop.

A desktop serves, over plain HTTP on the LAN (``http.server``, no web framework), the same
exchange the central server offers:

- ``GET /v1/peer`` (no auth): who I am — protocol, branch, device id, public key;
- ``POST /v1/vector``: my vector, and the events above the caller's;
- ``POST /v1/events``: events pushed by the caller, applied through the same checks as
  anything received from the server (contiguity, chain links, hashes, signatures).

Every request is signed by the caller's device key (``core.sync.auth``) and is accepted
only from a known, unrevoked device of this branch (the device list comes from the
centre); stale or replayed requests are refused. Every answer is signed too, over the
request's nonce, so the caller knows it speaks with the peer it meant to.

This module knows the protocol, not the store: it talks to a :class:`PeerReplica`
(implemented by ``core.services.peers`` over the local store).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import requests
from pydantic import ValidationError as PydanticError

from core.domain.errors import N_, MotcuaError
from core.domain.events import Event
from core.domain.signing import DeviceKey, fingerprint, verify_signature
from core.i18n import language_of, translations

from . import auth
from .agent import IngestSummary
from .client import Credentials, FileSlice, RetryPolicy, SyncClient
from .errors import ProtocolError, SyncError, Unreachable
from .wire import (
    MAX_BODY,
    MAX_PULL_EVENTS,
    PEER_PROTOCOL,
    PeerInfo,
    PushRequest,
    PushResponse,
    PushResult,
    VectorRequest,
    VectorResponse,
)

HEADER_REPLY = "X-Motcua-Reply-Signature"
PEER_PAGE = 2000


def reply_message(status: int, nonce: str, body: bytes) -> bytes:
    """What a peer signs in its answer: bound to the request's nonce and the body."""
    digest = hashlib.sha256(body).hexdigest()
    return f"motcua-v1-reply\n{status}\n{nonce}\n{digest}".encode()


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

    def peer_seen(self, address: str, device_id: str, error: str) -> None: ...


class PeerRefusal(Exception):
    """A refused peer call: its problem detail is a catalogue message (``N_``), written in
    the caller's language (``Accept-Language``; Vietnamese by default)."""

    def __init__(self, status: int, kind: str, message: str, /, **params: object) -> None:
        # Positional-only: a message's own parameters may be named kind or status.
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.params = params

    def detail(self, language: str) -> str:
        text = translations(language).gettext(self.message)
        return text.format(**self.params) if self.params else text


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
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> PeerServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="motcua-peer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # --- the calls ---------------------------------------------------------------------
    def authenticate(self, headers: Mapping[str, str], method: str, path: str, body: bytes) -> str:
        """The caller's device id, or a refusal (401 unknown/bad/replayed, 403 other branch)."""
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
        device = self.replica.known_device(signed.device_id)
        if device is None:
            raise PeerRefusal(
                401, "unknown-device", N_("Unknown device {device}"), device=signed.device_id[:64]
            )
        if device.revoked:
            raise PeerRefusal(
                401, "revoked", N_("Device {device} is revoked"), device=device.device_id
            )
        if not auth.verify_request(signed, device.public_key, method, path, body):
            raise PeerRefusal(
                401, "bad-request-signature", N_("The request signature does not verify")
            )
        if device.branch != self.replica.branch:
            raise PeerRefusal(
                403,
                "wrong-branch",
                N_("Device {device} is of branch {branch}"),
                device=device.device_id,
                branch=device.branch,
            )
        if not self.nonces.first_use(device.device_id, signed.nonce, now):
            raise PeerRefusal(401, "replayed", N_("This request was already received (replayed)"))
        return device.device_id

    def vector(self, body: bytes) -> bytes:
        request = _parse(VectorRequest, body)
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
        request = _parse(PushRequest, body)
        events = [e.to_event() for e in request.events]
        for event in events:
            if event.branch not in (self.replica.branch, "*"):
                raise PeerRefusal(
                    403,
                    "wrong-branch",
                    N_("Event {event} is of branch {branch}"),
                    event=event.event_id,
                    branch=event.branch,
                )
        before = self.replica.vector()
        try:
            summary = self.replica.ingest_from_peer(events)
        except MotcuaError as err:
            raise PeerRefusal(409, "refused-events", err.message, **err.params) from None
        results = [
            PushResult(
                event_id=e.event_id,
                origin_device=e.origin_device,
                origin_seq=e.origin_seq,
                status="accepted" if e.origin_seq > before.get(e.origin_device, 0) else "duplicate",
            )
            for e in events
        ]
        answer = PushResponse(
            accepted=summary.accepted, duplicates=len(events) - summary.accepted, results=results
        )
        return answer.model_dump_json().encode()


def _parse(model: Any, body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except PydanticError as err:
        raise PeerRefusal(
            422, "invalid", N_("The request is not valid: {detail}"), detail=str(err)[:300]
        ) from None


def _handler_for(server: PeerServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "motcua-peer"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            if self.path == "/v1/peer":
                self._answer(200, info_of(server.replica).model_dump_json().encode(), "")
            else:
                self._refuse(PeerRefusal(404, "not-found", N_("No such call")), "")

        def do_POST(self) -> None:
            nonce = ""
            try:
                length = self.headers.get("Content-Length", "0")
                if not length.isdigit() or int(length) > MAX_BODY:
                    self.close_connection = True
                    raise PeerRefusal(413, "too-large", N_("The request body is too large"))
                body = self.rfile.read(int(length))
                headers = dict(self.headers.items())
                signed = auth.read_headers(headers)
                nonce = signed.nonce if signed else ""
                server.authenticate(headers, "POST", self.path, body)
                if self.path == "/v1/vector":
                    answer = server.vector(body)
                elif self.path == "/v1/events":
                    answer = server.push(body)
                else:
                    raise PeerRefusal(404, "not-found", N_("No such call"))
            except PeerRefusal as refusal:
                self._refuse(refusal, nonce)
                return
            self._answer(200, answer, nonce)

        def _refuse(self, refusal: PeerRefusal, nonce: str) -> None:
            body = json.dumps(
                {
                    "type": f"urn:motcua:problem:{refusal.kind}",
                    "title": refusal.kind,
                    "status": refusal.status,
                    "detail": refusal.detail(language_of(self.headers.get("Accept-Language"))),
                },
                ensure_ascii=False,
            ).encode()
            self._answer(refusal.status, body, nonce, "application/problem+json")

        def _answer(
            self, status: int, body: bytes, nonce: str, kind: str = "application/json"
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if nonce:
                signature = server.replica.key.sign(reply_message(status, nonce, body))
                self.send_header(HEADER_REPLY, signature)
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

    def info(self) -> PeerInfo:
        try:
            response = self.session.get(self.base_url + "/v1/peer", timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as err:
            raise Unreachable(self.base_url, type(err).__name__) from None
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
            headers={**(headers or {}), **signed},
            timeout=timeout or self.timeout,
        )
        reply = response.headers.get(HEADER_REPLY, "")
        message = reply_message(response.status_code, signed[auth.HEADER_NONCE], response.content)
        if not reply or not verify_signature(self.peer_key, reply, message):
            response.close()
            raise ProtocolError(
                N_("The peer {url} did not sign its answer with the key of its device"),
                url=self.base_url,
            )
        return response


@dataclass(frozen=True)
class PeerSummary:
    peer: str
    device_id: str
    received: int = 0
    applied: int = 0
    sent: int = 0
    accepted: int = 0
    dossiers: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, object]:
        return {
            "peer": self.peer,
            "device_id": self.device_id,
            "received": self.received,
            "applied": self.applied,
            "sent": self.sent,
            "accepted_by_peer": self.accepted,
            "dossiers_changed": len(self.dossiers),
        }


def peer_url(address: str) -> str:
    """``HOST:PORT`` (or a URL) as the base URL of a peer."""
    if address.startswith(("http://", "https://")):
        return address.rstrip("/")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ProtocolError(N_("A peer address is HOST:PORT, not {address}"), address=address)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


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
        replica.peer_seen(address, expected_device, str(err) or type(err).__name__)
        raise
    replica.peer_seen(address, summary.device_id, "")
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
    info = client.info() if not expected_device else None
    device_id = expected_device or (info.device_id if info else "")
    known = replica.known_device(device_id)
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
        events = [e.to_event() for e in answer.events]
        if events:
            result = replica.ingest_from_peer(events)
            received += len(events)
            applied += result.accepted
            dossiers |= result.dossiers
        if not answer.more or not events:
            break
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
    return PeerSummary(
        peer=url,
        device_id=device_id,
        received=received,
        applied=applied,
        sent=sent,
        accepted=accepted,
        dossiers=frozenset(dossiers),
    )
