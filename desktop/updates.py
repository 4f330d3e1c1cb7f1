"""The desk's update check after a successful sync, in the background.

At most once every ``CHECK_EVERY_S`` (and never two at once), after the sync agent
reports an exchange: the check, download, verification and staging run in their own
thread (``core.update.service.background_check``), so the counter never waits; the new
version starts at the next start. ``motcua update status`` shows the download's
progress and a staged or held version.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from core.update import service

if TYPE_CHECKING:
    from desktop.services import Services

log = logging.getLogger(__name__)
CHECK_EVERY_S = 6 * 3600.0


class UpdateWatcher:
    def __init__(self, services: Services, every_s: float = CHECK_EVERY_S) -> None:
        self.services = services
        self.every_s = every_s
        self.next_at = 0.0
        self.thread: threading.Thread | None = None

    def after_sync(self, _summary: object) -> None:
        """A sync listener: start a check when one is due."""
        if time.monotonic() < self.next_at or (self.thread and self.thread.is_alive()):
            return
        self.next_at = time.monotonic() + self.every_s
        self.thread = threading.Thread(target=self._check, name="update-check", daemon=True)
        self.thread.start()

    def _check(self) -> None:
        from core.services.sync import server_url

        branch = self.services.branch
        try:
            url = server_url(branch)
        except Exception:  # not enrolled: nothing to ask
            return
        service.background_check(self.services.data_dir, url, branch, self._done)

    @staticmethod
    def _done(result: dict[str, Any]) -> None:
        if result.get("held"):
            log.warning("update %s staged but held: %s", result.get("staged"), result["held"])


def watch(services: Services) -> UpdateWatcher | None:
    """Check for updates after each sync of an enrolled desk (None when it has no agent)."""
    agent = getattr(services.sync, "agent", None)
    if agent is None or not hasattr(agent, "listeners"):
        return None
    watcher = UpdateWatcher(services)
    agent.listeners.append(watcher.after_sync)
    return watcher
