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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
V = TypeVar("V")
Post = Callable[[Callable[[], None]], None]
Failed = Callable[[BaseException], None]


def origin_of(work: Callable[..., object]) -> str:
    """Where `work` is written ("shell.py:253"): most jobs are lambdas."""
    code = getattr(work, "__code__", None)
    if code is None:
        return repr(work)
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}"


def run_now(callback: Callable[[], None]) -> None:
    """A ``post`` for scripts and benchmarks: call back on the worker thread."""
    callback()


@dataclass
class _Job(Generic[T]):
    work: Callable[[], T]
    done: Callable[[T], object] | None
    failed: Failed | None
    origin: str  # where the job's code is written (a diagnosis names it)


class Worker:
    """One thread running jobs in submission order."""

    def __init__(self, name: str, post: Post = run_now) -> None:
        self.name = name
        self.post = post
        self._jobs: queue.Queue[_Job[Any] | None] = queue.Queue()  # jobs of any result
        self._busy = 0
        self._lock = threading.Lock()
        self._running: tuple[str, float] | None = None  # the job on the thread, since when
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs queued or running (their callbacks may still be on their way)."""
        with self._lock:
            return self._busy

    def describe(self) -> str:
        """What the worker is doing, for a diagnosis: its pending jobs and the one it runs
        (where that job's code is written, and for how long it has run)."""
        running = self._running
        doing = f"{running[0]} for {time.monotonic() - running[1]:.1f} s" if running else "idle"
        return f"{self.name}: {self.pending} pending, {doing}"

    def submit(
        self,
        work: Callable[[], T],
        done: Callable[[T], object] | None = None,
        failed: Failed | None = None,
        origin: str | None = None,
    ) -> None:
        with self._lock:
            self._busy += 1
        self._jobs.put(_Job(work, done, failed, origin or origin_of(work)))

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._running = (job.origin, time.monotonic())
            try:
                result = job.work()
            except BaseException as err:  # report every failure to the UI
                self._deliver(job.failed, err, job)
            else:
                self._deliver(job.done, result, job)
            finally:
                self._running = None

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
