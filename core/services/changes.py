"""What an operation changed, so each screen can decide what to redraw.

A local operation's record counts the events it recorded (``events_added``: they go up to
the centre now); a pull or a LAN exchange's counts those it received (``received``) and
names the scans that arrived (``scans``: SHA-256 addresses), so a dossier showing them
redraws its pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Changes:
    dossiers: frozenset[str] = field(default_factory=frozenset)
    users: bool = False
    calendar: bool = False
    catalogue: bool = False
    events_added: int = 0
    received: int = 0
    scans: frozenset[str] = field(default_factory=frozenset)
    transfers: int = 0  # offers and replies from other units that arrived

    def __or__(self, other: Changes) -> Changes:
        return Changes(
            self.dossiers | other.dossiers,
            self.users or other.users,
            self.calendar or other.calendar,
            self.catalogue or other.catalogue,
            self.events_added + other.events_added,
            self.received + other.received,
            self.scans | other.scans,
            self.transfers + other.transfers,
        )
