"""Background workers: store, sync and device work never runs on the UI thread.

A :class:`Worker` is one thread taking jobs from a queue in order (one writer for the
local SQLite store, as datasette's ``_execute_writes`` does). A job's result or error
comes back through ``post``, which the application sets to Kivy's ``Clock`` so
callbacks run on the main thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
V = TypeVar("V")
Post = Callable[[Callable[[], None]], None]
Failed = Callable[[BaseException], None]


def run_now(callback: Callable[[], None]) -> None:
    """A ``post`` for scripts and benchmarks: call back on the worker thread."""
    callback()


@dataclass
class _Job(Generic[T]):
    work: Callable[[], T]
    done: Callable[[T], object] | None
    failed: Failed | None


class Worker:
    """One thread running jobs in submission order."""

    def __init__(self, name: str, post: Post = run_now) -> None:
        self.name = name
        self.post = post
        self._jobs: queue.Queue[_Job[Any] | None] = queue.Queue()  # jobs of any result
        self._busy = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs queued or running (their callbacks may still be on their way)."""
        with self._lock:
            return self._busy

    def submit(
        self,
        work: Callable[[], T],
        done: Callable[[T], object] | None = None,
        failed: Failed | None = None,
    ) -> None:
        with self._lock:
            self._busy += 1
        self._jobs.put(_Job(work, done, failed))

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                result = job.work()
            except BaseException as err:  # report every failure to the UI
                self._deliver(job.failed, err, job)
            else:
                self._deliver(job.done, result, job)

    def _deliver(self, callback: Callable[[V], object] | None, value: V, job: _Job[Any]) -> None:
        def finish() -> None:
            with self._lock:
                self._busy -= 1
            if callback is not None:
                callback(value)
            elif isinstance(value, BaseException):
                log.error("%s job failed", self.name, exc_info=value)

        self.post(finish)

    def stop(self, timeout: float = 5.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)
