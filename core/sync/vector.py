"""Version vectors: what a replica holds, as ``{origin_device: highest contiguous seq}``.

Two replicas exchange vectors and each sends the events above the other's. Because every
origin's sequence is gap-free, "above the vector" is exactly "what the other lacks".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.domain.events import Event

Vector = dict[str, int]


def above(vector: Mapping[str, int], event: Event) -> bool:
    """True when `event` is not covered by `vector`."""
    return event.origin_seq > vector.get(event.origin_device, 0)


def merge(a: Mapping[str, int], b: Mapping[str, int]) -> Vector:
    return {k: max(a.get(k, 0), b.get(k, 0)) for k in set(a) | set(b)}


def covers(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """True when `a` holds everything `b` holds."""
    return all(a.get(k, 0) >= v for k, v in b.items())


def missing_ranges(mine: Mapping[str, int], theirs: Mapping[str, int]) -> dict[str, range]:
    """For each origin, the sequences I have that they lack."""
    return {
        origin: range(theirs.get(origin, 0) + 1, seq + 1)
        for origin, seq in mine.items()
        if seq > theirs.get(origin, 0)
    }


def advance(vector: Mapping[str, int], events: Iterable[Event]) -> Vector:
    """The vector after contiguous `events` (sorted per origin) were added."""
    result = dict(vector)
    for event in events:
        if event.origin_seq == result.get(event.origin_device, 0) + 1:
            result[event.origin_device] = event.origin_seq
    return result
