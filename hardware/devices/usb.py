"""USB devices through pyusb: enumerate, classify, notice plug and unplug.

Classification reads interface classes: 7 printer (7/1/4 is IPP-over-USB, a driverless
printer or scanner speaking IPP and eSCL), 6 still image (scanners, PTP), 3 HID and
2/10 CDC (code readers, when the vendor is a known code-reader maker), vendor-specific
interfaces of known scanner makers. A device the OS will not let us open is reported
with ``accessible=False``: the udev rules are missing.
"""

from __future__ import annotations

import errno
from typing import Any

import usb.backend.libusb0
import usb.backend.libusb1
import usb.core
import usb.util

from core.ports.devices import Change, DeviceEvent, DeviceKind, UsbDeviceInfo
from core.ports.errors import NoBackendAvailable

CLASS_PRINTER, CLASS_STILL_IMAGE, CLASS_HID = 7, 6, 3
CLASS_CDC, CLASS_CDC_DATA, CLASS_VENDOR = 2, 10, 0xFF
IPP_USB = (7, 1, 4)

SCANNER_VENDORS = {
    0x04A9: "Canon",
    0x04B8: "Epson",
    0x04C5: "Fujitsu / PFU",
    0x04F9: "Brother",
    0x03F0: "HP",
    0x07B3: "Plustek",
    0x0638: "Avision",
    0x040A: "Kodak Alaris",
    0x04DA: "Panasonic",
}
RECEIPT_PRINTER_VENDORS = {
    0x04B8: "Epson",
    0x0519: "Star Micronics",
    0x1504: "Bixolon",
    0x0FE6: "Xprinter / ICS",
    0x0416: "Winbond (Xprinter, Zjiang)",
    0x0483: "STMicro (Xprinter, Rongta)",
    0x1D90: "Citizen",
    0x28E9: "GD32 (Xprinter)",
}
CODE_READER_VENDORS = {
    0x0C2E: "Honeywell",
    0x05E0: "Zebra / Symbol",
    0x05F9: "Datalogic",
    0x1EAB: "Newland",
    0x0536: "Hand Held Products",
    0x2DD6: "Zkteco / Winson",
    0x1A86: "QinHeng (CH34x serial readers)",
}


def libusb_backend() -> Any:
    """The first libusb pyusb can load; a clear error when neither is installed."""
    for module in (usb.backend.libusb1, usb.backend.libusb0):
        backend = module.get_backend()
        if backend is not None:
            return backend
    raise NoBackendAvailable("USB", "libusb-1.0, libusb-0.1")


def interfaces(device: Any) -> list[tuple[int, int, int]]:
    """(class, subclass, protocol) of every interface of every configuration."""
    found = []
    for config in device:
        for intf in config:
            found.append((intf.bInterfaceClass, intf.bInterfaceSubClass, intf.bInterfaceProtocol))
    return found


def classify(vendor_id: int, classes: list[tuple[int, int, int]]) -> frozenset[DeviceKind]:
    kinds: set[DeviceKind] = set()
    codes = {c[0] for c in classes}
    if CLASS_PRINTER in codes:
        receipt = vendor_id in RECEIPT_PRINTER_VENDORS and IPP_USB not in classes
        kinds.add(DeviceKind.RECEIPT_PRINTER if receipt else DeviceKind.PRINTER)
    if IPP_USB in classes and vendor_id in SCANNER_VENDORS:
        kinds.add(DeviceKind.SCANNER)  # multifunction: eSCL over IPP-USB
    if CLASS_STILL_IMAGE in codes:
        kinds.add(DeviceKind.SCANNER)
    if CLASS_VENDOR in codes and vendor_id in SCANNER_VENDORS and CLASS_PRINTER not in codes:
        kinds.add(DeviceKind.SCANNER)
    if codes & {CLASS_HID, CLASS_CDC, CLASS_CDC_DATA} and vendor_id in CODE_READER_VENDORS:
        kinds.add(DeviceKind.CODE_READER)
    return frozenset(kinds or {DeviceKind.OTHER})


def describe(device: Any) -> UsbDeviceInfo:
    classes = interfaces(device)
    strings, accessible = _strings(device)
    return UsbDeviceInfo(
        vendor_id=device.idVendor,
        product_id=device.idProduct,
        bus=device.bus or 0,
        address=device.address or 0,
        kinds=classify(device.idVendor, classes),
        ipp_usb=IPP_USB in classes,
        manufacturer=strings[0],
        product=strings[1],
        serial=strings[2],
        accessible=accessible,
    )


def _strings(device: Any) -> tuple[tuple[str, str, str], bool]:
    """Manufacturer, product, serial; reading them needs the device opened."""
    values = []
    try:
        usb.util.get_langids(device)  # opens the device: EACCES here means no udev rule
        for index in (device.iManufacturer, device.iProduct, device.iSerialNumber):
            values.append(usb.util.get_string(device, index) if index else "")
    except usb.core.USBError as err:
        if err.errno in (errno.EACCES, errno.EPERM):
            return ("", "", ""), False
        return ("", "", ""), True
    except (ValueError, NotImplementedError):
        return ("", "", ""), True
    return (values[0] or "", values[1] or "", values[2] or ""), True


class UsbWatcher:
    """Polls the bus; the desktop calls ``poll()`` from the device thread every second."""

    def __init__(self, backend: Any | None = None) -> None:
        self._backend = backend if backend is not None else libusb_backend()
        self._known: dict[str, UsbDeviceInfo] = {}

    def snapshot(self) -> list[UsbDeviceInfo]:
        devices = usb.core.find(find_all=True, backend=self._backend)
        return sorted((describe(d) for d in devices), key=lambda info: info.id)

    def poll(self) -> list[DeviceEvent]:
        now = {info.id: info for info in self.snapshot()}
        events = [DeviceEvent(Change.REMOVED, d) for k, d in self._known.items() if k not in now]
        events += [DeviceEvent(Change.ADDED, d) for k, d in now.items() if k not in self._known]
        self._known = now
        return events
