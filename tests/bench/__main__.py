"""Run every benchmark module: `python -m tests.bench [NAME ...]`."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from .harness import Report


def main(selected: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    report = Report()
    for name in names:
        print(f"== {name}", flush=True)
        importlib.import_module(f"tests.bench.{name}").run(report)
    print(f"== {len(report.figures)} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
