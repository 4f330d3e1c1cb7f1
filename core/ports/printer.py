"""The printer ports: office printers take PDFs, receipt printers take tickets.

A :class:`Ticket` is what a receipt printer prints at the counter: short Vietnamese
lines (drivers print them as a raster image, because printer code pages mangle
Vietnamese) and an optional QR code (printed natively by the printer).

Printer ids carry their backend as a prefix, as scanner ids do: ``cups:<queue>``,
``windows:<printer name>`` for office printers; ``escpos:usb:<vendor>:<product>``,
``escpos:serial:<port>``, ``escpos:net:<host>[:<port>]`` for receipt printers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PrinterInfo:
    id: str
    name: str
    backend: str
    default: bool = False
    connection: str = ""


@dataclass(frozen=True)
class TicketLine:
    text: str
    bold: bool = False
    size: int = 24  # pixel height of the glyphs on the raster
    align: str = "left"  # left, center


@dataclass(frozen=True)
class Ticket:
    lines: tuple[TicketLine, ...]
    qr: str = ""
    footer: tuple[TicketLine, ...] = ()
    cut: bool = True


@runtime_checkable
class DocumentPrinter(Protocol):
    """Office printers reached through the operating system (CUPS, Windows spooler)."""

    backend: str

    def usable(self) -> bool: ...

    def printers(self) -> list[PrinterInfo]: ...

    def print_pdf(self, printer_id: str, pdf: bytes, *, copies: int = 1, title: str = "") -> str:
        """Queue the PDF; return the system's job id."""
        ...


@runtime_checkable
class ReceiptPrinter(Protocol):
    """A receipt (ESC/POS) printer at the counter, on USB, a serial port or the network."""

    id: str

    def print_ticket(self, ticket: Ticket) -> None: ...
