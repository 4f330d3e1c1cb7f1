"""Scanners through SANE (Linux), with python-sane; multi-page feeder scans included.

Device ids: ``sane:<SANE device name>``, e.g. ``sane:epsonds:libusb:001:004``. SANE's
option names and values vary by backend, so modes and sources are matched by keyword
("Gray"/"Grey", "ADF"/"Automatic Document Feeder"/"Feeder"). Line art is scanned as
gray and thresholded by the document pipeline, which every backend can do.
"""

from __future__ import annotations

import ctypes
import importlib
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from core.ports.errors import (
    CoverOpen,
    DeviceBusy,
    DeviceGone,
    DeviceNotFound,
    DevicePermissionDenied,
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

PREFIX = "sane:"
A4_MM = (210.0, 297.0)  # the scan area: A4, or the whole glass when smaller
FEEDER_WORDS = ("adf", "feeder", "automatic document")
DUPLEX_WORDS = ("duplex",)
GRAY_WORDS = ("gray", "grey")
COLOR_WORDS = ("color", "colour")
LINEART_WORDS = ("lineart", "binary", "black")

# sane_strstatus() texts → what the clerk is told
STATUS_JAMMED = "Document feeder jammed"
STATUS_NO_DOCS = "Document feeder out of documents"
STATUS_COVER_OPEN = "Scanner cover is open"
STATUS_IO = "Error during device I/O"
STATUS_BUSY = "Device busy"
STATUS_DENIED = "Access to resource has been denied"
STATUS_CANCELLED = "Operation was cancelled"

_init_lock = threading.Lock()
_initialised = False


def _sane() -> Any:
    """python-sane, initialised once per process (sane_init is not re-entrant)."""
    global _initialised
    module = importlib.import_module("sane")
    with _init_lock:
        if not _initialised:
            module.init()
            _initialised = True
    return module


class SaneScanner:
    backend = "sane"

    def __init__(self, device_options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """``device_options``: extra backend options per SANE device name (branch config)."""
        self._device_options = dict(device_options or {})
        self._open: dict[str, Any] = {}

    def usable(self) -> bool:
        try:
            _sane()
        except (ImportError, OSError, RuntimeError):
            return False
        return True

    def devices(self) -> list[ScannerInfo]:
        return [
            ScannerInfo(
                id=PREFIX + name,
                name=f"{vendor} {model}".strip(),
                backend=self.backend,
                vendor=vendor,
                model=model,
                connection=kind,
            )
            for name, vendor, model, kind in _sane().get_devices()
        ]

    def capabilities(self, device_id: str) -> ScannerCapabilities:
        with self._device(device_id) as dev:
            return _capabilities(dev)

    def adjust(self, device_id: str, option: str, value: Any) -> None:
        """Set a backend option on a device being scanned (e.g. between feeder pages)."""
        setattr(self._open[device_id], option.replace("-", "_"), value)

    def scan(
        self,
        device_id: str,
        settings: ScanSettings,
        on_page: PageCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ScanResult:
        with self._device(device_id) as dev:
            _capabilities(dev).check(device_id, settings)
            _configure(dev, settings)
            for name, value in self._device_options.get(_name(device_id), {}).items():
                setattr(dev, name.replace("-", "_"), value)
            pages: list[ScannedPage] = []
            problem = _feed(dev, device_id, settings, pages, on_page, cancel or CancelToken())
            return ScanResult(device_id, settings, tuple(pages), problem)

    @contextmanager
    def _device(self, device_id: str) -> Iterator[Any]:
        name = _name(device_id)
        sane = _sane()
        try:
            dev = sane.open(name)
        except (sane._sane.error, RuntimeError) as err:
            raise _problem(device_id, err, 0, opening=True) from err
        self._open[device_id] = dev
        try:
            yield dev
        finally:
            self._open.pop(device_id, None)
            _quietly(dev.cancel)
            _quietly(dev.close)
            ignore_sigpipe()


def ignore_sigpipe() -> None:
    """Ignore SIGPIPE again, as Python does, after SANE reset it to its default.

    Backends built on sanei_thread (``test`` among them) restore SIGPIPE's default
    action, which kills the whole process on a write to a closed pipe — a worker process
    that died, a dropped socket — where Python expects a BrokenPipeError. Set through
    libc, as ``signal.signal`` only works on the main thread and scans run on the device
    thread.
    """
    sigpipe = getattr(signal, "SIGPIPE", None)
    if sigpipe is None:
        return
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.signal.restype = ctypes.c_void_p
    libc.signal(int(sigpipe), 1)  # SIG_IGN


def _feed(
    dev: Any,
    device_id: str,
    settings: ScanSettings,
    pages: list[ScannedPage],
    on_page: PageCallback | None,
    cancel: CancelToken,
) -> HardwareError | None:
    """Read pages until the feeder empties (or one page from the flatbed)."""
    feeder = settings.source is Source.FEEDER
    error_type = importlib.import_module("sane")._sane.error
    while True:
        if cancel.cancelled:
            return ScanCancelled(device_id, len(pages))
        try:
            dev.start()
            image = dev.snap(no_cancel=feeder)
        except error_type as err:
            if feeder and pages and str(err) == STATUS_NO_DOCS:
                return None
            return _problem(device_id, err, len(pages))
        page = _page(len(pages) + 1, image, settings)
        pages.append(page)
        if on_page is not None:
            on_page(page)
        if not feeder:
            return None


def _page(number: int, image: Any, settings: ScanSettings) -> ScannedPage:
    rgb = image.mode == "RGB"
    return ScannedPage(
        number=number,
        data=image.tobytes(),
        pixel_format=PixelFormat.RAW_RGB if rgb else PixelFormat.RAW_GRAY,
        dpi=settings.resolution,
        mode=settings.mode,
        width=image.width,
        height=image.height,
    )


def _problem(device_id: str, err: Exception, kept: int, opening: bool = False) -> HardwareError:
    text = str(err)
    known: dict[str, HardwareError] = {
        STATUS_JAMMED: PaperJam(device_id, kept),
        STATUS_NO_DOCS: FeederEmpty(device_id, kept),
        STATUS_COVER_OPEN: CoverOpen(device_id, kept),
        STATUS_IO: DeviceGone(device_id, text),
        STATUS_BUSY: DeviceBusy(device_id),
        STATUS_DENIED: DevicePermissionDenied(device_id),
        STATUS_CANCELLED: ScanCancelled(device_id, kept),
    }
    if opening and text not in (STATUS_BUSY, STATUS_DENIED):
        return DeviceNotFound(device_id)  # SANE says "Invalid argument", "Unsupported", …
    return known.get(text) or ScanFailed(device_id, text, kept)


def _capabilities(dev: Any) -> ScannerCapabilities:
    options = {opt[1]: opt for opt in dev.get_options() if opt[1]}
    modes = _choices(options, "mode")
    sources = _choices(options, "source")
    color_modes = [ColorMode.GRAY] if _match(modes, GRAY_WORDS) or not modes else []
    if _match(modes, COLOR_WORDS):
        color_modes.append(ColorMode.COLOR)
    color_modes.append(ColorMode.LINEART)
    feed = [Source.FEEDER] if _match(sources, FEEDER_WORDS) else []
    flat = [Source.FLATBED] if not sources or any(not _is_feeder(s) for s in sources) else []
    return ScannerCapabilities(
        resolutions=_resolutions(options.get("resolution")),
        modes=tuple(color_modes),
        sources=tuple(flat + feed),
        duplex=_match(sources, DUPLEX_WORDS) is not None,
        max_width_mm=_range_max(options.get("br-x")),
        max_height_mm=_range_max(options.get("br-y")),
    )


def _configure(dev: Any, settings: ScanSettings) -> None:
    options = {opt[1]: opt for opt in dev.get_options() if opt[1]}
    modes = _choices(options, "mode")
    words = COLOR_WORDS if settings.mode is ColorMode.COLOR else GRAY_WORDS
    if modes and (mode := _match(modes, words)):
        dev.mode = mode
    if "depth" in options and 8 in (options["depth"][8] or [8]):
        dev.depth = 8
    sources = _choices(options, "source")
    if sources:
        dev.source = _source_value(sources, settings)
    if "resolution" in options:
        dev.resolution = settings.resolution
    for name, a4 in (("br-x", A4_MM[0]), ("br-y", A4_MM[1])):
        if name in options and (top := _range_max(options[name])):
            setattr(dev, name.replace("-", "_"), min(top, a4))


def _source_value(sources: list[str], settings: ScanSettings) -> str:
    if settings.source is Source.FLATBED:
        return next((s for s in sources if not _is_feeder(s)), sources[0])
    feeders = [s for s in sources if _is_feeder(s)]
    duplex = [s for s in feeders if any(w in s.lower() for w in DUPLEX_WORDS)]
    simplex = [s for s in feeders if s not in duplex]
    if settings.duplex and duplex:
        return duplex[0]
    return (simplex or feeders)[0]


def _is_feeder(value: str) -> bool:
    return any(word in value.lower() for word in FEEDER_WORDS)


def _choices(options: Mapping[str, Any], name: str) -> list[str]:
    constraint = options[name][8] if name in options else None
    return [str(c) for c in constraint] if isinstance(constraint, list) else []


def _match(values: list[str], words: tuple[str, ...]) -> str | None:
    return next((v for v in values if any(w in v.lower() for w in words)), None)


def _resolutions(option: Any) -> tuple[int, ...]:
    if option is None:
        return ()
    constraint = option[8]
    if isinstance(constraint, list):
        return tuple(int(v) for v in constraint)
    if isinstance(constraint, tuple):
        return (int(constraint[0]), int(constraint[1]))
    return ()


def _range_max(option: Any) -> float:
    constraint = option[8] if option is not None else None
    return float(constraint[1]) if isinstance(constraint, tuple) else 0.0


def _name(device_id: str) -> str:
    return device_id.removeprefix(PREFIX)


def _quietly(action: Any) -> None:
    try:
        action()
    except Exception:
        return
