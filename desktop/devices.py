"""The devices this desktop uses, behind the core ports; every call runs on the device thread.

The composition root hands over how to find them (``desktop.composition``: the
hardware package's ``available_scanners``, ``available_printers``, the receipt-printer
opener); this module only asks questions of what was found. A backend that is missing
says so (``NoBackendAvailable``, shown in Settings and when scanning or printing); a
device that is not chosen gives a clear message. No fake device is ever chosen silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from core.domain.errors import N_, MotcuaError
from core.i18n import describe
from core.ports import (
    DocumentPrinter,
    PageCallback,
    PrinterInfo,
    ReceiptPrinter,
    Scanner,
    ScannerInfo,
    ScanResult,
    Source,
    Ticket,
)

from .settings import DesktopSettings

T = TypeVar("T")

FindScanners = Callable[[DesktopSettings], Scanner]
FindPrinters = Callable[[DesktopSettings], DocumentPrinter]
FindReceiptPrinters = Callable[[], list[PrinterInfo]]
OpenReceiptPrinter = Callable[[str, int], ReceiptPrinter]


class DeviceNotConfigured(MotcuaError):
    """The clerk asked for a device this desktop has not been given."""


@dataclass(frozen=True)
class DeviceEntry:
    kind: str  # scanner, printer, receipt
    backend: str
    device_id: str
    name: str
    usable: bool
    problem: str = ""


@dataclass
class Devices:
    settings: DesktopSettings = field(default_factory=DesktopSettings)
    find_scanners: FindScanners | None = None
    find_printers: FindPrinters | None = None
    find_receipt_printers: FindReceiptPrinters | None = None
    open_receipt_printer: OpenReceiptPrinter | None = None
    code_reader_ports: Callable[[], list[str]] = list  # "serial:<port>" ids seen now
    _scanners: Scanner | None = field(default=None, repr=False)  # found once, until forget()
    _printers: DocumentPrinter | None = field(default=None, repr=False)

    # --- finding -----------------------------------------------------------------------
    def scanners(self) -> Scanner:
        """Every usable scanner backend, as one (raises when none is usable here)."""
        find = _loaded(self.find_scanners)
        if self._scanners is None:
            self._scanners = find(self.settings)
        return self._scanners

    def printers(self) -> DocumentPrinter:
        """Every usable office-printer backend, as one (raises when none is usable here)."""
        find = _loaded(self.find_printers)
        if self._printers is None:
            self._printers = find(self.settings)
        return self._printers

    def forget(self) -> None:
        """Find the backends again (after the settings changed what they look at)."""
        self._scanners = self._printers = None

    def inventory(self) -> list[DeviceEntry]:
        """Every device each backend sees now, and why a kind has none."""
        entries = _ask("scanner", lambda: self.scanners().devices(), self.scanners)
        entries += _ask("printer", lambda: self.printers().printers(), self.printers)
        finder = self.find_receipt_printers
        if finder is not None:
            entries += _ask("receipt", finder, lambda: None)
        return entries

    # --- scanning ----------------------------------------------------------------------
    def scanner(self) -> tuple[Scanner, str]:
        chosen = self.settings.scanner
        if not chosen:
            raise DeviceNotConfigured(
                N_("No scanner configured: choose one in Settings (F8), Devices")
            )
        return self.scanners(), chosen

    def scan(
        self,
        source: Source | None = None,
        duplex: bool | None = None,
        on_page: PageCallback | None = None,
    ) -> ScanResult:
        """Scan with the chosen defaults; ``source`` and ``duplex`` for this document."""
        scanner, device_id = self.scanner()
        return scanner.scan(device_id, self.settings.scan_settings(source, duplex), on_page)

    # --- printing ----------------------------------------------------------------------
    def print_pdf(self, pdf: bytes, title: str) -> str:
        chosen = self.settings.document_printer
        if not chosen:
            raise DeviceNotConfigured(N_("No printer configured: the slip was saved as a PDF file"))
        return self.printers().print_pdf(chosen, pdf, title=title)

    def print_ticket(self, ticket: Ticket) -> None:
        chosen = self.settings.receipt_printer
        if not chosen:
            raise DeviceNotConfigured(N_("No receipt printer configured"))
        if self.open_receipt_printer is None:
            raise DeviceNotConfigured(N_("No device drivers were loaded on this desktop"))
        self.open_receipt_printer(chosen, self.settings.receipt_paper_mm).print_ticket(ticket)


def _loaded(finder: Callable[[DesktopSettings], T] | None) -> Callable[[DesktopSettings], T]:
    if finder is None:
        raise DeviceNotConfigured(N_("No device drivers were loaded on this desktop"))
    return finder


def _ask(
    kind: str,
    listing: Callable[[], Sequence[ScannerInfo | PrinterInfo]],
    backends: Callable[[], object],
) -> list[DeviceEntry]:
    try:
        found = listing()
    except MotcuaError as err:  # no backend, no libusb, …: said where the devices are listed
        return [DeviceEntry(kind, "", "", "", False, describe(err))]
    except Exception as err:  # a broken driver must not take the settings screen down
        return [DeviceEntry(kind, "", "", "", False, f"{type(err).__name__}: {err}")]
    entries = [DeviceEntry(kind, d.backend, d.id, d.name, True) for d in found]
    hub = backends()
    for backend in getattr(hub, "unusable", ()):
        entries.append(DeviceEntry(kind, backend, "", "", False, N_("driver not installed")))
    return entries
