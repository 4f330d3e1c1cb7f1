"""One thread for all device I/O: drivers (SANE, libusb, serial) are not thread-safe.

The desktop submits work and gets a future; the UI thread never blocks on a device.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class DeviceThread:
    def __init__(self, name: str = "motcua-devices") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._ident: int | None = None
        self._pool.submit(self._remember).result()

    def _remember(self) -> None:
        self._ident = threading.get_ident()

    @property
    def is_current(self) -> bool:
        return threading.get_ident() == self._ident

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run on the device thread and wait (for scripts and the CLI)."""
        if self.is_current:
            return fn(*args, **kwargs)
        return self._pool.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
