"""What one client may take of a server process: bodies in flight, failed enrolments.

Both are counted in the process's memory: the processes of ``serve --workers N`` (and the
instances behind a load balancer) each count their own, and a restart forgets them.

Slots      the request bodies a process holds at once: at most ``total``, and at most
           ``per_key`` of them for one key (one device, or every anonymous client
           together), so a single client can never take them all.
Attempts   failed attempts per key (a client address, a branch) in a sliding window:
           ``limit`` failures within ``window_s`` block the key until the oldest of
           them has left the window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

BODIES = 64  # request bodies one process holds at once (more → 429 busy)
BODIES_PER_CLIENT = 8  # of which one device, or every anonymous client together
ENROL_FAILURES = 10  # failed enrolments of one address, or into one branch, …
ENROL_WINDOW_S = 600.0  # … within this many seconds → 429 too-many-attempts
_MAX_KEYS = 50_000  # keys an Attempts remembers (the stalest is forgotten first)


class Slots:
    """Bodies in flight. Taken and given back on the event loop only (no lock)."""

    def __init__(self, total: int = BODIES, per_key: int = BODIES_PER_CLIENT) -> None:
        self.total = total
        self.per_key = per_key
        self.used = 0
        self._by_key: dict[str, int] = {}

    def take(self, key: str) -> bool:
        """A slot for `key`, or False when the process or the key has none left."""
        held = self._by_key.get(key, 0)
        if self.used >= self.total or held >= self.per_key:
            return False
        self.used += 1
        self._by_key[key] = held + 1
        return True

    def give(self, key: str) -> None:
        self.used -= 1
        held = self._by_key[key] - 1
        if held:
            self._by_key[key] = held
        else:
            del self._by_key[key]


class Attempts:
    """Failed attempts per key in a sliding window; thread-safe, bounded memory."""

    def __init__(
        self,
        limit: int = ENROL_FAILURES,
        window_s: float = ENROL_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = _MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait_s(self, keys: Iterable[str]) -> int:
        """Whole seconds until every key of `keys` may try again (0: now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if failures is not None and len(failures) >= self.limit:
                    wait = max(wait, failures[0] + self.window_s - now)
        return math.ceil(wait)

    def failed(self, keys: Iterable[str]) -> list[str]:
        """Count a failure against each key; returns the keys it blocked just now."""
        now = self.clock()
        blocked: list[str] = []
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if failures is None:
                    failures = self._failures[key] = deque(maxlen=self.limit)
                failures.append(now)
                self._failures.move_to_end(key)
                if len(failures) == self.limit:
                    blocked.append(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
        return blocked

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """The failures of `key` still inside the window (None: none)."""
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures
