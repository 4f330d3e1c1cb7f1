"""Settings → Devices: the scanner and its defaults, the office printer, the receipt
printer — each chosen from what the hardware finds (or typed), each with a test.

Every device call runs on the device thread (``ops.device``); choices are saved in
``desktop.json`` at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.uix.widget import Widget

from core.domain.errors import N_
from core.i18n import _, describe, tr
from core.ports.scanner import ColorMode, Source
from desktop import theme, tickets
from desktop.devices import DeviceEntry
from desktop.settings import RECEIPT_PAPER_MM, RESOLUTIONS
from desktop.ui.widgets import (
    Card,
    Cell,
    Check,
    Field,
    McButton,
    Text,
    fit_width,
    heading,
    muted,
    row,
)
from desktop.ui.widgets import labels as pairs

if TYPE_CHECKING:
    from core.ports.scanner import ScanResult
    from desktop.services import Services

    from .settings import SettingsScreen

SOURCES = {Source.FLATBED: N_("Flatbed"), Source.FEEDER: N_("Feeder (ADF)")}
MODES = {
    ColorMode.GRAY: N_("Gray"),
    ColorMode.COLOR: N_("Colour"),
    ColorMode.LINEART: N_("Black and white"),
}
RECEIPT_HINT = N_("Or type: serial:/dev/ttyUSB0, serial:COM3, net:192.168.1.50:9100")


class DevicesSection:
    """Fills the Settings screen's devices card from an inventory."""

    def __init__(self, screen: SettingsScreen, card: Card) -> None:
        self.screen = screen
        self.card = card

    @property
    def services(self) -> Services:
        return self.screen.services

    def refresh(self) -> None:
        self.screen.ops.device(self.services.devices.inventory, self.show)

    def show(self, entries: list[DeviceEntry]) -> None:
        card = self.card
        card.clear_widgets()
        card.add_widget(heading(_("Devices"), size=theme.FONT_LARGE))
        self._scanner(card, [e for e in entries if e.kind == "scanner"])
        self._printer(card, [e for e in entries if e.kind == "printer"])
        self._receipt(card, [e for e in entries if e.kind == "receipt"])

    # --- scanner ---------------------------------------------------------------------
    def _scanner(self, card: Card, entries: list[DeviceEntry]) -> None:
        s = self.services.settings
        card.add_widget(Text(_("Scanner"), bold=True))
        card.add_widget(pairs([(_("In use"), s.scanner or _("none configured"))], 0.3))
        self._choices(card, entries, lambda e: self._save(scanner=e.device_id))
        sources = {k.value: _(v) for k, v in SOURCES.items()}
        card.add_widget(self._toggles(_("Source"), sources, s.scan_source, "scan_source"))
        self.duplex = Check(s.scan_duplex, on_change=lambda on: self._save(scan_duplex=on))
        card.add_widget(row(self.duplex, Text(_("Both sides of each sheet (duplex, feeder)"))))
        resolutions = {str(r): f"{r} dpi" for r in RESOLUTIONS}
        card.add_widget(
            self._toggles(_("Resolution"), resolutions, str(s.scan_resolution), "scan_resolution")
        )
        modes = {k.value: _(v) for k, v in MODES.items()}
        card.add_widget(self._toggles(_("Colour"), modes, s.scan_mode, "scan_mode"))
        self.escl = Field(
            _("Network scanner (eSCL / AirScan) address, e.g. 192.168.1.40"),
            on_enter=self.add_escl,
        )
        card.add_widget(self.escl)
        add = McButton(_("Add network scanner"), self.add_escl, variant="secondary")
        test = McButton(_("Test scanner"), self.test_scanner, variant="secondary")
        card.add_widget(row(Widget(), fit_width(add), fit_width(test)))

    def _toggles(self, caption: str, options: dict[str, str], current: str, name: str) -> Widget:
        """One button per value (shown by its label); the current one stands out."""

        def choose(value: str) -> None:
            self._save(**{name: _typed(name, value)})

        buttons = [
            fit_width(
                McButton(
                    label,
                    functools.partial(choose, value),
                    variant="primary" if value == str(current) else "secondary",
                    font_size=14,
                ),
                extra=20,
            )
            for value, label in options.items()
        ]
        label = Cell(caption, 0.3, color=theme.TEXT_MUTED, font_size=theme.FONT_SMALL)
        return row(label, *buttons)

    def add_escl(self) -> None:
        address = self.escl.value.strip()
        if not address:
            return
        s = self.services.settings
        url = address if "://" in address else f"http://{address}/eSCL"
        if url not in s.escl_addresses:
            s.escl_addresses.append(url)
        self._save()

    # --- office printer --------------------------------------------------------------
    def _printer(self, card: Card, entries: list[DeviceEntry]) -> None:
        s = self.services.settings
        card.add_widget(Text(_("Office printer (forms, slip 01)"), bold=True))
        chosen = s.document_printer or _("none configured (slips are saved as PDF)")
        card.add_widget(pairs([(_("In use"), chosen)], 0.3))
        self._choices(card, entries, lambda e: self._save(document_printer=e.device_id))
        test = McButton(_("Test printer"), self.test_printer, variant="secondary")
        card.add_widget(row(Widget(), fit_width(test)))

    # --- receipt printer -------------------------------------------------------------
    def _receipt(self, card: Card, entries: list[DeviceEntry]) -> None:
        s = self.services.settings
        card.add_widget(Text(_("Receipt printer (ESC/POS ticket)"), bold=True))
        chosen = s.receipt_printer or _("none configured")
        card.add_widget(pairs([(_("In use"), chosen)], 0.3))
        self._choices(card, entries, lambda e: self._save(receipt_printer=e.device_id))
        self.receipt_field = Field(_(RECEIPT_HINT), on_enter=self.type_receipt)
        card.add_widget(self.receipt_field)
        papers = {str(mm): f"{mm} mm" for mm in RECEIPT_PAPER_MM}
        card.add_widget(
            self._toggles(_("Paper"), papers, str(s.receipt_paper_mm), "receipt_paper_mm")
        )
        use = McButton(_("Use this printer"), self.type_receipt, variant="secondary")
        none = McButton(
            _("No receipt printer"), lambda: self._save(receipt_printer=""), variant="secondary"
        )
        test = McButton(_("Test receipt printer"), self.test_receipt, variant="secondary")
        card.add_widget(row(Widget(), fit_width(use), fit_width(none), fit_width(test)))

    def type_receipt(self) -> None:
        typed = self.receipt_field.value.strip()
        if typed:
            self._save(receipt_printer=typed if typed.startswith("escpos:") else "escpos:" + typed)

    # --- tests ---------------------------------------------------------------------
    def test_scanner(self) -> None:
        def done(result: ScanResult) -> None:
            problem = result.problem
            if problem is not None:
                self.screen.shell.report(
                    tr(
                        "Scanner test: {n} pages read, then: {problem}",
                        n=len(result.pages),
                        problem=describe(problem),
                    )
                )
                return
            self.screen.shell.report(tr("Scanner test: {n} pages read", n=len(result.pages)), "ok")

        self.screen.ops.device(self.services.devices.scan, done)

    def test_printer(self) -> None:
        services = self.services

        def work() -> str:
            page = tickets.trial_page_pdf(services.branch.branch_name, services.branch.clock())
            return str(services.devices.print_pdf(page, "Một Cửa — in thử"))

        self.screen.ops.device(work, lambda job: self._sent(services.settings.document_printer))

    def test_receipt(self) -> None:
        services = self.services

        def work() -> None:
            ticket = tickets.trial_ticket(services.branch.branch_name, services.branch.clock())
            services.devices.print_ticket(ticket)

        self.screen.ops.device(work, lambda _none: self._sent(services.settings.receipt_printer))

    def _sent(self, device: str) -> None:
        self.screen.shell.report(tr("Test page sent to {device}", device=device), "ok")

    # --- shared ----------------------------------------------------------------------
    def _choices(
        self, card: Card, entries: list[DeviceEntry], use: Callable[[DeviceEntry], None]
    ) -> None:
        for entry in entries:
            if not entry.usable:
                problem = _(entry.problem)
                text = f"{entry.backend}: {problem}" if entry.backend else problem
                card.add_widget(muted(text))
                continue
            button = McButton(_("Use"), functools.partial(use, entry), variant="secondary")
            card.add_widget(row(Text(f"{entry.name} ({entry.device_id})"), fit_width(button)))
        if not entries:
            card.add_widget(muted(_("None found.")))

    def _save(self, **values: Any) -> None:
        settings = self.services.settings
        for name, value in values.items():
            setattr(settings, name, value)
        self.services.save_settings()
        self.services.devices.forget()
        self.refresh()


def _typed(name: str, value: Any) -> Any:
    if name in ("scan_resolution", "receipt_paper_mm"):
        return int(value)
    return str(value)
