"""The audit page: ``sync_server.audit.verify`` run in a background thread (one run at a
time per server process), and the log of security events (the ``incidents`` table:
equivocations, flags cleared, failed console logins)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from sync_server import audit
from sync_server import schema as t

LOG_LIMIT = 200


@dataclass
class Run:
    started_by: str
    started: float
    total: int  # events in the store when the run began
    finished: float = 0.0
    result: dict[str, Any] | None = None
    failure: str = ""

    @property
    def running(self) -> bool:
        return not self.finished

    @property
    def elapsed_s(self) -> int:
        return int((self.finished or time.monotonic()) - self.started)


@dataclass
class Audits:
    """The last verification run of this process."""

    last: Run | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, engine: Engine, server_key: str, who: str) -> Run:
        """Start a run unless one is under way (that one is returned)."""
        with self.lock:
            if self.last is not None and self.last.running:
                return self.last
            with engine.connect() as conn:
                total = int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())
            run = Run(who, time.monotonic(), total)
            self.last = run
        threading.Thread(
            target=self._work, args=(run, engine, server_key), name="console-audit", daemon=True
        ).start()
        return run

    @staticmethod
    def _work(run: Run, engine: Engine, server_key: str) -> None:
        try:
            run.result = audit.verify(engine, server_key)
        except Exception as err:  # shown on the page; the server goes on
            run.failure = f"{type(err).__name__}: {err}"[:300]
        finally:
            run.finished = time.monotonic()


@dataclass(frozen=True)
class Incident:
    at: str
    device_id: str
    label: str
    branch: str
    kind: str
    detail: str


def security_log(engine: Engine, limit: int = LOG_LIMIT) -> list[Incident]:
    """The newest security events first."""
    i, d = t.incidents.c, t.devices.c
    query = (
        select(i.at, i.device_id, i.kind, i.detail, d.label, d.branch)
        .select_from(t.incidents.outerjoin(t.devices, d.device_id == i.device_id))
        .order_by(i.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            Incident(r.at, r.device_id, r.label or "", r.branch or "", r.kind, r.detail)
            for r in conn.execute(query)
        ]
