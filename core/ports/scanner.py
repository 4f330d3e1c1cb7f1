"""The scanner port: what the counter asks of any scanner, whatever drives it.

Device ids carry their backend as a prefix (``sane:…``, ``escl:…``, ``folder:…``,
``twain:…``) so one id names one device across the whole application.

A scan never throws away pages: :meth:`Scanner.scan` returns a :class:`ScanResult` with
every page read before a jam, an open cover, an unplug or a cancel, and the problem
itself in ``problem``. ``on_page`` is called after each page for progress.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from .errors import HardwareError, UnsupportedSetting


class ColorMode(StrEnum):
    GRAY = "gray"
    COLOR = "color"
    LINEART = "lineart"


class Source(StrEnum):
    FLATBED = "flatbed"
    FEEDER = "feeder"


class PixelFormat(StrEnum):
    """How a page's bytes are encoded."""

    RAW_GRAY = "raw-gray"  # 8 bits a pixel, rows top to bottom
    RAW_RGB = "raw-rgb"  # 24 bits a pixel
    JPEG = "jpeg"
    PNG = "png"
    TIFF = "tiff"
    PDF = "pdf"  # a scanner (eSCL) or folder that already delivers PDF pages


@dataclass(frozen=True)
class ScanSettings:
    resolution: int = 300
    mode: ColorMode = ColorMode.GRAY
    source: Source = Source.FLATBED
    duplex: bool = False


@dataclass(frozen=True)
class ScannerInfo:
    id: str
    name: str
    backend: str
    vendor: str = ""
    model: str = ""
    connection: str = ""  # usb, network, folder, …


@dataclass(frozen=True)
class ScannerCapabilities:
    resolutions: tuple[int, ...]
    modes: tuple[ColorMode, ...]
    sources: tuple[Source, ...]
    duplex: bool = False
    max_width_mm: float = 0.0
    max_height_mm: float = 0.0

    def check(self, device_id: str, settings: ScanSettings) -> None:
        """Refuse settings the device cannot honour, before any paper moves."""
        if settings.mode not in self.modes:
            raise UnsupportedSetting(device_id, "mode", settings.mode)
        if settings.source not in self.sources:
            raise UnsupportedSetting(device_id, "source", settings.source)
        res = self.resolutions
        if res and not min(res) <= settings.resolution <= max(res):
            raise UnsupportedSetting(device_id, "resolution", str(settings.resolution))
        if settings.duplex and not self.duplex:
            raise UnsupportedSetting(device_id, "duplex", "on")


@dataclass(frozen=True)
class ScannedPage:
    """One page as the device delivered it; ``number`` counts from 1 within the scan."""

    number: int
    data: bytes
    pixel_format: PixelFormat
    dpi: int
    mode: ColorMode
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class ScanResult:
    device_id: str
    settings: ScanSettings
    pages: tuple[ScannedPage, ...]
    problem: HardwareError | None = None

    @property
    def complete(self) -> bool:
        return self.problem is None

    def raise_for_problem(self) -> None:
        if self.problem is not None:
            raise self.problem


@dataclass
class CancelToken:
    """Set from any thread; the scanner stops before the next page."""

    _event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


PageCallback = Callable[[ScannedPage], None]


@runtime_checkable
class Scanner(Protocol):
    """One scanner backend (SANE, eSCL, TWAIN/WIA, a watched folder)."""

    backend: str

    def usable(self) -> bool:
        """Whether this backend's driver stack is present on this computer."""
        ...

    def devices(self) -> list[ScannerInfo]: ...

    def capabilities(self, device_id: str) -> ScannerCapabilities: ...

    def scan(
        self,
        device_id: str,
        settings: ScanSettings,
        on_page: PageCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ScanResult: ...
