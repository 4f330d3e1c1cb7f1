"""Scanner backends and the hub that routes a device id to its backend.

``available_scanners()`` asks each backend whether it is usable here and returns a
:class:`ScannerHub` over those that are; it raises ``NoBackendAvailable`` when none is.
The backends: SANE on Linux, WIA and TWAIN on Windows, eSCL everywhere, and watched
folders when some are configured.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from core.ports.errors import DeviceNotFound, NoBackendAvailable
from core.ports.scanner import (
    CancelToken,
    PageCallback,
    Scanner,
    ScannerCapabilities,
    ScannerInfo,
    ScanResult,
    ScanSettings,
)


class ScannerHub:
    """One Scanner over several backends; device ids carry the backend prefix. A device
    of a backend that is not usable here is refused naming that backend."""

    backend = "hub"

    def __init__(self, backends: Sequence[Scanner], unusable: Sequence[str] = ()) -> None:
        self.backends = list(backends)
        self.unusable = list(unusable)  # backends tried and not usable on this computer

    def usable(self) -> bool:
        return bool(self.backends)

    def devices(self) -> list[ScannerInfo]:
        return [info for backend in self.backends for info in backend.devices()]

    def _for(self, device_id: str) -> Scanner:
        prefix = device_id.split(":", 1)[0]
        for backend in self.backends:
            if backend.backend == prefix:
                return backend
        if prefix in self.unusable:
            raise NoBackendAvailable("scanner", prefix)
        raise DeviceNotFound(device_id)

    def capabilities(self, device_id: str) -> ScannerCapabilities:
        return self._for(device_id).capabilities(device_id)

    def scan(
        self,
        device_id: str,
        settings: ScanSettings,
        on_page: PageCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ScanResult:
        return self._for(device_id).scan(device_id, settings, on_page, cancel)


def candidate_scanners(
    escl_addresses: Sequence[str] = (), folders: Sequence[Path] = (), discover: bool = True
) -> list[Scanner]:
    """Every backend that could exist on this platform, usable or not."""
    from .escl import EsclScanner
    from .folder import FolderScanner

    found: list[Scanner] = []
    if sys.platform.startswith("linux"):
        from .sane_scanner import SaneScanner

        found.append(SaneScanner())
    if sys.platform == "win32":
        from .windows import TwainScanner, WiaScanner

        found += [WiaScanner(), TwainScanner()]
    found.append(EsclScanner(escl_addresses, discover=discover))
    if folders:
        found.append(FolderScanner(list(folders)))
    return found


def available_scanners(
    escl_addresses: Sequence[str] = (), folders: Sequence[Path] = (), discover: bool = True
) -> ScannerHub:
    candidates = candidate_scanners(escl_addresses, folders, discover)
    usable = [backend for backend in candidates if backend.usable()]
    if not usable:
        raise NoBackendAvailable("scanner", ", ".join(b.backend for b in candidates))
    return ScannerHub(usable, [b.backend for b in candidates if b not in usable])
