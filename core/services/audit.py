"""The audit: walk every device chain and signature; name the first broken link."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from core.domain.events import GENESIS_HASH, Event
from core.storage import event_store
from core.storage import schema as t

if TYPE_CHECKING:
    from .branch import Branch


@dataclass
class AuditReport:
    events_checked: int = 0
    devices: int = 0
    problems: list[dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "events_checked": self.events_checked, "devices": self.devices, "problems": self.problems}


def _problem(event: Event | None, device: str, seq: int, what: str) -> dict[str, object]:
    return {"device": device, "origin_seq": seq, "event_id": event.event_id if event else None, "problem": what}


def check_chain(conn: Connection, device: str, public_key: str | None) -> tuple[int, dict[str, object] | None]:
    """(events checked, first problem or None) for one device's chain."""
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    for event in event_store.chain(conn, device):
        checked += 1
        if event.origin_seq != expected_seq:
            return checked, _problem(event, device, event.origin_seq, f"sequence gap: expected {expected_seq}, found {event.origin_seq} (an event was deleted)")
        if event.prev_hash != prev:
            return checked, _problem(event, device, event.origin_seq, "chain broken: prev_hash does not match the previous event (events reordered or replaced)")
        if not event.hash_ok():
            return checked, _problem(event, device, event.origin_seq, "hash mismatch: the stored event was altered")
        if public_key is None or not event.signature_ok(public_key):
            return checked, _problem(event, device, event.origin_seq, "signature invalid or device key unknown")
        expected_seq, prev = expected_seq + 1, event.hash
    head_seq, head_hash = event_store.device_head(conn, device)
    if head_seq >= expected_seq or (head_seq == expected_seq - 1 and head_hash != prev and head_seq > 0):
        return checked, _problem(None, device, head_seq, f"chain truncated: device head is {head_seq} but the log ends at {expected_seq - 1}")
    return checked, None


def verify(branch: Branch) -> AuditReport:
    report = AuditReport()
    with branch.store.read() as conn:
        keys = {r.device_id: r.public_key for r in conn.execute(select(t.devices.c.device_id, t.devices.c.public_key))}
        for device in event_store.origins(conn):
            report.devices += 1
            checked, problem = check_chain(conn, device, keys.get(device))
            report.events_checked += checked
            if problem:
                report.problems.append(problem)
    return report
