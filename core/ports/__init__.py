"""Hardware ports: what the core asks of scanners, printers, code readers and the USB bus.

Protocols and value types only; implementations live in ``hardware``. No I/O here.
"""

from .codes import CitizenIdentity, CodeReader, Decoded
from .devices import Change, DeviceEvent, DeviceKind, DeviceWatcher, UsbDeviceInfo
from .errors import (
    CoverOpen,
    DecodeFailed,
    DeviceBusy,
    DeviceGone,
    DeviceNotFound,
    DevicePermissionDenied,
    FeederEmpty,
    HardwareError,
    NoBackendAvailable,
    PaperJam,
    PrinterProblem,
    ScanCancelled,
    ScanProblem,
    UnsupportedSetting,
)
from .printer import DocumentPrinter, PrinterInfo, ReceiptPrinter, Ticket, TicketLine
from .scanner import (
    CancelToken,
    ColorMode,
    PageCallback,
    PixelFormat,
    ScannedPage,
    Scanner,
    ScannerCapabilities,
    ScannerInfo,
    ScanResult,
    ScanSettings,
    Source,
)

__all__ = [
    "CancelToken",
    "Change",
    "CitizenIdentity",
    "CodeReader",
    "ColorMode",
    "CoverOpen",
    "DecodeFailed",
    "Decoded",
    "DeviceBusy",
    "DeviceEvent",
    "DeviceGone",
    "DeviceKind",
    "DeviceNotFound",
    "DevicePermissionDenied",
    "DeviceWatcher",
    "DocumentPrinter",
    "FeederEmpty",
    "HardwareError",
    "NoBackendAvailable",
    "PageCallback",
    "PaperJam",
    "PixelFormat",
    "PrinterInfo",
    "PrinterProblem",
    "ReceiptPrinter",
    "ScanCancelled",
    "ScanProblem",
    "ScanResult",
    "ScanSettings",
    "ScannedPage",
    "Scanner",
    "ScannerCapabilities",
    "ScannerInfo",
    "Source",
    "Ticket",
    "TicketLine",
    "UnsupportedSetting",
    "UsbDeviceInfo",
]
