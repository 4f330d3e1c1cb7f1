"""Printers: office printers through the operating system, ESC/POS receipt printers.

``available_printers()`` asks each office-printer backend (CUPS, the Windows spooler)
whether it is usable here and returns a :class:`PrinterHub` over those that are; it
raises ``NoBackendAvailable`` when none is — as ``hardware.scanners.available_scanners``
does for scanners. ESC/POS receipt printers are opened by device id with
``hardware.printers.receipt.open_receipt_printer`` and found on the USB bus with
``receipt_printers`` there (that module needs python-escpos and pyusb; this one does not).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from core.ports.errors import NoBackendAvailable, PrinterNotFound
from core.ports.printer import DocumentPrinter, PrinterInfo

from .system import CupsPrinters, WindowsPrinters

__all__ = ["PrinterHub", "available_printers", "candidate_printers"]


class PrinterHub:
    """One DocumentPrinter over several backends; printer ids carry the backend prefix
    (``cups:<queue>``, ``windows:<name>``). A bare name is looked up among them all."""

    backend = "hub"

    def __init__(self, backends: Sequence[DocumentPrinter], unusable: Sequence[str] = ()) -> None:
        self.backends = list(backends)
        self.unusable = list(unusable)  # backends tried and not usable on this computer

    def usable(self) -> bool:
        return bool(self.backends)

    def printers(self) -> list[PrinterInfo]:
        return [info for backend in self.backends for info in backend.printers()]

    def print_pdf(self, printer_id: str, pdf: bytes, *, copies: int = 1, title: str = "") -> str:
        backend, target = self._for(printer_id)
        return backend.print_pdf(target, pdf, copies=copies, title=title)

    def _for(self, printer_id: str) -> tuple[DocumentPrinter, str]:
        prefix = printer_id.split(":", 1)[0]
        for backend in self.backends:
            if backend.backend == prefix:
                return backend, printer_id
        if prefix in self.unusable:
            raise NoBackendAvailable("printer", prefix)
        known = self.printers()
        for info in known:
            if info.name == printer_id:
                return self._owner(info), info.id
        raise PrinterNotFound(printer_id, ", ".join(info.id for info in known))

    def _owner(self, info: PrinterInfo) -> DocumentPrinter:
        return next(b for b in self.backends if b.backend == info.backend)


def candidate_printers(cups_server: str | None = None) -> list[DocumentPrinter]:
    """Every office-printer backend that could exist on this platform, usable or not."""
    if sys.platform == "win32":
        return [WindowsPrinters()]
    return [CupsPrinters(cups_server)]


def available_printers(cups_server: str | None = None) -> PrinterHub:
    candidates = candidate_printers(cups_server)
    usable = [backend for backend in candidates if backend.usable()]
    if not usable:
        raise NoBackendAvailable("printer", ", ".join(b.backend for b in candidates))
    return PrinterHub(usable, [b.backend for b in candidates if b not in usable])
