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


def tick(last: Timestamp, now_ms: int) -> Timestamp:
    """The timestamp of a local event, after `last`."""
    if now_ms > last.wall_ms:
        return Timestamp(now_ms, 0)
    return Timestamp(last.wall_ms, last.counter + 1)


def observe(last: Timestamp, remote: Timestamp, now_ms: int) -> Timestamp:
    """The clock after receiving a remote event: past both `last` and `remote`."""
    wall = max(last.wall_ms, remote.wall_ms, now_ms)
    if wall == last.wall_ms == remote.wall_ms:
        return Timestamp(wall, max(last.counter, remote.counter) + 1)
    if wall == last.wall_ms:
        return Timestamp(wall, last.counter + 1)
    if wall == remote.wall_ms:
        return Timestamp(wall, remote.counter + 1)
    return Timestamp(wall, 0)
