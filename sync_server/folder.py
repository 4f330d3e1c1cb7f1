"""Folding pushed events into the projections, in the background of each server process.

A push is answered as soon as its events are committed; it only marks its branch for
folding (``wake``). One thread per process folds the marked branches from their cursors
(``projections.catch_up``) once pushes have been quiet for a moment (``_QUIET_S``), or
at the latest ``_MAX_DEFER_S`` after the first one it was told of: during a burst the
pushes keep the CPU (the fold is Python, like the push path, and would halve it), and
the fold then reads the log in long chunks. Readers never wait for it: a console page
folds what is still pending itself (``projections.settle``).
The log is the queue, so nothing is lost when a fold fails or a process dies: the branch
is folded again later (a failure is retried after a pause), by this folder, another
process's, a console page that needs it (``projections.settle``) or ``rebuild``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from . import projections

log = logging.getLogger(__name__)
_QUIET_S = 0.5  # no push for this long: the burst is over, fold
_MAX_DEFER_S = 10.0  # a steady stream of pushes still gets folded this often
_RETRY_S = 5.0  # after a failed fold (the database away, a lock timeout)


def _catch_up(engine: Engine, branch: str) -> int:
    return projections.catch_up(engine, branch, count=True)


class Folder:
    """The process's background folder: ``wake`` marks a branch; ``stop`` ends it."""

    def __init__(self, engine: Engine, fold: Callable[[Engine, str], int] | None = None) -> None:
        """`fold`: folds one branch (``projections.catch_up``, counting the intake)."""
        self.engine = engine
        self.fold = fold or _catch_up
        self._marked: set[str] = set()
        self._wakeup = threading.Condition()
        self._stopping = False
        self._stopped = threading.Event()
        self._first = self._last = 0.0  # monotonic: first and last wake since the last fold
        self._thread: threading.Thread | None = None

    def wake(self, branch: str) -> None:
        """Fold `branch` soon (the thread starts with the first push it is told of)."""
        with self._wakeup:
            if self._stopping:
                return
            if not self._marked:
                self._first = time.monotonic()
            self._last = time.monotonic()
            self._marked.add(branch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fold", daemon=True)
                self._thread.start()
            self._wakeup.notify()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the fold under way (what is marked stays in the log for later)."""
        with self._wakeup:
            self._stopping = True
            self._stopped.set()
            self._wakeup.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        while (branches := self._next()) is not None:
            for branch in sorted(branches):
                if not self._fold(branch):
                    self._mark_later(branch)

    def _next(self) -> set[str] | None:
        """The branches to fold now, once the pushes have been quiet for ``_QUIET_S`` (or
        deferred ``_MAX_DEFER_S``); None when stopping."""
        with self._wakeup:
            while not self._marked and not self._stopping:
                self._wakeup.wait()
        while True:
            with self._wakeup:
                if self._stopping:
                    return None
                now = time.monotonic()
                due = min(self._last + _QUIET_S, self._first + _MAX_DEFER_S)
                if now >= due:
                    taken, self._marked = self._marked, set()
                    return taken
            if self._stopped.wait(due - now):
                return None

    def _fold(self, branch: str) -> bool:
        try:
            self.fold(self.engine, branch)
        except Exception:  # the log keeps the events: folded at the retry, or by rebuild
            log.exception("branch %s not folded (retried in %.0f s)", branch, _RETRY_S)
            return False
        return True

    def _mark_later(self, branch: str) -> None:
        def again() -> None:
            self.wake(branch)

        timer = threading.Timer(_RETRY_S, again)
        timer.daemon = True
        timer.start()
