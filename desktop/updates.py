"""The desk's update check after a successful sync, in the background.

At most once every ``CHECK_EVERY_S`` (and never two at once), after the sync agent
reports an exchange, or at once from Settings: the check, download, verification and
staging run in their own thread (``core.update.service.background_check``), so the
counter never waits; the new version starts at the next start. The watcher keeps the
download's progress and the last outcome, and tells its listeners on the window's thread
(Settings' *Updates* card, the status line).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.update import service

from .worker import Post, run_now

if TYPE_CHECKING:
    from desktop.services import Services

log = logging.getLogger(__name__)
CHECK_EVERY_S = 6 * 3600.0
Listener = Callable[[], None]


@dataclass
class Download:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0


class UpdateWatcher:
    def __init__(
        self, services: Services, every_s: float = CHECK_EVERY_S, post: Post = run_now
    ) -> None:
        self.services = services
        self.every_s = every_s
        self.post = post
        self.next_at = 0.0
        self.thread: threading.Thread | None = None
        self.download: Download | None = None  # while a release downloads
        self.outcome: dict[str, Any] = {}  # the last check's result ({"error": ...} if failed)
        self.listeners: list[Listener] = []
        self._checking = False
        self._starting = threading.Lock()  # checks start from the sync agent and the window
        self._shown = -1  # the last whole percent told to the listeners

    @property
    def checking(self) -> bool:
        """A check runs: true from ``check_now`` until its outcome is kept, before the
        listeners are told (they read it then, and must see the check as finished)."""
        return self._checking

    def after_sync(self, _summary: object) -> None:
        """A sync listener: start a check when one is due."""
        if time.monotonic() < self.next_at:
            return
        self.check_now()

    def check_now(self) -> bool:
        """Start a check unless one runs (False then)."""
        with self._starting:
            if self._checking:
                return False
            self._checking = True
        self.next_at = time.monotonic() + self.every_s
        self.thread = threading.Thread(target=self._check, name="update-check", daemon=True)
        self._tell()  # "Asking…" before the thread starts: a check that fails at once (not
        self.thread.start()  # enrolled) would otherwise be told before it was begun
        return True

    def _check(self) -> None:
        from core.services.sync import server_url

        branch = self.services.branch
        try:
            url = server_url(branch)
        except Exception as err:  # not enrolled: nothing to ask
            self._done({"error": str(err)})
            return
        service.background_check(
            self.services.data_dir, url, branch, self._done, progress=self._progress
        )

    def _progress(self, done: int, total: int) -> None:
        self.download = Download(done, total)
        percent = self.download.percent
        if percent != self._shown:
            self._shown = percent
            self._tell()

    def _done(self, result: dict[str, Any]) -> None:
        self.download = None
        self._shown = -1
        self.outcome = result
        self._checking = False
        if result.get("held"):
            log.warning("update %s staged but held: %s", result.get("staged"), result["held"])
        self._tell()

    def _tell(self) -> None:
        for listener in list(self.listeners):
            self.post(listener)


def watch(services: Services, post: Post = run_now) -> UpdateWatcher | None:
    """Check for updates after each sync of an enrolled desk (None when it has no agent)."""
    agent = getattr(services.sync, "agent", None)
    if agent is None or not hasattr(agent, "listeners"):
        return None
    watcher = UpdateWatcher(services, post=post)
    agent.listeners.append(watcher.after_sync)
    return watcher
