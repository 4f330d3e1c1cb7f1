"""The desktops' update repository (TUF), served read-only under ``/updates``.

``/updates/metadata/<N.>role.json`` and ``/updates/targets/<platform>/<sha256>.<file>``
from ``<data dir>/updates`` (``core.update.repository``; ``motcua-server release``
writes it). Outside ``/v1``: no device signature is needed, TUF metadata carries its own
signatures and a desk verifies every byte against them. Before the timestamp is served
it is re-signed with the server's online key when half its lifetime is gone (at most
once a minute per process), so the centre's offline keys are needed only to publish.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI
from fastapi import Path as Path_
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from core.domain.errors import N_, MotcuaError
from core.update import repository

from .db import Settings
from .errors import Refusal

log = logging.getLogger(__name__)
PREFIX = "/updates"
_REFRESH_EVERY_S = 60.0
MetadataName = Annotated[
    str, Path_(pattern=r"^([1-9][0-9]{0,9}\.)?(root|targets|snapshot|timestamp)\.json$")
]
Platform = Annotated[str, Path_(pattern=r"^[a-z0-9_]+-[a-z0-9_]+$")]
TargetName = Annotated[str, Path_(pattern=r"^[0-9a-f]{64}\.motcua-[0-9.]+\.(tar\.gz|zip)$")]


def repository_dir(settings: Settings) -> Path:
    return settings.data_dir / "updates"


class _Refresher:
    """Re-sign the online roles when due, at most every ``_REFRESH_EVERY_S``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.next_at = 0.0

    def __call__(self) -> None:
        with self.lock:
            if time.monotonic() < self.next_at:
                return
            self.next_at = time.monotonic() + _REFRESH_EVERY_S
        try:
            done = repository.refresh_online(self.folder)
        except (MotcuaError, OSError, ValueError) as err:  # the last signed state is served
            log.error("update repository not re-signed: %s", err)
            return
        if done:
            log.info("update repository re-signed: %s", ", ".join(done))


def _missing(what: str) -> Refusal:
    return Refusal(404, "no-update-file", N_("The update repository has no {file}"), file=what)


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the read-only repository routes to `app`."""
    folder = repository_dir(settings)
    refresh = _Refresher(folder)

    @app.get(f"{PREFIX}/metadata/{{name}}", include_in_schema=False)
    async def metadata(name: MetadataName) -> FileResponse:
        if name == "timestamp.json":
            await run_in_threadpool(refresh)
        path = folder / "metadata" / name
        if not path.is_file():
            raise _missing(name)
        # The timestamp changes under the same name: never kept by a cache.
        return FileResponse(path, media_type="application/json", headers=_cache(name))

    @app.get(f"{PREFIX}/targets/{{platform}}/{{name}}", include_in_schema=False)
    async def target(platform: Platform, name: TargetName) -> FileResponse:
        path = folder / "targets" / platform / name
        if not path.is_file():
            raise _missing(f"{platform}/{name}")
        return FileResponse(
            path,
            media_type="application/octet-stream",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )


def _cache(name: str) -> dict[str, str]:
    if name[0].isdigit():  # N.role.json never changes once written
        return {"Cache-Control": "public, max-age=31536000, immutable"}
    return {"Cache-Control": "no-cache"}
