"""The HTTP API (``/v1``): enrolment, push, pull, vector exchange, blobs. OpenAPI at
``/openapi.json``. Every request after enrolment is signed by the device key
(``core.sync.auth``); every refusal is ``application/problem+json`` with a specific 4xx.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as Path_
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.domain.errors import N_, MotcuaError
from core.i18n import translations
from core.sync import auth
from core.sync.wire import (
    MAX_BODY,
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
    VectorRequest,
    VectorResponse,
)

from . import blobstore, identity, ingest, reads
from . import schema as t
from .db import Settings, make_engine, migrate
from .errors import Refusal

PROBLEM = "application/problem+json"
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM: {}}}
    for code in (400, 401, 403, 404, 409, 410, 413, 422, 429)
}


def _language(request: Request) -> str:
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "vi"


def problem_response(request: Request, err: Refusal) -> JSONResponse:
    text = translations(_language(request)).gettext(err.message)
    detail = text.format(**err.params) if err.params else text
    body = {
        "type": f"urn:motcua:problem:{err.kind}",
        "title": err.kind,
        "status": err.status,
        "detail": detail,
        **err.extra,
    }
    return JSONResponse(body, status_code=err.status, media_type=PROBLEM, headers=err.headers)


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413 before any handler reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        pending = chunks or [b""]
        pending.reverse()

        async def replay() -> Message:
            # The buffered pieces as they came (no join here: the handler's read joins).
            if pending:
                piece = pending.pop()
                return {"type": "http.request", "body": piece, "more_body": bool(pending)}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        payload = (
            b'{"type":"urn:motcua:problem:too-large","title":"too-large","status":413,'
            b'"detail":"The request body is too large"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class Server:
    """What the handlers share: settings, the engine, the server key. No request state."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings.database_url)
        migrate(self.engine)
        self.key = identity.ensure_identity(self.engine)
        settings.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.pushes = threading.BoundedSemaphore(settings.max_concurrent_pushes)

    def authenticate(self, request: Request, body: bytes) -> identity.DeviceRow:
        signed = auth.read_headers(dict(request.headers))
        if signed is None:
            raise Refusal(401, "unsigned", N_("The request is not signed by an enrolled device"))
        now = int(time.time() * 1000)
        if not auth.fresh(signed, now):
            raise Refusal(401, "stale", N_("The request's time is too far from the server's clock"))
        with self.engine.connect() as conn:
            device = identity.find_device(conn, signed.device_id)
        if device is None:
            raise Refusal(
                401, "unknown-device", N_("Unknown device {device}"), device=signed.device_id[:64]
            )
        if device.revoked:
            raise Refusal(401, "revoked", N_("Device {device} is revoked"), device=device.device_id)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not auth.verify_request(signed, device.public_key, request.method, path, body):
            raise Refusal(401, "bad-request-signature", N_("The request signature does not verify"))
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(t.nonces).values(
                        device_id=device.device_id, nonce=signed.nonce, at_ms=now
                    )
                )
        except SqlIntegrityError:
            raise Refusal(
                401, "replayed", N_("This request was already received (replayed)")
            ) from None
        return device


async def current_device(request: Request) -> identity.DeviceRow:
    body = await request.body()
    server: Server = request.app.state.server
    return await run_in_threadpool(server.authenticate, request, body)


Device = Annotated[identity.DeviceRow, Depends(current_device)]
ShaPath = Annotated[str, Path_(pattern=r"^[0-9a-f]{64}$")]
Size = Annotated[int, Query(ge=0, le=2**53)]


def create_app(settings: Settings) -> FastAPI:
    server = Server(settings)
    app = FastAPI(title="Một Cửa sync server", version=str(PROTOCOL_VERSION), responses=_PROBLEMS)
    app.state.server = server

    @app.exception_handler(Refusal)
    async def _refusal(request: Request, err: Refusal) -> JSONResponse:
        return problem_response(request, err)

    @app.exception_handler(MotcuaError)
    async def _motcua(request: Request, err: MotcuaError) -> JSONResponse:
        return problem_response(request, identity.refusal_of(err))

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
    def health() -> Health:
        return Health(
            status="ok", protocol=PROTOCOL_VERSION, server_time_ms=int(time.time() * 1000)
        )

    @app.post("/v1/enroll", response_model=EnrolResponse)
    def enroll(request: EnrolRequest) -> EnrolResponse:
        return identity.enrol(server.engine, server.key, request)

    @app.post("/v1/events", response_model=PushResponse)
    def push(body: PushRequest, who: Device) -> PushResponse:
        if not server.pushes.acquire(blocking=False):
            raise Refusal(
                429, "busy", N_("The server is busy: retry shortly"), headers={"Retry-After": "1"}
            )
        try:
            events = [e.to_event() for e in body.events]
            outcome = ingest.push(
                server.engine,
                ingest.Pusher(who.device_id, who.branch, server.key.public_b64),
                events,
            )
        finally:
            server.pushes.release()
        return PushResponse(
            accepted=outcome.accepted, duplicates=outcome.duplicates, results=outcome.results
        )

    def _readable(who: identity.DeviceRow, scope: str) -> None:
        if scope not in (who.branch, t.GLOBAL_SCOPE):
            raise Refusal(
                403, "wrong-scope", N_("Scope {scope} is outside this device's branch"), scope=scope
            )

    @app.get("/v1/events", response_model=PullResponse)
    def pull(
        who: Device,
        scope: Annotated[str, Query(pattern=r"^(\*|[A-Z0-9][A-Z0-9.]{0,30})$")],
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PULL_EVENTS)] = 1000,
        wait: Annotated[float, Query(ge=0, le=25)] = 0,
    ) -> Response:
        _readable(who, scope)
        content = reads.pull(server.engine, scope, after, limit, wait, who.device_id)
        return Response(content, media_type="application/json")

    @app.post("/v1/vector", response_model=VectorResponse)
    def vector(body: VectorRequest, who: Device) -> Response:
        _readable(who, body.scope)
        content = reads.exchange(server.engine, body.scope, dict(body.vector), body.limit)
        return Response(content, media_type="application/json")

    @app.post("/v1/blobs/missing", response_model=MissingResponse)
    def missing(body: MissingRequest, who: Device) -> MissingResponse:
        return MissingResponse(missing=blobstore.missing(server.engine, list(body.hashes)))

    @app.get("/v1/blobs/{sha256}/status", response_model=BlobStatus)
    def blob_status(
        sha256: ShaPath,
        size: Size,
        who: Device,
    ) -> BlobStatus:
        return blobstore.status(server.engine, settings.blobs_dir, sha256, size)

    @app.put("/v1/blobs/{sha256}", response_model=BlobStatus, openapi_extra=_octets())
    async def blob_chunk(
        request: Request,
        sha256: ShaPath,
        offset: Annotated[int, Query(ge=0, le=2**53)],
        size: Size,
        who: Device,
    ) -> BlobStatus:
        data = await request.body()
        return await run_in_threadpool(
            blobstore.write_chunk, server.engine, settings.blobs_dir, sha256, offset, size, data
        )

    @app.post("/v1/blobs/{sha256}/commit", response_model=BlobStatus)
    def blob_commit(
        sha256: ShaPath,
        size: Size,
        who: Device,
    ) -> BlobStatus:
        return blobstore.commit(server.engine, settings.blobs_dir, sha256, size)

    @app.get(
        "/v1/blobs/{sha256}",
        response_class=FileResponse,
        responses={
            200: {"content": {"application/octet-stream": {}}},
            206: {"content": {"application/octet-stream": {}}},
        },
    )
    def blob_get(sha256: ShaPath, who: Device) -> FileResponse:
        return FileResponse(
            blobstore.complete_path(server.engine, settings.blobs_dir, sha256),
            media_type="application/octet-stream",
        )

    app.add_middleware(BodyLimit, limit=MAX_BODY)
    return app


def _octets() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    }
