"""ESC/POS receipt printers on USB, through python-escpos on pyusb.

Text goes as a raster image (``GS v 0``), the QR code natively (``GS ( k``), then a
cut. The pyusb backend is libusb unless one is passed in explicitly (tests pass a
recording backend; nothing else is ever chosen silently).
"""

from __future__ import annotations

import errno
from typing import Any

import usb.core
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Usb

from core.ports.errors import DeviceGone, DeviceNotFound, DevicePermissionDenied, PrinterProblem
from core.ports.printer import Ticket

from ..devices.usb import libusb_backend
from .raster import PAPER_DOTS, render_lines

QR_DOT_SIZE = 6


class EscposUsbPrinter:
    def __init__(
        self,
        vendor_id: int,
        product_id: int,
        backend: Any | None = None,
        paper_mm: int = 80,
        out_ep: int = 0x01,
        in_ep: int = 0x82,
        profile: str = "TM-T20II",  # 576 dots, native QR, full cut: the common 80 mm class
    ) -> None:
        self.id = f"escpos:{vendor_id:04x}:{product_id:04x}"
        self._args = {
            "idVendor": vendor_id,
            "idProduct": product_id,
            "usb_args": {"backend": backend if backend is not None else libusb_backend()},
            "out_ep": out_ep,
            "in_ep": in_ep,
            "timeout": 5000,
            "profile": profile,
        }
        self._width = PAPER_DOTS[paper_mm]

    def print_ticket(self, ticket: Ticket) -> None:
        printer = Usb(**self._args)
        try:
            printer.open()
            _write(printer, ticket, self._width)
        except DeviceNotFoundError as err:
            raise _not_found(self.id, err) from err
        except usb.core.USBError as err:
            raise _usb_problem(self.id, err) from err
        finally:
            printer.close()


def _write(printer: Usb, ticket: Ticket, width: int) -> None:
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


def _not_found(printer_id: str, err: Exception) -> Exception:
    if "Access denied" in str(err) or "Errno 13" in str(err):
        return DevicePermissionDenied(printer_id)
    return DeviceNotFound(printer_id)


def _usb_problem(printer_id: str, err: usb.core.USBError) -> Exception:
    if err.errno in (errno.ENODEV, errno.EPIPE, errno.EIO):
        return DeviceGone(printer_id, str(err))
    if err.errno in (errno.EACCES, errno.EPERM):
        return DevicePermissionDenied(printer_id)
    return PrinterProblem(printer_id, str(err))
