"""TWAIN scanners on Windows (pytwain), behind the same port. Imported only on Windows.

Device id: ``twain:<source name>``. The TWAIN data source manager is driven without its
UI; pages arrive as DIBs and are handed over as BMP-in-PNG bytes.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import sys
from typing import Any

from core.ports.errors import DeviceNotFound, FeederEmpty, ScanCancelled, ScanFailed
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

PREFIX = "twain:"
PIXEL_TYPES = {ColorMode.LINEART: 0, ColorMode.GRAY: 1, ColorMode.COLOR: 2}  # TWPT_*


class TwainScanner:
    backend = "twain"

    def usable(self) -> bool:
        return sys.platform == "win32" and importlib.util.find_spec("twain") is not None

    def _twain(self) -> Any:
        return importlib.import_module("twain")

    def devices(self) -> list[ScannerInfo]:
        twain = self._twain()
        with twain.SourceManager(0) as manager:
            return [
                ScannerInfo(PREFIX + name, name, self.backend, connection="twain")
                for name in manager.source_list
            ]

    def capabilities(self, device_id: str) -> ScannerCapabilities:
        return ScannerCapabilities(
            resolutions=(75, 600),
            modes=(ColorMode.GRAY, ColorMode.COLOR, ColorMode.LINEART),
            sources=(Source.FLATBED, Source.FEEDER),
            duplex=True,
        )

    def scan(
        self,
        device_id: str,
        settings: ScanSettings,
        on_page: PageCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ScanResult:
        twain = self._twain()
        pages: list[ScannedPage] = []
        with twain.SourceManager(0) as manager:
            try:
                source = manager.open_source(device_id.removeprefix(PREFIX))
            except twain.exceptions.TwainError as err:
                raise DeviceNotFound(device_id) from err
            with source:
                _configure(twain, source, settings)
                source.request_acquire(show_ui=False, modal_ui=False)
                more = 1
                while more:
                    if cancel is not None and cancel.cancelled:
                        return ScanResult(
                            device_id, settings, tuple(pages), ScanCancelled(device_id, len(pages))
                        )
                    try:
                        handle, more = source.xfer_image_natively()
                    except twain.exceptions.TwainError as err:
                        problem = (
                            FeederEmpty(device_id, len(pages))
                            if not pages
                            else ScanFailed(device_id, str(err), len(pages))
                        )
                        return ScanResult(device_id, settings, tuple(pages), problem)
                    bmp = twain.dib_to_bm_file(handle)
                    twain.global_handle_free(handle)
                    page = ScannedPage(
                        len(pages) + 1,
                        _png(bmp),
                        PixelFormat.PNG,
                        settings.resolution,
                        settings.mode,
                    )
                    pages.append(page)
                    if on_page is not None:
                        on_page(page)
        return ScanResult(device_id, settings, tuple(pages))


def _configure(twain: Any, source: Any, settings: ScanSettings) -> None:
    feeder = settings.source is Source.FEEDER
    source.set_capability(twain.CAP_FEEDERENABLED, twain.TWTY_BOOL, feeder)
    source.set_capability(twain.CAP_DUPLEXENABLED, twain.TWTY_BOOL, settings.duplex)
    source.set_capability(twain.ICAP_PIXELTYPE, twain.TWTY_UINT16, PIXEL_TYPES[settings.mode])
    source.set_capability(twain.ICAP_XRESOLUTION, twain.TWTY_FIX32, settings.resolution)
    source.set_capability(twain.ICAP_YRESOLUTION, twain.TWTY_FIX32, settings.resolution)


def _png(bmp: bytes) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(bmp)).save(out, "PNG")
    return out.getvalue()
