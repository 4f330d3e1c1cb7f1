"""Live screens: what other desks' events change here reaches the open screens.

The sync agent (a pull from the centre, a LAN round) and the LAN peer service (a peer's
push) report what they applied (``core.sync.applied.Applied``) from their own threads.
:class:`ReceivedFeed` turns each report into the ``Changes`` record a local operation
returns and hands it to its listeners on the main thread (the shell, which passes it to
the screens), so a dossier received on another desk shows within one sync cycle.
"""

from __future__ import annotations

from collections.abc import Callable

from core.services.changes import Changes
from core.services.sync import received
from core.sync.applied import Applied

from .worker import Post, run_now

ChangesListener = Callable[[Changes], None]


class ReceivedFeed:
    def __init__(self, post: Post = run_now) -> None:
        self.post = post
        self.listeners: list[ChangesListener] = []

    def applied(self, applied: Applied) -> None:
        """From any thread: what was applied here, delivered on the main thread."""
        if applied:
            changes = received(applied)
            self.post(lambda: self._deliver(changes))

    def _deliver(self, changes: Changes) -> None:
        for listener in list(self.listeners):
            listener(changes)
