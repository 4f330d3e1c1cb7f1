"""Old unsynced events hold an update: a desk that has not reached the server for days
should not change its program on top of the only copy of those dossiers. The update is
then staged but held until branch IT confirms it (``motcua update install --force``)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from core.domain.errors import N_
from core.domain.hlc import Timestamp
from core.storage import schema as t

HOLD_DAYS = 3.0
_DAY_MS = 86_400_000


def oldest_unsynced_ms(branch: Any) -> int | None:
    """The wall time of the oldest event of this branch the server has not acknowledged
    (by the vector the server last sent), or None when everything went up."""
    from core.services.sync import LocalReplica

    replica = LocalReplica(branch)
    acknowledged = replica.server_vector()
    with branch.store.read() as conn:
        origins = {
            r.device_id for r in conn.execute(select(t.devices)) if r.branch == replica.branch
        }
        origins.add(branch.device_id)
        oldest: str | None = None
        for origin in sorted(origins):
            found = conn.execute(
                select(func.min(t.events.c.hlc)).where(
                    t.events.c.origin_device == origin,
                    t.events.c.origin_seq > acknowledged.get(origin, 0),
                )
            ).scalar()
            if found is not None and (oldest is None or str(found) < oldest):
                oldest = str(found)
    return Timestamp.decode(oldest).wall_ms if oldest else None


def hold_reason(branch: Any, days: float = HOLD_DAYS, now_ms: int | None = None) -> str:
    """Why an update must wait for a confirmation ("" when it need not)."""
    oldest = oldest_unsynced_ms(branch)
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    if oldest is None or now - oldest < days * _DAY_MS:
        return ""
    return N_("unsynced events older than {days} days")
