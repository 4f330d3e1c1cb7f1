"""ESC/POS receipt printers through python-escpos: on USB (pyusb), serial or the network.

Device ids name the connection:

- ``escpos:usb:04b8:0202`` — vendor and product id on the USB bus;
- ``escpos:serial:/dev/ttyUSB0`` (``escpos:serial:COM3``, or a pyserial URL such as
  ``escpos:serial:socket://host:port``), 9600 baud unless ``@<baud>`` follows the port;
- ``escpos:net:192.168.1.50`` (``escpos:net:HOST:PORT``; port 9100 unless given).

Text goes as a raster image (``GS v 0``), the QR code natively (``GS ( k``), then a
cut. The pyusb backend is libusb unless one is passed in explicitly (tests pass a
recording backend; nothing else is ever chosen silently).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import usb.core
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Network, Serial, Usb

from core.ports.devices import DeviceKind
from core.ports.errors import (
    DeviceGone,
    DeviceNotFound,
    DevicePermissionDenied,
    PrinterProblem,
    UnsupportedSetting,
)
from core.ports.printer import PrinterInfo, Ticket

from ..devices.usb import UsbWatcher, libusb_backend
from .raster import PAPER_DOTS, render_lines

PREFIX = "escpos:"
QR_DOT_SIZE = 6
PROFILE = "TM-T20II"  # 576 dots, native QR, full cut: the common 80 mm class
NET_PORT = 9100
BAUD = 9600
TIMEOUT_S = 10

Connect = Callable[[], Escpos]


class EscposPrinter:
    """One receipt printer; ``connect`` opens python-escpos's printer for its link."""

    def __init__(self, device_id: str, connect: Connect, paper_mm: int = 80) -> None:
        self.id = device_id
        self._connect = connect
        self._width = PAPER_DOTS[paper_mm]

    def print_ticket(self, ticket: Ticket) -> None:
        printer: Escpos | None = None
        try:
            printer = self._connect()
            _write(printer, ticket, self._width)
        except DeviceNotFoundError as err:
            raise _not_found(self.id, err) from err
        except usb.core.USBError as err:
            raise _usb_problem(self.id, err) from err
        except OSError as err:  # serial and network links (SerialException is an OSError)
            raise DeviceGone(self.id, str(err)) from err
        finally:
            if printer is not None:
                _quietly_close(printer)


def open_receipt_printer(
    device_id: str, *, paper_mm: int = 80, usb_backend: Any | None = None
) -> EscposPrinter:
    """The receipt printer a device id names (see the module docstring)."""
    kind, _, rest = device_id.removeprefix(PREFIX).partition(":")
    if not device_id.startswith(PREFIX) or not rest:
        raise DeviceNotFound(device_id)
    if paper_mm not in PAPER_DOTS:
        raise UnsupportedSetting(device_id, "paper", f"{paper_mm} mm")
    if kind == "usb":
        connect = _usb(device_id, rest, usb_backend)
    elif kind == "serial":
        connect = _serial(rest)
    elif kind == "net":
        connect = _network(rest)
    else:
        raise DeviceNotFound(device_id)
    return EscposPrinter(device_id, connect, paper_mm)


def receipt_printers(usb_backend: Any | None = None) -> list[PrinterInfo]:
    """The ESC/POS printers on the USB bus now (serial and network ones are typed in)."""
    found = UsbWatcher(usb_backend).snapshot()
    return [
        PrinterInfo(
            id=f"{PREFIX}usb:{d.vendor_id:04x}:{d.product_id:04x}",
            name=f"{d.manufacturer} {d.product}".strip() or d.vid_pid,
            backend="escpos",
            connection="usb",
        )
        for d in found
        if DeviceKind.RECEIPT_PRINTER in d.kinds
    ]


# --- connections ------------------------------------------------------------------------


def _usb(device_id: str, ids: str, backend: Any | None) -> Connect:
    try:
        vendor, product = (int(part, 16) for part in ids.split(":"))
    except ValueError:
        raise DeviceNotFound(device_id) from None

    def connect() -> Escpos:
        printer = Usb(
            idVendor=vendor,
            idProduct=product,
            usb_args={"backend": backend if backend is not None else libusb_backend()},
            out_ep=0x01,
            in_ep=0x82,
            timeout=5000,
            profile=PROFILE,
        )
        printer.open()
        return printer

    return connect


def _serial(port: str) -> Connect:
    name, _, baud = port.partition("@")
    rate = int(baud) if baud.isdigit() else BAUD

    def connect() -> Escpos:
        printer = Serial(devfile=name, baudrate=rate, timeout=TIMEOUT_S, profile=PROFILE)
        if "://" in name:  # a pyserial URL (socket://, rfc2217://, loop://)
            import serial

            try:
                printer.device = serial.serial_for_url(name, baudrate=rate, timeout=TIMEOUT_S)
            except (serial.SerialException, ValueError) as err:
                raise DeviceNotFoundError(str(err)) from err
        else:
            printer.open()
        return printer

    return connect


def _network(address: str) -> Connect:
    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    number = int(port) if port.isdigit() else NET_PORT

    def connect() -> Escpos:
        printer = Network(host=host or address, port=number, timeout=TIMEOUT_S, profile=PROFILE)
        printer.open()
        return printer

    return connect


# --- the ticket ---------------------------------------------------------------------------


def _write(printer: Escpos, ticket: Ticket, width: int) -> None:
    printer.hw("INIT")
    printer.image(render_lines(ticket.lines, width), impl="bitImageRaster", center=False)
    if ticket.qr:
        printer.set(align="center")
        printer.qr(ticket.qr, native=True, size=QR_DOT_SIZE)
        printer.set(align="left")
    if ticket.footer:
        printer.image(render_lines(ticket.footer, width), impl="bitImageRaster")
    if ticket.cut:
        printer.cut()


def _quietly_close(printer: Escpos) -> None:
    try:
        printer.close()
    except (OSError, usb.core.USBError):
        return


def _not_found(printer_id: str, err: Exception) -> Exception:
    if "Access denied" in str(err) or "Errno 13" in str(err) or "Permission denied" in str(err):
        return DevicePermissionDenied(printer_id)
    return DeviceNotFound(printer_id)


def _usb_problem(printer_id: str, err: usb.core.USBError) -> Exception:
    if err.errno in (errno.ENODEV, errno.EPIPE, errno.EIO):
        return DeviceGone(printer_id, str(err))
    if err.errno in (errno.EACCES, errno.EPERM):
        return DevicePermissionDenied(printer_id)
    return PrinterProblem(printer_id, str(err))
