"""Hybrid logical clock: wall milliseconds plus a counter.

It orders events for display and folding even when desktop clocks disagree: a replica
that receives an event moves its clock past it, so an effect always sorts after its
cause. Causality itself is carried by event parents, not by this clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Timestamp:
    wall_ms: int
    counter: int

    def encode(self) -> str:
        """Fixed-width text that sorts like the timestamp itself."""
        return f"{self.wall_ms:015d}.{self.counter:06d}"

    @classmethod
    def decode(cls, text: str) -> Timestamp:
        wall, _, counter = text.partition(".")
        return cls(int(wall), int(counter))


ZERO = Timestamp(0, 0)
COUNTER_MAX = 999_999  # six digits in the encoding; one more carries into the next ms
# How far past a replica's own clock a remote event may be dated and still move that
# clock. Further is a wrong or hostile clock: followed, one event could drag every
# desk's clock years ahead (and its counter out of the encoding). A day leaves room for
# a PC whose hardware clock keeps local time as if it were UTC (+7 h here).
MAX_AHEAD_MS = 24 * 3600 * 1000


def _stamp(wall_ms: int, counter: int) -> Timestamp:
    if counter > COUNTER_MAX:
        return Timestamp(wall_ms + 1, 0)
    return Timestamp(wall_ms, counter)


def too_far_ahead(stamp: Timestamp, now_ms: int) -> bool:
    return stamp.wall_ms > now_ms + MAX_AHEAD_MS


def tick(last: Timestamp, now_ms: int) -> Timestamp:
    """The timestamp of a local event, after `last`."""
    if now_ms > last.wall_ms:
        return Timestamp(now_ms, 0)
    return _stamp(last.wall_ms, last.counter + 1)


def observe(last: Timestamp, remote: Timestamp, now_ms: int) -> Timestamp:
    """The clock after receiving a remote event: past both `last` and `remote` — unless
    `remote` is dated too far ahead (``MAX_AHEAD_MS``), which leaves the clock as it was."""
    if too_far_ahead(remote, now_ms):
        return last
    wall = max(last.wall_ms, remote.wall_ms, now_ms)
    if wall == last.wall_ms == remote.wall_ms:
        return _stamp(wall, max(last.counter, remote.counter) + 1)
    if wall == last.wall_ms:
        return _stamp(wall, last.counter + 1)
    if wall == remote.wall_ms:
        return _stamp(wall, remote.counter + 1)
    return Timestamp(wall, 0)
