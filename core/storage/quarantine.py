"""Quarantine: events kept in the log but never applied, with the rule they broke.

An event refused by the authority table, or one whose fold raises, must not stop the
events after it: the chain it belongs to still links through it, so it is logged as any
other, recorded here, and skipped by every fold (incremental, batch and rebuild alike).
The admin reads the report (``motcua quarantine``); nothing here is ever deleted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, Text, select

from core.domain.errors import MotcuaError
from core.domain.events import Event

from . import schema as t
from .db import raw

quarantine = Table(
    "quarantine",
    t.metadata,
    Column("event_id", String, primary_key=True),
    Column("origin_device", String, nullable=False),
    Column("origin_seq", Integer, nullable=False),
    Column("type", String, nullable=False),
    Column("rule", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("at", String, nullable=False),
)

_RECORD = (
    "INSERT OR IGNORE INTO quarantine "
    "(event_id, origin_device, origin_seq, type, rule, message, params, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def record(conn: Connection, event: Event, rule: str, err: MotcuaError) -> None:
    """Remember `event` as refused by `rule` (once: a refold records nothing new)."""
    params = json.dumps({k: str(v) for k, v in err.params.items()}, ensure_ascii=False)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    row = (event.event_id, event.origin_device, event.origin_seq, event.type[:64], rule)
    raw(conn).execute(_RECORD, (*row, err.message, params, at))


# Verdicts made while folding, from the users folded before the event (``core.storage.
# actors``): made again at every refold, so an event that arrives late can change them.
FOLD_RULE = "branch-admin-role"
UNPROVEN = "unproven-actor"
STEP_ROLE = "step-role"  # a decision by a user who did not hold its role at that moment
REJUDGED = (FOLD_RULE, UNPROVEN, STEP_ROLE)
# Verdicts on dossier steps, forgotten and made again when the users change.
STEP_VERDICTS = (UNPROVEN, STEP_ROLE)


def ids(conn: Connection) -> frozenset[str]:
    """The event ids every fold skips: refused for good (the table is empty on an honest
    branch: one cheap read)."""
    marks = ", ".join("?" * len(REJUDGED))
    rows = raw(conn).execute(
        f"SELECT event_id FROM quarantine WHERE rule NOT IN ({marks})", REJUDGED
    )
    return frozenset(r[0] for r in rows)


def forget_fold_verdicts(conn: Connection, rules: tuple[str, ...] = REJUDGED) -> None:
    """Forget the verdicts a refold of the users makes again: on reference events (those
    on dossier steps are forgotten as their dossiers are refolded, ``actors``)."""
    for rule in rules:
        raw(conn).execute(
            "DELETE FROM quarantine WHERE rule = ? AND event_id IN "
            "(SELECT event_id FROM events WHERE dossier_id IS NULL)",
            (rule,),
        )


def entries(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(quarantine).order_by(quarantine.c.at, quarantine.c.event_id))
    return [
        {
            "event_id": r.event_id,
            "origin_device": r.origin_device,
            "origin_seq": r.origin_seq,
            "type": r.type,
            "rule": r.rule,
            "message": r.message,
            "params": json.loads(r.params),
            "at": r.at,
        }
        for r in rows
    ]
