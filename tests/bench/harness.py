"""Tiny harness shared by the benchmark modules.

A module ``tests/bench/bench_*.py`` defines ``run(report: Report) -> None`` and calls
``report.figure(...)`` for each measurement, always with the baseline it is compared to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    aim: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")

    def line(self) -> str:
        aim = f"  aim: {self.aim}" if self.aim else ""
        return (
            f"{self.name}: {self.value:,.2f} {self.unit}"
            f"  | baseline ({self.baseline_name}): {self.baseline_value:,.2f} {self.unit}"
            f"  | ratio {self.ratio:.2f}{aim}"
        )


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)

    def figure(self, *args: object, **kwargs: object) -> Figure:
        fig = Figure(*args, **kwargs)  # type: ignore[arg-type]
        self.figures.append(fig)
        print(fig.line(), flush=True)
        return fig


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Yields a function giving the seconds elapsed; frozen when the block ends."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())
