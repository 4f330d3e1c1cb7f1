"""A real sync server on loopback (port 0), on SQLite or on a fresh PostgreSQL database.

PostgreSQL comes from ``MOTCUA_TEST_PG_URL`` (``scripts/test-services.sh`` starts one);
without it the PostgreSQL variants fail with a clear message instead of skipping.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, text

from sync_server.app import create_app
from sync_server.db import Settings

BACKENDS = ["sqlite", "postgresql"]
PG_ENV = "MOTCUA_TEST_PG_URL"


def pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(
            f"{PG_ENV} is not set: run the suite under scripts/test-services.sh "
            "(make test does) so the PostgreSQL variants have a server"
        )
    return url


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A database URL of `backend`, created empty and dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'server.db'}"
        return
    admin_url = pg_admin_url()
    name = f"motcua_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class LiveServer:
    url: str
    settings: Settings
    engine: Engine
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def app_server(self) -> object:
        return self.server.config.app.state.server  # type: ignore[union-attr]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app_server.folder.stop()  # type: ignore[attr-defined]  # lifespan is off here
        self.engine.dispose()


def start_server(data_dir: Path, database_url: str) -> LiveServer:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    engine = app.state.server.engine
    return LiveServer(f"http://127.0.0.1:{port}", settings, engine, server, thread)


@contextmanager
def live_server(backend: str, folder: Path) -> Iterator[LiveServer]:
    folder.mkdir(parents=True, exist_ok=True)
    with database(backend, folder) as url:
        live = start_server(folder, url)
        try:
            yield live
        finally:
            live.stop()
