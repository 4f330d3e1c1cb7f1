"""What an operation changed, so each screen can decide what to redraw."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Changes:
    dossiers: frozenset[str] = field(default_factory=frozenset)
    users: bool = False
    calendar: bool = False
    catalogue: bool = False
    events_added: int = 0

    def __or__(self, other: Changes) -> Changes:
        return Changes(
            self.dossiers | other.dossiers,
            self.users or other.users,
            self.calendar or other.calendar,
            self.catalogue or other.catalogue,
            self.events_added + other.events_added,
        )
