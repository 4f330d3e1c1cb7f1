"""Scanners on Windows behind the same port: TWAIN (pytwain) and WIA (pywin32).

TWAIN — device id ``twain:<source name>``: the data source manager is driven without its
UI; pages arrive as DIBs and are handed over as BMP-in-PNG bytes.

WIA — device id ``wia:<WIA device id>``: Windows Image Acquisition's automation layer;
pages are transferred as PNG, the feeder read until WIA says it is empty.

Both are offered only on Windows (``hardware.scanners.candidate_scanners``).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import sys
from typing import Any

from core.ports.errors import (
    CoverOpen,
    DeviceBusy,
    DeviceGone,
    DeviceNotFound,
    FeederEmpty,
    HardwareError,
    PaperJam,
    ScanCancelled,
    ScanFailed,
)
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


# --- WIA ---------------------------------------------------------------------------------
# Windows Image Acquisition through its automation layer (WIA.DeviceManager, pywin32's
# win32com): every scanner with a WIA driver, which is most of them on Windows 10/11.

WIA_PREFIX = "wia:"
WIA_SCANNER = 1  # WiaDeviceType.ScannerDeviceType
WIA_FORMAT_PNG = "{B96B3CAF-0728-11D3-9D7B-0000F81EF32E}"
DOCUMENT_HANDLING_SELECT = "3088"  # WIA_DPS_DOCUMENT_HANDLING_SELECT
DOCUMENT_HANDLING_CAPABILITIES = "3086"
PAGES = "3096"  # WIA_DPS_PAGES: 0 = every sheet in the feeder
FEEDER, FLATBED, DUPLEX = 0x001, 0x002, 0x004
CURRENT_INTENT, X_RESOLUTION, Y_RESOLUTION = "6146", "6147", "6148"
INTENTS = {ColorMode.COLOR: 1, ColorMode.GRAY: 2, ColorMode.LINEART: 4}  # WIA_INTENT_*
# WIA_ERROR_* (HRESULTs) → what the clerk is told
WIA_PAPER_JAM = 0x80210002
WIA_PAPER_EMPTY = 0x80210003
WIA_BUSY = 0x80210006
WIA_OFFLINE = 0x80210005
WIA_COMMUNICATION = 0x8021000A
WIA_COVER_OPEN = 0x80210016
WIA_NO_DEVICE = 0x80210015


class WiaScanner:
    backend = "wia"

    def usable(self) -> bool:
        return sys.platform == "win32" and importlib.util.find_spec("win32com") is not None

    def _manager(self) -> Any:
        client = importlib.import_module("win32com.client")
        return client.Dispatch("WIA.DeviceManager")

    def devices(self) -> list[ScannerInfo]:
        found = []
        for info in self._manager().DeviceInfos:
            if info.Type != WIA_SCANNER:
                continue
            name = str(info.Properties("Name").Value)
            found.append(
                ScannerInfo(WIA_PREFIX + str(info.DeviceID), name, self.backend, connection="wia")
            )
        return found

    def capabilities(self, device_id: str) -> ScannerCapabilities:
        device = self._connect(device_id)
        handling = _property(device.Properties, DOCUMENT_HANDLING_CAPABILITIES, FLATBED)
        sources = [Source.FLATBED] if handling & FLATBED or not handling & FEEDER else []
        if handling & FEEDER:
            sources.append(Source.FEEDER)
        return ScannerCapabilities(
            resolutions=(75, 600),
            modes=(ColorMode.GRAY, ColorMode.COLOR, ColorMode.LINEART),
            sources=tuple(sources),
            duplex=bool(handling & DUPLEX),
        )

    def scan(
        self,
        device_id: str,
        settings: ScanSettings,
        on_page: PageCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ScanResult:
        self.capabilities(device_id).check(device_id, settings)
        device = self._connect(device_id)
        _wia_configure(device, settings)
        item = device.Items[1]
        _set(item.Properties, CURRENT_INTENT, INTENTS[settings.mode])
        _set(item.Properties, X_RESOLUTION, settings.resolution)
        _set(item.Properties, Y_RESOLUTION, settings.resolution)
        pages: list[ScannedPage] = []
        feeder = settings.source is Source.FEEDER
        while True:
            if cancel is not None and cancel.cancelled:
                return ScanResult(
                    device_id, settings, tuple(pages), ScanCancelled(device_id, len(pages))
                )
            try:
                image = item.Transfer(WIA_FORMAT_PNG)
            except Exception as err:  # pywintypes.com_error: the WIA HRESULT inside
                code = _hresult(err)
                if feeder and pages and code == WIA_PAPER_EMPTY:
                    return ScanResult(device_id, settings, tuple(pages))
                return ScanResult(
                    device_id,
                    settings,
                    tuple(pages),
                    _wia_problem(device_id, code, err, len(pages)),
                )
            data = bytes(image.FileData.BinaryData)
            page = ScannedPage(
                len(pages) + 1, data, PixelFormat.PNG, settings.resolution, settings.mode
            )
            pages.append(page)
            if on_page is not None:
                on_page(page)
            if not feeder:
                return ScanResult(device_id, settings, tuple(pages))

    def _connect(self, device_id: str) -> Any:
        wanted = device_id.removeprefix(WIA_PREFIX)
        for info in self._manager().DeviceInfos:
            if str(info.DeviceID) == wanted:
                try:
                    return info.Connect()
                except Exception as err:
                    raise _wia_problem(device_id, _hresult(err), err, 0) from err
        raise DeviceNotFound(device_id)


def _wia_configure(device: Any, settings: ScanSettings) -> None:
    handling = FEEDER if settings.source is Source.FEEDER else FLATBED
    if settings.duplex:
        handling |= DUPLEX
    _set(device.Properties, DOCUMENT_HANDLING_SELECT, handling)
    if settings.source is Source.FEEDER:
        _set(device.Properties, PAGES, 0)


def _property(properties: Any, property_id: str, default: int) -> int:
    for prop in properties:
        if str(prop.PropertyID) == property_id:
            return int(prop.Value)
    return default


def _set(properties: Any, property_id: str, value: int) -> None:
    for prop in properties:
        if str(prop.PropertyID) == property_id:
            prop.Value = value
            return


def _hresult(err: Exception) -> int:
    """The WIA error code of a COM error: in the exception info when the call went
    through IDispatch, else the HRESULT itself."""
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    info: tuple[Any, ...] = args[2] if len(args) > 2 and isinstance(args[2], tuple) else ()
    code = info[5] if len(info) > 5 and isinstance(info[5], int) else (args[0] if args else 0)
    return int(code) & 0xFFFFFFFF if isinstance(code, int) else 0


def _wia_problem(device_id: str, code: int, err: Exception, kept: int) -> HardwareError:
    known: dict[int, HardwareError] = {
        WIA_PAPER_JAM: PaperJam(device_id, kept),
        WIA_PAPER_EMPTY: FeederEmpty(device_id, kept),
        WIA_COVER_OPEN: CoverOpen(device_id, kept),
        WIA_BUSY: DeviceBusy(device_id),
        WIA_OFFLINE: DeviceGone(device_id, str(err)),
        WIA_COMMUNICATION: DeviceGone(device_id, str(err)),
        WIA_NO_DEVICE: DeviceNotFound(device_id),
    }
    return known.get(code) or ScanFailed(device_id, str(err), kept)
