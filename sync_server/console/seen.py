"""When each device last synchronised: every signed request to ``/v1/`` that is answered
2xx notes its device (at most once a minute per device and process), with the protocol
version the desktop reports in the ``Motcua-Protocol`` header, if it sends one."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.domain.timeutil import iso

from .queries import now
from .tables import device_seen

log = logging.getLogger(__name__)
EVERY_S = 60.0
PROTOCOL_HEADER = b"motcua-protocol"


def note(engine: Engine, branch: str, device_id: str, protocol: int | None) -> None:
    values: dict[str, Any] = {"branch": branch, "device_id": device_id, "seen_at": iso(now())}
    changes: dict[str, Any] = {"seen_at": values["seen_at"]}
    if protocol is not None:
        values["protocol"] = changes["protocol"] = protocol
    maker = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = maker(device_seen).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["branch", "device_id"], set_=changes
    )
    with engine.begin() as conn:
        conn.execute(statement)


class SeenMiddleware:
    """Inside the gate, which puts the identified device in the scope (`who_key`)."""

    def __init__(self, app: ASGIApp, engine: Engine, who_key: str) -> None:
        self.app = app
        self.engine = engine
        self.who_key = who_key
        self.last: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        who = scope.get(self.who_key)
        if who is None or not 200 <= status < 300:
            return
        device = who[1]
        moment = time.monotonic()
        if moment - self.last.get(device.device_id, -EVERY_S) < EVERY_S:
            return
        self.last[device.device_id] = moment
        try:
            await run_in_threadpool(
                note, self.engine, device.branch, device.device_id, _protocol(scope)
            )
        except SQLAlchemyError as err:  # the request was answered: a note may wait
            log.warning("last sync of %s not noted: %s", device.device_id, err)


def _protocol(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == PROTOCOL_HEADER and value.isdigit() and len(value) < 6:
            return int(value)
    return None
