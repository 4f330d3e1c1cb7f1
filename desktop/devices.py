"""The devices this desktop uses, behind the core ports, and their one worker thread.

The composition root decides which backends exist (``desktop.composition``); this module
only asks them questions. A device that is not configured gives a clear message: no fake
device is ever chosen silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.domain.errors import N_, MotcuaError
from core.ports import DocumentPrinter, ReceiptPrinter, Scanner, ScanResult, ScanSettings

from .settings import DesktopSettings


class DeviceNotConfigured(MotcuaError):
    """The clerk asked for a device this desktop has not been given."""


@dataclass(frozen=True)
class DeviceEntry:
    kind: str  # scanner, printer
    backend: str
    device_id: str
    name: str
    usable: bool
    problem: str = ""


@dataclass
class Devices:
    scanners: list[Scanner] = field(default_factory=list)
    document_printers: list[DocumentPrinter] = field(default_factory=list)
    receipt_printer: ReceiptPrinter | None = None
    settings: DesktopSettings = field(default_factory=DesktopSettings)
    code_reader_ports: Callable[[], list[str]] = list  # "serial:<port>" ids seen now

    def inventory(self) -> list[DeviceEntry]:
        """Every backend and the devices it sees now (runs on the device thread)."""
        entries: list[DeviceEntry] = []
        for scanner in self.scanners:
            entries.extend(_ask(scanner, "scanner", lambda s: s.devices()))
        for printer in self.document_printers:
            entries.extend(_ask(printer, "printer", lambda p: p.printers()))
        return entries

    def scanner(self) -> tuple[Scanner, str]:
        chosen = self.settings.scanner
        if not chosen:
            raise DeviceNotConfigured(N_("No scanner configured: choose one in Settings → Devices"))
        backend = chosen.split(":", 1)[0]
        for scanner in self.scanners:
            if scanner.backend == backend:
                return scanner, chosen
        raise DeviceNotConfigured(
            N_("The configured scanner {device} has no driver on this computer"), device=chosen
        )

    def scan(self, settings: ScanSettings | None = None) -> ScanResult:
        scanner, device_id = self.scanner()
        return scanner.scan(device_id, settings or ScanSettings())

    def print_pdf(self, pdf: bytes, title: str) -> str:
        chosen = self.settings.document_printer
        if not chosen:
            raise DeviceNotConfigured(N_("No printer configured: the slip was saved as a PDF file"))
        backend = chosen.split(":", 1)[0]
        for printer in self.document_printers:
            if printer.backend == backend:
                return printer.print_pdf(chosen, pdf, title=title)
        raise DeviceNotConfigured(
            N_("The configured printer {device} has no driver on this computer"), device=chosen
        )


def _ask(backend: Any, kind: str, listing: Any) -> list[DeviceEntry]:
    name = str(getattr(backend, "backend", type(backend).__name__))
    try:
        if not backend.usable():
            return [DeviceEntry(kind, name, "", "", False, N_("driver not installed"))]
        found = listing(backend)
    except Exception as err:  # a broken driver must not take the settings screen down
        return [DeviceEntry(kind, name, "", "", False, str(err))]
    return [DeviceEntry(kind, name, d.id, d.name, True) for d in found]
