"""Fewer garbage collections during a bulk job (a catch-up's pull).

A pull holds tens of thousands of decoded events and views in memory until it folds them,
and allocates millions of small objects that do not form cycles. With CPython's default
thresholds the cyclic collector runs hundreds of times during a 30,000-event catch-up and
its full collections walk everything held: about a sixth of the catch-up's time, measured
(docs/sync.md). Raising the youngest generation's threshold while the job runs keeps the
collector working, only rarely; the thresholds are restored when the last job ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 100_000  # allocations between young collections (CPython's default: 700)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect rarely while the block runs; nested or concurrent blocks share one pause."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            young, middle, old = _saved
            gc.set_threshold(max(young, BULK_THRESHOLD), middle, old)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
