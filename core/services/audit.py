"""The audit: walk every device chain and signature; name the first broken link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, select

from core.domain import authority
from core.domain.errors import N_
from core.domain.events import GENESIS_HASH, Event
from core.storage import actors, event_store, quarantine
from core.storage import schema as t

if TYPE_CHECKING:
    from .branch import Branch

GAP = N_("sequence gap: expected {expected}, found {found} (an event was deleted)")
BROKEN_LINK = N_(
    "chain broken: prev_hash does not match the previous event (reordered or replaced)"
)
ALTERED = N_("hash mismatch: the stored event was altered")
BAD_SIGNATURE = N_("signature invalid or device key unknown")
TRUNCATED = N_("chain truncated: the device head is at {head} but the log ends at {last}")
UNPROVEN = N_("applied without a valid proof of its actor (the quarantine was altered)")
UNREADABLE = N_("the stored event cannot be read: a field was altered in the database")


@dataclass(frozen=True)
class Problem:
    device: str
    origin_seq: int
    event_id: str | None
    message: str
    params: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "device": self.device,
            "origin_seq": self.origin_seq,
            "event_id": self.event_id,
            "problem": self.message.format(**self.params),
        }


@dataclass
class AuditReport:
    events_checked: int = 0
    devices: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "devices": self.devices,
            "problems": [p.as_dict() for p in self.problems],
        }


def _link_problem(event: Event, seq: int, prev: str, public_key: str | None) -> Problem | None:
    def problem(message: str, **params: int) -> Problem:
        return Problem(event.origin_device, event.origin_seq, event.event_id, message, params)

    if event.origin_seq != seq:
        return problem(GAP, expected=seq, found=event.origin_seq)
    if event.prev_hash != prev:
        return problem(BROKEN_LINK)
    if not _holds(event.hash_ok):
        return problem(ALTERED)
    if public_key is None or not _holds(lambda: event.signature_ok(public_key)):
        return problem(BAD_SIGNATURE)
    return None


def _holds(check: Callable[[], bool]) -> bool:
    """A check over stored values: a value too damaged to check does not hold."""
    try:
        return check()
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
        return False


def _decoded(row: Row[Any]) -> Event | None:
    try:
        return event_store.decode(row)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
        return None


def check_chain(
    conn: Connection, device: str, public_key: str | None
) -> tuple[int, Problem | None]:
    """(events checked, first problem or None) for one device's chain."""
    seq, prev, checked = 1, GENESIS_HASH, 0
    for row in event_store.chain_rows(conn, device):
        checked += 1
        event = _decoded(row)
        if event is None:
            return checked, Problem(device, row.origin_seq, row.event_id, UNREADABLE)
        problem = _link_problem(event, seq, prev, public_key)
        if problem:
            return checked, problem
        seq, prev = seq + 1, event.hash
    head_seq, head_hash = event_store.device_head(conn, device)
    if head_seq > seq - 1 or (head_seq and head_hash != prev):
        return checked, Problem(
            device, head_seq, None, TRUNCATED, {"head": head_seq, "last": seq - 1}
        )
    return checked, None


def unproven_steps(conn: Connection) -> list[Problem]:
    """Steps that need their actor's proof, applied (not quarantined) without a valid one:
    only an edited store gets there, since every fold refuses them."""
    held = {r[0] for r in conn.execute(select(quarantine.quarantine.c.event_id))}
    found: list[Problem] = []
    for row in event_store.all_rows(conn):
        event = _decoded(row)
        if event is None or event.event_id in held:
            continue  # an unreadable event is named by its chain's check
        if _holds(partial(authority.needs_proof, event)) and not _holds(
            partial(actors.proven, conn, event)
        ):
            found.append(Problem(event.origin_device, event.origin_seq, event.event_id, UNPROVEN))
    return found


def verify(branch: Branch) -> AuditReport:
    """Every chain, hash and signature; then every actor's proof."""
    report = AuditReport()
    with branch.store.read() as conn:
        devices = select(t.devices.c.device_id, t.devices.c.public_key)
        keys = {r.device_id: r.public_key for r in conn.execute(devices)}
        for device in event_store.origins(conn):
            report.devices += 1
            checked, problem = check_chain(conn, device, keys.get(device))
            report.events_checked += checked
            if problem:
                report.problems.append(problem)
        report.problems.extend(unproven_steps(conn))
    return report
