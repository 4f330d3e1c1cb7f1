"""The background worker: jobs in order, results posted back, and a diagnosis of what it
is doing (a harness that times out names the job a worker is stuck on)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from desktop.worker import Worker, origin_of


def _blocked_job(started: threading.Event, release: threading.Event) -> Callable[[], str]:
    def wait_for_release() -> str:
        started.set()
        release.wait(10)
        return "done"

    return wait_for_release


def test_a_worker_names_the_job_it_runs_and_is_idle_after() -> None:
    """GIVEN a worker running a job that waits WHEN it is described THEN it names one
    pending job, where that job is written and how long it has run; once the job ends
    and its result is delivered THEN it is idle with nothing pending."""
    worker = Worker("reader")
    started, release = threading.Event(), threading.Event()
    results: list[str] = []
    job = _blocked_job(started, release)
    try:
        worker.submit(job, results.append)
        assert started.wait(10)
        described = worker.describe()
        assert described.startswith("reader: 1 pending, test_worker.py:")
        assert origin_of(job) in described and " s" in described
        release.set()
        assert _until(lambda: worker.pending == 0)
        assert results == ["done"]
        assert worker.describe() == "reader: 0 pending, idle"
    finally:
        release.set()
        worker.stop()


def test_a_job_submitted_for_another_names_the_code_it_runs() -> None:
    """A wrapper's lambda is not the clerk's operation: the origin given is named."""
    worker = Worker("writer")
    started, release = threading.Event(), threading.Event()
    try:
        worker.submit(_blocked_job(started, release), origin="shell.py:253")
        assert started.wait(10)
        assert worker.describe().startswith("writer: 1 pending, shell.py:253 for ")
    finally:
        release.set()
        worker.stop()


def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return condition()


def test_a_timed_out_step_says_what_the_window_was_doing(harness: Any) -> None:
    """When a step times out, the message names the screen, each worker's job, whether a
    transition still runs, and how long the last frames took (a loaded machine or a
    hang: the message tells which)."""
    from .flows import login

    login(harness, "officer")
    harness.shell.ops.read(lambda _b: time.sleep(0.5), lambda _r: None)
    with pytest.raises(TimeoutError) as caught:
        harness.settle(timeout=0.05)
    message = str(caught.value)
    assert "screen 'dashboard'" in message and "1 pending" in message
    assert "still" in message or "transition running" in message
    assert "last frames" in message and " s)" in message
    harness.settle()
