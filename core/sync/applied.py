"""What events and scans received from another replica changed on this desktop.

A pull from the centre, a LAN exchange and a push a LAN peer makes to this desk all end
in an :class:`Applied` record, so the screens open on this desk refresh from it as they
do from a local operation's ``Changes`` (``core.services.sync.received`` turns one into
the other). Reference data is named by kind: ``users``, ``calendar``, ``catalogue``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

USERS = "users"
CALENDAR = "calendar"
CATALOGUE = "catalogue"
_KINDS = (("user.", USERS), ("calendar.", CALENDAR), ("catalogue.", CATALOGUE))


def reference_kinds(event_types: Iterable[str]) -> frozenset[str]:
    """The kinds of reference data events of these types change."""
    return frozenset(
        kind for type_ in event_types for prefix, kind in _KINDS if type_.startswith(prefix)
    )


@dataclass(frozen=True)
class Applied:
    events: int = 0  # events received and applied here
    dossiers: frozenset[str] = frozenset()  # the dossiers they changed (ids)
    reference: frozenset[str] = frozenset()  # kinds of reference data they changed
    blobs: frozenset[str] = frozenset()  # scans received (SHA-256), now readable here
    transfers: int = 0  # offers and replies other units sent (``core.domain.transfers``)

    def __or__(self, other: Applied) -> Applied:
        return Applied(
            self.events + other.events,
            self.dossiers | other.dossiers,
            self.reference | other.reference,
            self.blobs | other.blobs,
            self.transfers + other.transfers,
        )

    def __bool__(self) -> bool:
        return bool(self.events or self.dossiers or self.reference or self.blobs or self.transfers)


@dataclass(frozen=True)
class LanRound:
    """One exchange with the LAN peers: those that answered, and what they brought."""

    answered: tuple[str, ...] = ()
    applied: Applied = Applied()
