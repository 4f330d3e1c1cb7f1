"""``motcua-server verify``: every chain of every scope, every hash, link and signature."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from core.domain.events import GENESIS_HASH
from core.sync.wire import event_from_wire

from . import schema as t
from .identity import server_origin


def verify(engine: Engine, server_key: str) -> dict[str, Any]:
    problems: list[dict[str, Any]] = []
    checked = 0
    with engine.connect() as conn:
        keys = {r.device_id: r.public_key for r in conn.execute(select(t.devices))}
        heads = conn.execute(select(t.heads)).all()
        for head in heads:
            key = (
                server_key
                if head.device_id == server_origin(head.branch)
                else keys.get(head.device_id)
            )
            seq, prev = 0, GENESIS_HASH
            rows = conn.execute(
                select(t.events.c.body)
                .where(t.events.c.branch == head.branch)
                .where(t.events.c.origin_device == head.device_id)
                .order_by(t.events.c.origin_seq)
            )
            for row in rows:
                checked += 1
                event = event_from_wire(json.loads(row.body))
                bad = (
                    "gap"
                    if event.origin_seq != seq + 1
                    else "broken link"
                    if event.prev_hash != prev
                    else "hash mismatch"
                    if not event.hash_ok()
                    else "bad signature"
                    if key is None or not event.signature_ok(key)
                    else ""
                )
                if bad:
                    problems.append(
                        {
                            "branch": head.branch,
                            "device": head.device_id,
                            "origin_seq": event.origin_seq,
                            "problem": bad,
                        }
                    )
                    break
                seq, prev = event.origin_seq, event.hash
            if (not problems or problems[-1]["device"] != head.device_id) and (
                seq != head.last_seq
            ):
                problems.append(
                    {
                        "branch": head.branch,
                        "device": head.device_id,
                        "origin_seq": seq,
                        "problem": "head mismatch",
                    }
                )
    return {
        "ok": not problems,
        "events_checked": checked,
        "chains": len(heads),
        "problems": problems,
    }
