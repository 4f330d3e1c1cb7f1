"""The HTTP API (``/v1``): enrolment, push, pull, vector exchange, blobs. OpenAPI at
``/openapi.json``. Every request after enrolment is signed by the device key
(``core.sync.auth``), and its device is known before its body is read (``Gate``); every
refusal is ``application/problem+json`` with a specific 4xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as Path_
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.domain.errors import N_, MotcuaError
from core.domain.events import Event
from core.i18n import language_of, translations
from core.sync import auth
from core.sync.blobs import PREFIX_HEADER
from core.sync.wire import (
    MAX_BODY,
    MAX_CHUNK,
    MAX_PULL_EVENTS,
    PROTOCOL_VERSION,
    BlobStatus,
    EnrolRequest,
    EnrolResponse,
    Health,
    MissingRequest,
    MissingResponse,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
    TransfersResponse,
    VectorRequest,
    VectorResponse,
)

from . import blobstore, console, identity, ingest, limits, logs, projections, reads
from . import schema as t
from . import transfers as between_units
from .db import Settings, make_engine, migrate
from .errors import Refusal
from .folder import Folder
from .updates import mount as mount_updates

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
_BATCH = 1 << 20
_EARLY = 8 << 20
_IDLE_S = 60.0  # a body silent this long is given up, 408 (a cut nobody reported, or a hold)
_ANONYMOUS_BODY = 16 * 1024  # the body of a request no device signs (enrolment) at most
# The console's catalogue upload (a session, not a device, signs it): a whole catalogue.
_CATALOGUE_UPLOAD = ("/console/reference/catalogue", 2 << 20)
_OPEN_PATHS = frozenset({"/v1/health", "/v1/enroll"})  # the routes no device signs
_WHO = "motcua.who"  # in the scope: the (signed headers, device) the gate identified
_GUESSES = frozenset({"bad-code", "expired-code"})  # enrolment failures that count
_PRUNE_EVERY_S = 60.0
# A request is fresh while its signed moment is within auth.WINDOW_MS of the server's
# clock, either side: its nonce, recorded at the server's moment, can be replayed for up
# to twice the window after that. Older nonces can never be replayed: they are pruned.
NONCE_KEEP_MS = 2 * auth.WINDOW_MS
_LOCK_WAIT_S = 30.0
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM: {}}}
    for code in (400, 401, 403, 404, 408, 409, 410, 413, 422, 426, 429, 503, 507)
}


def problem_response(request: Request, err: Refusal) -> JSONResponse:
    if logs.is_security(err.status, err.kind):
        _log_security(request, err)
    text = translations(language_of(request.headers.get("accept-language"))).gettext(err.message)
    detail = text.format(**err.params) if err.params else text
    body = {
        "type": f"urn:motcua:problem:{err.kind}",
        "title": err.kind,
        "status": err.status,
        "detail": detail,
        **err.extra,
    }
    return JSONResponse(body, status_code=err.status, media_type=PROBLEM, headers=err.headers)


def _log_security(request: Request, err: Refusal) -> None:
    who = request.scope.get(_WHO)
    logs.security(
        err.kind,
        err.status,
        method=request.method,
        path=request.url.path,
        client=request.client.host if request.client else None,
        device=who[1].device_id if who else None,
        rule=err.extra.get("rule"),
        detail=err.render(err.message),
    )


def too_large(limit: int) -> Refusal:
    return Refusal(413, "too-large", N_("The request body is too large"), extra={"limit": limit})


def busy(retry_after_s: int = 1) -> Refusal:
    return Refusal(
        429,
        "busy",
        N_("The server is busy: retry shortly"),
        headers={"Retry-After": str(retry_after_s)},
    )


def database_unavailable() -> Refusal:
    return Refusal(
        503,
        "unavailable",
        N_("The server's database is busy or unreachable: retry shortly"),
        headers={"Retry-After": "5"},
    )


class _Gone(Exception):
    """The client went away while its body was read: there is nobody to answer."""


def signed_route(scope: Scope) -> bool:
    """Every route of the API but the health check and enrolment is signed by a device."""
    path: str = scope["path"]
    return path.startswith("/v1/") and path not in _OPEN_PATHS


class Gate:
    """In front of every handler, before a byte of the body is read.

    A signed route's signature headers are checked first, from the headers alone: present,
    at a fresh moment, from a device known and not revoked (``Server.identify``); a
    stranger is answered 401 and its body is never read. Then the body is read, and held
    for the handler (which checks the signature over it and the nonce): at most `limit`
    bytes (16 KiB for anonymous clients), else 413; while a slot among the bodies this
    process holds is free (``limits.Slots``: per process, per device, anonymous clients
    together), else 429; given up when silent for ``_IDLE_S``, 408. A blob chunk is
    streamed to its handler instead (held to ``MAX_CHUNK``; the handler keeps its own
    idle limit). What the gate refuses it answers itself, as a problem."""

    def __init__(self, app: ASGIApp, server: Server, limit: int) -> None:
        self.app = app
        self.server = server
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            passed, slot = await self._admit(scope, receive)
        except _Gone:
            return
        except Refusal as err:
            await self._refuse(scope, receive, send, err)
            return
        except (OperationalError, SqlTimeout) as err:
            where = scope["method"], scope["path"]
            log.warning("database unavailable on %s %s", *where, exc_info=err)
            await self._refuse(scope, receive, send, database_unavailable())
            return
        try:
            await self.app(scope, passed, send)
        finally:
            if slot is not None:
                self.server.bodies.give(slot)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, err: Refusal) -> None:
        """Answer, and close the connection: a body the gate did not read is not drained."""
        response = problem_response(Request(scope), err)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive) -> tuple[Receive, str | None]:
        """The receive the handler gets (the body held, or counted), and the slot held."""
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and not (declared.isascii() and declared.isdigit()):
            raise too_large(self.limit)
        key = ""  # anonymous clients share one key
        if signed_route(scope):
            signed = self.server.signed(headers)
            who = await run_in_threadpool(self.server.known, signed)
            scope[_WHO] = (signed, who)
            key = who.device_id
            if scope["method"] == "PUT" and scope["path"].startswith("/v1/blobs/"):
                # Streamed by the handler, which holds a chunk to MAX_CHUNK.
                return self._counted(receive, MAX_CHUNK, blobstore.chunk_too_large), None
        limit = self.limit if key else _ANONYMOUS_BODY
        if not key and scope["path"].startswith(_CATALOGUE_UPLOAD[0]):
            limit = _CATALOGUE_UPLOAD[1]
        if declared is not None and int(declared) > limit:
            raise too_large(limit)
        if not int(declared or 0) and "transfer-encoding" not in headers:
            return receive, None  # no body
        if key:
            self.server.signed_ahead(scope, headers)  # one Ed25519 check: no thread
        if not self.server.bodies.take(key):
            raise busy(2)
        try:
            pieces = await self._read(receive, limit)
        except BaseException:
            self.server.bodies.give(key)
            raise
        pieces.reverse()

        async def replay() -> Message:
            # The pieces as they came (no join here: the handler's read joins).
            if pieces:
                piece = pieces.pop()
                return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
            return await receive()

        return replay, key

    @staticmethod
    async def _read(receive: Receive, limit: int) -> list[bytes]:
        """The whole body, at most `limit` bytes, none of its pieces later than ``_IDLE_S``."""
        pieces: list[bytes] = []
        size = 0
        more = True
        while more:
            try:
                async with asyncio.timeout(_IDLE_S):
                    message = await receive()
            except TimeoutError:
                raise Refusal(
                    408, "body-timeout", N_("The request body stopped arriving: send it again")
                ) from None
            if message["type"] != "http.request":
                raise _Gone
            piece = message.get("body", b"")
            size += len(piece)
            if size > limit:
                raise too_large(limit)
            pieces.append(piece)
            more = message.get("more_body", False)
        return pieces or [b""]

    @staticmethod
    def _counted(receive: Receive, limit: int, refusal: Callable[[], Refusal]) -> Receive:
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise refusal()
            return message

        return counted


class _IdleWatch:
    """Cancels the current task when ``note`` was not called for `limit_s` seconds: a
    body whose sender vanished without closing the connection must not hold a blob."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.last = time.monotonic()
        self.fired = False
        self.ours_depth = 0
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.loop = asyncio.get_running_loop()
        self.handle = self.loop.call_later(limit_s, self._check)

    def note(self) -> None:
        self.last = time.monotonic()

    @contextlib.contextmanager
    def ours(self) -> Iterator[None]:
        """Time spent on the server's own work (threads, database) is not the sender's."""
        self.ours_depth += 1
        try:
            yield
        finally:
            self.ours_depth -= 1
            self.last = time.monotonic()

    def _check(self) -> None:
        idle = time.monotonic() - self.last
        if idle >= self.limit_s and not self.ours_depth:
            self.fired = True
            self.task.cancel()
        else:
            self.handle = self.loop.call_later(max(self.limit_s - idle, 1.0), self._check)

    def stop(self) -> None:
        self.handle.cancel()


class _ChunkPipe:
    """Feeds a :class:`blobstore.ChunkWriter` from the event loop: each piece continues the
    blob's running hash as it arrives (while it is still in the CPU's cache: a second
    pass in another thread cost a third more CPU), and a thread writes batches of about
    1 MiB while the loop receives the next (at most two batches held)."""

    def __init__(self, writer: blobstore.ChunkWriter, writers: ThreadPoolExecutor) -> None:
        self.writer, self.writers = writer, writers
        self.batch: list[bytes] = []
        self.held = 0
        self.pending: asyncio.Future[None] | None = None

    async def feed(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            await self.add(piece)
        pieces.clear()

    async def add(self, piece: bytes) -> None:
        self.writer.take(len(piece))
        self.writer.advance(piece)
        self.batch.append(piece)
        self.held += len(piece)
        if self.held >= _BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.pending is not None:
            # Shielded: if the handler is cancelled here, the thread's future stays
            # awaitable, so ``settle`` can wait for it before the file is cut back.
            await asyncio.shield(self.pending)
            self.pending = None
        if self.batch:
            batch, self.batch, self.held = self.batch, [], 0
            loop = asyncio.get_running_loop()
            self.pending = loop.run_in_executor(self.writers, self.writer.write, batch)

    async def drain(self) -> None:
        """Everything received is written."""
        await self.flush()
        await self.flush()

    async def settle(self) -> None:
        """Let the thread finish (before the file is cut back), whatever it raises."""
        if self.pending is not None:
            with contextlib.suppress(BaseException):
                await self.pending
            self.pending = None


class Server:
    """What the handlers share: settings, the engine, the server key. No request state."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings.database_url, settings.db_connections)
        migrate(self.engine, settings.key_file)
        self.key = identity.ensure_identity(self.engine, settings.key_file)
        settings.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.pushes = threading.BoundedSemaphore(settings.max_concurrent_pushes)
        self.bodies = limits.Slots()
        self.polls = reads.Polls()
        self.enrolments = limits.Attempts()
        self.folder = Folder(self.engine)
        # After an upgrade, in the background: branches an older fold made are folded
        # again, and those folded before dossier_facts existed get their facts (the
        # console reads the rows as they were meanwhile).
        threading.Thread(target=self._upgrade_projection, name="refold", daemon=True).start()
        self._prune_lock = threading.Lock()
        self._prune_next = 0.0  # monotonic moment of the next pruning of old nonces
        self._writers = ThreadPoolExecutor(4, thread_name_prefix="blob-write")
        self._db = ThreadPoolExecutor(8, thread_name_prefix="blob-db")
        self._blob_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _upgrade_projection(self) -> None:
        try:
            projections.refold_outdated(self.engine)
        except Exception as err:  # the next start tries again; the rows stay as they were
            log.warning("branches not folded again after the upgrade: %s", err)
        try:
            projections.backfill_facts(self.engine)
        except Exception as err:  # the next start tries again; statistics stay exact
            log.warning("statistics facts not written: %s", err)

    def open_chunk(
        self, request: Request, sha256: str, offset: int, size: int, prefix: str
    ) -> tuple[auth.SignedRequest, identity.DeviceRow, blobstore.ChunkWriter | BlobStatus]:
        """Who sends the chunk (its signature covers the `prefix` hash it claims, so it is
        checked before the body is read), and a writer at `offset` — or the status of a
        blob already complete. The caller holds the blob's locks."""
        signed, who = self.identified(request)
        if not auth.verify_request(
            signed, who.public_key, request.method, _target(request), b"", digest=prefix
        ):
            raise Refusal(401, "bad-request-signature", N_("The request signature does not verify"))
        uploader = blobstore.Uploader(who.device_id, who.branch)
        root = self.settings.blobs_dir
        state = blobstore.open_chunk(self.engine, root, uploader, sha256, offset, size)
        if state.complete:
            return signed, who, state
        folder = uploader.folder(root)
        return signed, who, blobstore.ChunkWriter(folder, sha256, offset, size, uploader)

    def finish_chunk(
        self,
        signed: auth.SignedRequest,
        who: identity.DeviceRow,
        writer: blobstore.ChunkWriter,
        prefix: str,
    ) -> BlobStatus:
        """The bytes match the signed prefix hash; the nonce and the chunk are recorded in
        one transaction. Any refusal forgets the chunk (``abort``)."""
        try:
            writer.check(prefix)
            self.record_nonce(signed, who, then=writer.record)
            return writer.recorded()
        except BaseException:
            writer.abort(self.engine)
            raise

    async def receive_chunk(
        self, request: Request, sha256: str, offset: int, size: int, prefix: str
    ) -> BlobStatus:
        """One chunk, streamed to the partial file (the caller holds the blob's locks). The
        checks before the first write (``open_chunk``: signature, offset) run in a thread
        while the first pieces of the body arrive and are held (at most ``_EARLY`` bytes).
        A body that stops arriving for ``_IDLE_S`` is given up (408), and a cut one
        answered 400: either way the chunk is cut back."""
        loop = asyncio.get_running_loop()
        opening = loop.run_in_executor(
            self._db, self.open_chunk, request, sha256, offset, size, prefix
        )
        early: list[bytes] = []
        held = 0
        pipe: _ChunkPipe | None = None
        idle = _IdleWatch(_IDLE_S)
        try:
            async for piece in request.stream():
                idle.note()
                with idle.ours():
                    if pipe is not None:
                        await pipe.add(piece)
                        continue
                    early.append(piece)
                    held += len(piece)
                    if opening.done() or held >= _EARLY:
                        signed, who, opened = await asyncio.shield(opening)
                        if isinstance(opened, BlobStatus):
                            return opened  # complete already: the body is not needed
                        pipe = _ChunkPipe(opened, self._writers)
                        await pipe.feed(early)
            idle.stop()  # the body is in: what follows is the server's own work
            if pipe is None:
                signed, who, opened = await asyncio.shield(opening)
                if isinstance(opened, BlobStatus):
                    return opened
                pipe = _ChunkPipe(opened, self._writers)
                await pipe.feed(early)
            await pipe.drain()
        except BaseException as err:
            idle.stop()
            await self._forget(opening, pipe)
            # The 408 only when the watch alone cancelled: a shutdown's cancel stays one.
            if idle.fired and idle.task.uncancel() == 0:
                raise Refusal(
                    408, "body-timeout", N_("The chunk stopped arriving: send it again")
                ) from None
            if isinstance(err, ClientDisconnect):  # answered to nobody, but not logged
                raise Refusal(
                    400, "cut", N_("The connection was cut before the chunk ended")
                ) from None
            raise
        finally:
            idle.stop()  # also after an early return (a blob complete already)
        return await loop.run_in_executor(
            self._db, self.finish_chunk, signed, who, pipe.writer, prefix
        )

    async def _forget(self, opening: asyncio.Future[Any], pipe: _ChunkPipe | None) -> None:
        """After a failure: the writer's threads finish and the chunk is cut back — also
        when ``open_chunk`` was still running."""
        if pipe is not None:
            await pipe.settle()
        try:
            _signed, _who, opened = await opening
        except BaseException:
            return  # refused before any write
        if isinstance(opened, blobstore.ChunkWriter):
            await asyncio.get_running_loop().run_in_executor(self._db, opened.abort, self.engine)

    @contextlib.asynccontextmanager
    async def holding_blob(self, who: identity.DeviceRow, sha256: str) -> AsyncIterator[None]:
        """The locks of this device's upload of the blob: the asyncio lock of this process
        (fair), then the lock file shared with the other processes, retried without
        blocking a thread; an upload busy elsewhere for ``_LOCK_WAIT_S`` → 429 with
        ``Retry-After``. Another device's upload of the same blob never waits on it."""
        folder = blobstore.Uploader(who.device_id, who.branch).folder(self.settings.blobs_dir)
        async with self.blob_lock(f"{who.device_id}/{sha256}"):
            deadline = time.monotonic() + _LOCK_WAIT_S
            while (lock := blobstore.ChunkLock.try_acquire(folder, sha256)) is None:
                if time.monotonic() > deadline:
                    raise Refusal(
                        429,
                        "blob-busy",
                        N_("Another upload of this file is in progress: retry shortly"),
                        headers={"Retry-After": "2"},
                    )
                await asyncio.sleep(0.02)
            try:
                yield
            finally:
                lock.release()

    def blob_lock(self, key: str) -> asyncio.Lock:
        lock = self._blob_locks.get(key)
        if lock is None:
            lock = self._blob_locks[key] = asyncio.Lock()
        return lock

    def authenticate(self, request: Request, body: bytes) -> identity.DeviceRow:
        signed, device = self.identified(request)
        self.confirm(request, signed, device, body=body)
        return device

    def signed(self, headers: Mapping[str, str]) -> auth.SignedRequest:
        """The signature headers, present and at a fresh moment (nothing verified yet)."""
        signed = auth.read_headers(headers)
        if signed is None:
            raise Refusal(401, "unsigned", N_("The request is not signed by an enrolled device"))
        now = int(time.time() * 1000)
        if not auth.fresh(signed, now):
            raise Refusal(401, "stale", N_("The request's time is too far from the server's clock"))
        return signed

    def known_device(self, conn: Connection, signed: auth.SignedRequest) -> identity.DeviceRow:
        """The signing device, known and not revoked."""
        device = identity.find_device(conn, signed.device_id)
        if device is None:
            raise Refusal(
                401, "unknown-device", N_("Unknown device {device}"), device=signed.device_id[:64]
            )
        if device.revoked:
            raise Refusal(401, "revoked", N_("Device {device} is revoked"), device=device.device_id)
        return device

    def signed_ahead(self, scope: Scope, headers: Headers) -> None:
        """Before a body is read: the signature over the digest the request declares
        (the handler checks the body against it). Whoever knows a device's identifier but
        not its key gets a 401, and no byte of its body is read."""
        signed, who = scope[_WHO]
        digest = auth.declared_digest(headers)
        if digest is None:
            raise Refusal(
                401,
                "undeclared-digest",
                N_("The request does not declare its body's digest: update Một Cửa on it"),
            )
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        if not auth.verify_request(signed, who.public_key, scope["method"], target, b"", digest):
            raise Refusal(401, "bad-request-signature", N_("The request signature does not verify"))

    def known(self, signed: auth.SignedRequest) -> identity.DeviceRow:
        with self.engine.connect() as conn:
            return self.known_device(conn, signed)

    def identify(self, request: Request) -> tuple[auth.SignedRequest, identity.DeviceRow]:
        """The signing device, known and unrevoked, at a fresh moment (body not checked)."""
        signed = self.signed(request.headers)
        return signed, self.known(signed)

    def identified(self, request: Request) -> tuple[auth.SignedRequest, identity.DeviceRow]:
        """The device the gate identified from the headers, before the body was read."""
        who: tuple[auth.SignedRequest, identity.DeviceRow] | None = request.scope.get(_WHO)
        return who if who is not None else self.identify(request)

    def check_signature(
        self,
        request: Request,
        signed: auth.SignedRequest,
        device: identity.DeviceRow,
        body: bytes,
    ) -> None:
        target = _target(request)
        if not auth.verify_request(signed, device.public_key, request.method, target, body):
            raise Refusal(401, "bad-request-signature", N_("The request signature does not verify"))

    def confirm(
        self,
        request: Request,
        signed: auth.SignedRequest,
        device: identity.DeviceRow,
        *,
        body: bytes = b"",
    ) -> None:
        """The signature over the body; the nonce, once."""
        self.check_signature(request, signed, device, body)
        self.record_nonce(signed, device)

    def record_nonce(
        self,
        signed: auth.SignedRequest,
        device: identity.DeviceRow,
        then: Callable[[Connection], None] | None = None,
    ) -> None:
        """The request's nonce, refused when seen before; `then` in the same transaction."""
        with self.engine.begin() as conn:
            self.note_nonce(conn, signed, device)
            if then is not None:
                then(conn)
        self.prune_nonces_when_due()

    @staticmethod
    def note_nonce(
        conn: Connection, signed: auth.SignedRequest, device: identity.DeviceRow
    ) -> None:
        """Record the nonce in the caller's transaction; a nonce seen before → 401. (``ON
        CONFLICT DO NOTHING``: a failed insert would abort a PostgreSQL transaction.)"""
        inserted = conn.execute(
            _INSERT_NONCE,
            {"device": device.device_id, "nonce": signed.nonce, "at": int(time.time() * 1000)},
        )
        if inserted.rowcount != 1:
            raise Refusal(401, "replayed", N_("This request was already received (replayed)"))

    def prune_nonces_when_due(self) -> None:
        """Forget the nonces no request can replay any more, at most every
        ``_PRUNE_EVERY_S`` per process (in the request path, after its own commit). A
        failure is logged, not answered: the request it follows went through."""
        now = time.monotonic()
        with self._prune_lock:
            if now < self._prune_next:
                return
            self._prune_next = now + _PRUNE_EVERY_S
        try:
            pruned = self.prune_nonces()
        except (OperationalError, SqlTimeout) as err:
            log.warning("old nonces not pruned: %s", err)
            return
        if pruned:
            log.info("pruned %d old nonces", pruned)

    def prune_nonces(self, now_ms: int | None = None) -> int:
        """Delete the nonces recorded more than ``NONCE_KEEP_MS`` ago; how many."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        with self.engine.begin() as conn:
            deleted = conn.execute(t.nonces.delete().where(t.nonces.c.at_ms < now - NONCE_KEEP_MS))
        return int(deleted.rowcount)


_INSERT_NONCE = text(
    "INSERT INTO nonces (device_id, nonce, at_ms) VALUES (:device, :nonce, :at) "
    "ON CONFLICT DO NOTHING"
)


def _target(request: Request) -> str:
    """The signed path: the path with its query."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def current_device(request: Request) -> identity.DeviceRow:
    body = await request.body()
    server: Server = request.app.state.server
    return await run_in_threadpool(server.authenticate, request, body)


async def raw_body(request: Request) -> bytes:
    return await request.body()


Device = Annotated[identity.DeviceRow, Depends(current_device)]
RawBody = Annotated[bytes, Depends(raw_body)]
_PUSH = TypeAdapter(PushRequest)
ShaPath = Annotated[str, Path_(pattern=r"^[0-9a-f]{64}$")]
Size = Annotated[int, Query(ge=0, le=2**53)]


def create_app(settings: Settings) -> FastAPI:
    server = Server(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(server.folder.stop)  # the fold under way ends cleanly

    app = FastAPI(
        lifespan=lifespan,
        title="Một Cửa sync server",
        version=str(PROTOCOL_VERSION),
        responses=_PROBLEMS,
        docs_url=None,  # served by the console from vendored files (closed networks)
        redoc_url=None,
    )
    app.state.server = server

    @app.exception_handler(Refusal)
    async def _refusal(request: Request, err: Refusal) -> JSONResponse:
        return problem_response(request, err)

    @app.exception_handler(SqlTimeout)
    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, err: Exception) -> JSONResponse:
        # The pool is exhausted or the database does not answer: the client retries; the
        # operator sees why (a misconfiguration looks the same from the outside).
        log.warning("database unavailable on %s %s", request.method, request.url.path, exc_info=err)
        return problem_response(request, database_unavailable())

    @app.exception_handler(OSError)
    async def _storage(request: Request, err: Exception) -> JSONResponse:
        # A full disk is the server's state, not a bad request: 507, and the desktop sends
        # again at a later sync (what failed was cut back: nothing half-written is kept).
        if not isinstance(err, OSError) or err.errno not in _DISK_FULL:
            raise err
        log.error("disk full on %s %s: %s", request.method, request.url.path, err)
        refusal = Refusal(
            507,
            "disk-full",
            N_("The server's disk is full: nothing of this was kept; it is sent again later"),
            headers={"Retry-After": "60"},
        )
        return problem_response(request, refusal)

    @app.exception_handler(MotcuaError)
    async def _motcua(request: Request, err: MotcuaError) -> JSONResponse:
        return problem_response(request, identity.refusal_of(err))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> Response:
        # FastAPI answers a body it cannot decode (bad UTF-8, JSON nested past the parser's
        # depth) with a bare HTTPException; the protocol's answers are all problems.
        if not request.url.path.startswith("/v1/"):
            return await http_exception_handler(request, err)
        malformed = err.status_code == 400
        refusal = Refusal(
            err.status_code,
            "malformed-json" if malformed else "http-error",
            N_("The request body is not valid JSON: {detail}")
            if malformed
            else N_("The request was refused: {detail}"),
            headers=dict(err.headers or {}),
            detail=str(err.detail),
        )
        return problem_response(request, refusal)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        errors = err.errors()
        malformed = any(e.get("type") == "json_invalid" for e in errors)
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors[:5]
        )
        if malformed:
            refusal = Refusal(
                400,
                "malformed-json",
                N_("The request body is not valid JSON: {detail}"),
                detail=where,
            )
        else:
            refusal = Refusal(
                422,
                "invalid",
                N_("The request does not follow the protocol: {detail}"),
                detail=where,
            )
        return problem_response(request, refusal)

    @app.get("/v1/health", response_model=Health)
    async def health() -> Health:  # on the event loop: answered even when every thread is busy
        return Health(
            status="ok", protocol=PROTOCOL_VERSION, server_time_ms=int(time.time() * 1000)
        )

    @app.post("/v1/enroll", response_model=EnrolResponse)
    async def enroll(request: Request, body: EnrolRequest) -> EnrolResponse:
        # Failed attempts are counted per client address and per branch (in this
        # process's memory): past the limit, even a good code waits, so none is guessed.
        address = request.client.host if request.client else "unknown"
        keys = (f"address {address}", f"branch {body.branch}")
        wait = server.enrolments.wait_s(keys)
        if wait:
            raise Refusal(
                429,
                "too-many-attempts",
                N_("Too many failed enrolment attempts: try again in {minutes} min"),
                headers={"Retry-After": str(wait)},
                minutes=-(-wait // 60),
            )
        try:
            return await run_in_threadpool(identity.enrol, server.engine, server.key, body)
        except Refusal as err:
            if err.kind in _GUESSES:
                for key in server.enrolments.failed(keys):
                    log.warning(
                        "enrolment refused for %d s to %s: %d failed attempts",
                        server.enrolments.window_s,
                        key,
                        server.enrolments.limit,
                    )
            raise

    @app.post("/v1/events", response_model=PushResponse, openapi_extra=_json_body(PushRequest))
    def push(request: Request, raw: RawBody) -> Response:
        # The body is parsed once, straight from its bytes, by the precompiled validator
        # (not json.loads, then the model), and the answer is written without a model.
        # The sender and its signature first (a read), then the body is parsed, outside
        # the write transaction (on SQLite it holds the one write lock).
        signed, who = server.identified(request)  # by the gate, before the body was read
        server.check_signature(request, signed, who, raw)
        if who.flagged:
            raise Refusal(
                403,
                "flagged",
                N_("Device {device} is flagged ({reason}): the centre must clear it first"),
                device=who.device_id,
                reason=who.flagged,
            )
        try:
            body = _PUSH.validate_json(raw)
        except PydanticValidationError as err:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e.get("loc", ()))} for e in err.errors()]
            ) from None
        events = [e.to_event() for e in body.events]
        if not server.pushes.acquire(blocking=False):
            raise busy()

        def admit(conn: Connection) -> tuple[ingest.Pusher, list[Event]]:
            server.note_nonce(conn, signed, who)  # in the push's transaction: one commit
            return ingest.Pusher(who.device_id, who.branch, server.key.public_b64), events

        try:
            outcome = ingest.push(server.engine, admit)
        finally:
            server.pushes.release()
        if outcome.accepted and settings.fold == "background":
            server.folder.wake(who.branch)  # folded in the background, after the answer
        server.prune_nonces_when_due()
        return Response(ingest.answer(outcome), media_type="application/json")

    def _readable(who: identity.DeviceRow, scope: str) -> None:
        if scope not in (who.branch, t.GLOBAL_SCOPE):
            raise Refusal(
                403, "wrong-scope", N_("Scope {scope} is outside this device's branch"), scope=scope
            )

    @app.get("/v1/events", response_model=PullResponse)
    async def pull(
        request: Request,
        who: Device,
        scope: Annotated[str, Query(pattern=r"^(\*|[A-Z0-9][A-Z0-9.]{0,30})$")],
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PULL_EVENTS)] = 1000,
        wait: Annotated[float, Query(ge=0, le=25)] = 0,
    ) -> Response:
        _readable(who, scope)
        # A long-poll waits on the event loop, each read in the thread pool: it holds no
        # thread while it waits, and stops reading when its client has gone.
        content = await reads.pull(
            server.engine,
            scope,
            after,
            limit,
            wait,
            who.device_id,
            polls=server.polls,
            gone=request.is_disconnected,
        )
        return Response(content, media_type="application/json")

    @app.post("/v1/vector", response_model=VectorResponse)
    def vector(body: VectorRequest, who: Device) -> Response:
        _readable(who, body.scope)
        content = reads.exchange(server.engine, body.scope, dict(body.vector), body.limit)
        return Response(content, media_type="application/json")

    @app.get("/v1/transfers", response_model=TransfersResponse)
    def transfer_messages(
        who: Device,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=between_units.MAX_PAGE)] = 100,
    ) -> Response:
        """The offers and replies other units sent this device's branch: nothing else of
        theirs is ever served to it."""
        content = between_units.page(server.engine, who.branch, after, limit)
        return Response(content, media_type="application/json")

    @app.post("/v1/blobs/missing", response_model=MissingResponse)
    def missing(body: MissingRequest, who: Device) -> MissingResponse:
        hashes = list(body.hashes)
        return MissingResponse(missing=blobstore.missing(server.engine, who.branch, hashes))

    @app.get("/v1/blobs/{sha256}/status", response_model=BlobStatus)
    def blob_status(
        sha256: ShaPath,
        size: Size,
        who: Device,
    ) -> BlobStatus:
        uploader = blobstore.Uploader(who.device_id, who.branch)
        return blobstore.status(server.engine, settings.blobs_dir, uploader, sha256, size)

    @app.put("/v1/blobs/{sha256}", response_model=BlobStatus, openapi_extra=_octets())
    async def blob_chunk(
        request: Request,
        sha256: ShaPath,
        offset: Annotated[int, Query(ge=0, le=2**53)],
        size: Size,
        prefix: Annotated[
            str | None, Header(alias=PREFIX_HEADER, pattern=r"^[0-9a-f]{64}$")
        ] = None,
    ) -> BlobStatus:
        if prefix is None:  # a desktop of protocol 1 (chunks signed over their own hash)
            raise Refusal(
                426,
                "upgrade-required",
                N_("This desktop sends files in an older way: update Một Cửa on it"),
            )
        # Streamed: each piece of the body goes to the partial file as it arrives, and
        # continues the blob's running hash; at the end that hash must be the signed
        # prefix hash (a mismatch cuts the file back). One chunk at a time per blob.
        _signed, who = server.identified(request)
        async with server.holding_blob(who, sha256):
            return await server.receive_chunk(request, sha256, offset, size, prefix)

    @app.post("/v1/blobs/{sha256}/commit", response_model=BlobStatus)
    async def blob_commit(
        sha256: ShaPath,
        size: Size,
        who: Device,
    ) -> BlobStatus:
        uploader = blobstore.Uploader(who.device_id, who.branch)
        async with server.holding_blob(who, sha256):
            return await run_in_threadpool(
                blobstore.commit, server.engine, settings.blobs_dir, uploader, sha256, size
            )

    @app.get(
        "/v1/blobs/{sha256}",
        response_class=FileResponse,
        responses={
            200: {"content": {"application/octet-stream": {}}},
            206: {"content": {"application/octet-stream": {}}},
        },
    )
    def blob_get(sha256: ShaPath, who: Device) -> FileResponse:
        if not blobstore.readable_by(server.engine, who.branch, sha256):
            # The same answer as a blob the server lacks: nothing tells it exists.
            raise Refusal(
                404, "no-blob", N_("No complete blob {sha} on the server"), sha=sha256[:12]
            )
        return FileResponse(
            blobstore.complete_path(server.engine, settings.blobs_dir, sha256),
            media_type="application/octet-stream",
        )

    console.mount(app, server.engine, settings.data_dir, who_key=_WHO)
    mount_updates(app, settings)  # the desktops' signed update repository
    app.add_middleware(Gate, server=server, limit=MAX_BODY)
    _with_schemas(app, [PushRequest])
    return app


ENV_DATA_DIR = "MOTCUA_SERVER_DATA_DIR"


def app_from_env() -> FastAPI:
    """The app of one worker of ``serve --workers N``: settings from the environment."""
    return create_app(Settings.from_env(Path(os.environ[ENV_DATA_DIR])))


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The request body of a handler that parses its own bytes, for the OpenAPI spec."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def _with_schemas(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Add `models` (and what they use) to the spec's components: handlers that parse
    their own body do not declare them as parameters."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas.setdefault(name, sub)
                schemas[model.__name__] = schema
            app.openapi_schema = spec
        return app.openapi_schema

    # FastAPI's documented way to extend the schema; its stubs declare openapi a method.
    app.openapi = openapi  # type: ignore[method-assign]


def _octets() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }
