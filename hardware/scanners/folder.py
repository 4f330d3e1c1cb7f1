"""A watched folder, for scanners that save files (scan-to-folder, scan-to-SMB).

Device id: ``folder:<path>``. A scan takes the files present in the folder (oldest
first), waits until each has stopped growing, and moves them into ``taken/`` so a file
is never lost nor imported twice.
"""

from __future__ import annotations

import time
from pathlib import Path

from core.ports.errors import DeviceNotFound, FeederEmpty, ScanCancelled
from core.ports.scanner import (
    CancelToken,
    ColorMode,
    PageCallback,
    PixelFormat,
    ScannedPage,
    ScannerCapabilities,
    ScannerInfo,
    ScanResult,
    ScanSettings,
    Source,
)

PREFIX = "folder:"
FORMATS = {
    ".jpg": PixelFormat.JPEG,
    ".jpeg": PixelFormat.JPEG,
    ".png": PixelFormat.PNG,
    ".tif": PixelFormat.TIFF,
    ".tiff": PixelFormat.TIFF,
    ".pdf": PixelFormat.PDF,
}
TAKEN = "taken"


class FolderScanner:
    backend = "folder"

    def __init__(self, folders: list[Path], settle_seconds: float = 0.5) -> None:
        self._folders = folders
        self._settle = settle_seconds

    def usable(self) -> bool:
        return any(folder.is_dir() for folder in self._folders)

    def devices(self) -> list[ScannerInfo]:
        return [
            ScannerInfo(PREFIX + str(f), f.name, self.backend, connection="folder")
            for f in self._folders
            if f.is_dir()
        ]

    def capabilities(self, device_id: str) -> ScannerCapabilities:
        return ScannerCapabilities(
            resolutions=(),
            modes=(ColorMode.GRAY, ColorMode.COLOR, ColorMode.LINEART),
            sources=(Source.FEEDER, Source.FLATBED),
        )

    def scan(
        self,
        device_id: str,
        settings: ScanSettings,
        on_page: PageCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ScanResult:
        folder = Path(device_id.removeprefix(PREFIX))
        if not folder.is_dir():
            raise DeviceNotFound(device_id)
        files = self._waiting_files(folder)
        if not files:
            return ScanResult(device_id, settings, (), FeederEmpty(device_id))
        taken = folder / TAKEN
        taken.mkdir(exist_ok=True)
        pages: list[ScannedPage] = []
        for path in files:
            if cancel is not None and cancel.cancelled:
                return ScanResult(device_id, settings, tuple(pages), ScanCancelled(device_id))
            self._settled(path)
            page = ScannedPage(
                len(pages) + 1,
                path.read_bytes(),
                FORMATS[path.suffix.lower()],
                settings.resolution,
                settings.mode,
            )
            path.replace(taken / path.name)
            pages.append(page)
            if on_page is not None:
                on_page(page)
        return ScanResult(device_id, settings, tuple(pages))

    def _waiting_files(self, folder: Path) -> list[Path]:
        files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FORMATS]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def _settled(self, path: Path) -> None:
        """Wait until the scanner has finished writing the file (its size stops changing)."""
        size = -1
        while size != (size := path.stat().st_size):
            time.sleep(self._settle)
