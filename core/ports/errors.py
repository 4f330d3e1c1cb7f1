"""The errors a device raises, as one tree under the core's :class:`MotcuaError`.

HardwareError                  a device could not do what was asked
├── NoBackendAvailable         no driver stack usable on this machine (no SANE, no libusb, …)
├── DeviceNotFound             the device id names nothing attached or reachable
├── DevicePermissionDenied     the device exists but this user may not open it (udev rules)
├── DeviceBusy                 another program holds the device
├── DeviceGone                 unplugged or powered off in the middle of the work
├── ScanProblem                the scanner stopped a scan
│   ├── PaperJam               paper jammed in the feeder
│   ├── CoverOpen              the lid or feeder cover is open
│   ├── FeederEmpty            no paper in the feeder when the scan started
│   ├── ScanCancelled          the clerk cancelled
│   └── ScanFailed             any other stop the driver reported
├── PrinterProblem             a printer refused or failed a job
├── PrinterNotFound            no printer of that name is set up in the OS
├── UnsupportedSetting         a resolution, colour mode or source the device cannot do
└── DecodeFailed               an image holds no readable QR code or barcode

Messages are English msgids marked with ``N_``; the desktop and CLI translate them.
"""

from __future__ import annotations

from core.domain.errors import N_, MotcuaError

__all__ = [
    "CoverOpen",
    "DecodeFailed",
    "DeviceBusy",
    "DeviceGone",
    "DeviceNotFound",
    "DevicePermissionDenied",
    "FeederEmpty",
    "HardwareError",
    "NoBackendAvailable",
    "PaperJam",
    "PrinterNotFound",
    "PrinterProblem",
    "ScanCancelled",
    "ScanFailed",
    "ScanProblem",
    "UnsupportedSetting",
]


class HardwareError(MotcuaError):
    exit_code = 10


class NoBackendAvailable(HardwareError):
    def __init__(self, what: str, tried: str) -> None:
        super().__init__(
            N_("No usable {what} backend on this computer (tried: {tried})"),
            what=what,
            tried=tried,
        )


class DeviceNotFound(HardwareError):
    def __init__(self, device: str) -> None:
        super().__init__(N_("Device {device} is not connected or not reachable"), device=device)


class DevicePermissionDenied(HardwareError):
    def __init__(self, device: str) -> None:
        super().__init__(
            N_(
                "Permission denied opening {device}; install the udev rules "
                "(installers/linux/60-motcua.rules) and reconnect the device"
            ),
            device=device,
        )


class DeviceBusy(HardwareError):
    def __init__(self, device: str) -> None:
        super().__init__(N_("Device {device} is busy in another program"), device=device)


class DeviceGone(HardwareError):
    def __init__(self, device: str, detail: str = "") -> None:
        super().__init__(
            N_("Lost contact with {device} (unplugged or switched off?) {detail}"),
            device=device,
            detail=detail,
        )


class ScanProblem(HardwareError):
    """A scan stopped; ``pages_kept`` says how many pages before it are safe."""

    def __init__(self, message: str, device: str, pages_kept: int = 0, detail: str = "") -> None:
        self.pages_kept = pages_kept
        super().__init__(message, device=device, pages=pages_kept, detail=detail)


class PaperJam(ScanProblem):
    def __init__(self, device: str, pages_kept: int = 0) -> None:
        super().__init__(
            N_("Paper jam in {device}; {pages} page(s) already scanned were kept"),
            device,
            pages_kept,
        )


class CoverOpen(ScanProblem):
    def __init__(self, device: str, pages_kept: int = 0) -> None:
        super().__init__(
            N_("The cover of {device} is open; close it and continue ({pages} page(s) kept)"),
            device,
            pages_kept,
        )


class FeederEmpty(ScanProblem):
    def __init__(self, device: str, pages_kept: int = 0) -> None:
        super().__init__(
            N_("No paper in the feeder of {device}; load the pages and scan again"),
            device,
            pages_kept,
        )


class ScanCancelled(ScanProblem):
    def __init__(self, device: str, pages_kept: int = 0) -> None:
        super().__init__(
            N_("Scan on {device} cancelled; {pages} page(s) already scanned were kept"),
            device,
            pages_kept,
        )


class ScanFailed(ScanProblem):
    def __init__(self, device: str, detail: str, pages_kept: int = 0) -> None:
        super().__init__(
            N_("Scanner {device} stopped: {detail}; {pages} page(s) already scanned were kept"),
            device,
            pages_kept,
            detail,
        )


class PrinterProblem(HardwareError):
    def __init__(self, printer: str, detail: str) -> None:
        super().__init__(N_("Printer {printer} failed: {detail}"), printer=printer, detail=detail)


class PrinterNotFound(HardwareError):
    def __init__(self, printer: str, known: str) -> None:
        super().__init__(
            N_("No printer named {printer} is set up on this computer (printers: {known})"),
            printer=printer,
            known=known or "-",
        )


class UnsupportedSetting(HardwareError):
    def __init__(self, device: str, setting: str, value: str) -> None:
        super().__init__(
            N_("{device} does not support {setting} = {value}"),
            device=device,
            setting=setting,
            value=value,
        )


class DecodeFailed(HardwareError):
    def __init__(self, source: str) -> None:
        super().__init__(N_("No QR code or barcode could be read from {source}"), source=source)
