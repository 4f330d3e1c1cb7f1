"""The collector's pause around a bulk job: rarer collections, thresholds given back."""

from __future__ import annotations

import gc
import threading

import pytest

from core.collections_pause import BULK_THRESHOLD, fewer_collections


def test_thresholds_raised_inside_and_restored_after_even_on_failure() -> None:
    before = gc.get_threshold()
    inside: list[tuple[int, int, int]] = []

    def failing_pull() -> None:
        with fewer_collections():
            inside.append(gc.get_threshold())
            raise RuntimeError("a pull that fails")

    with pytest.raises(RuntimeError):
        failing_pull()
    assert inside == [(max(before[0], BULK_THRESHOLD), *before[1:])]
    assert gc.get_threshold() == before
    assert gc.isenabled()


def test_overlapping_jobs_restore_only_when_the_last_ends() -> None:
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with fewer_collections():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=other_job)
    with fewer_collections():
        worker.start()
        assert inside.wait(5)
    assert gc.get_threshold()[0] == BULK_THRESHOLD  # the other job still runs
    release.set()
    worker.join(5)
    assert gc.get_threshold() == before
