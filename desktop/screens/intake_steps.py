"""The intake wizard's pages: procedure, applicant, components, fees and return, review."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.domain.applicant import FIELDS
from core.domain.errors import N_
from core.i18n import _, tr
from core.ports.scanner import ScanSettings, Source
from desktop import labels, theme
from desktop.intake_model import IntakeDraft
from desktop.ui.thumbs import ThumbStrip
from desktop.ui.widgets import (
    Card,
    Cell,
    Check,
    Column,
    Field,
    McButton,
    Text,
    fit_width,
    heading,
    muted,
    row,
    scrolling,
)
from desktop.ui.widgets import (
    labels as pairs,
)

if TYPE_CHECKING:
    from core.domain.catalogue import Procedure

SOURCES = {Source.FLATBED: N_("Flatbed"), Source.FEEDER: N_("Feeder")}
FIELD_CAPTIONS = {
    "full_name": (N_("Full name"), ""),
    "id_number": (N_("Citizen ID (12 digits)"), "001234567890"),
    "date_of_birth": (N_("Date of birth (yyyy-mm-dd)"), "1990-05-17"),
    "phone": (N_("Phone"), "0912345678"),
    "address": (N_("Address"), ""),
    "email": (N_("Email (optional)"), ""),
}


class ApplicantPage(Column):
    def __init__(
        self, draft: IntakeDraft, on_qr: Callable[[str], object], on_done: Callable[[], object]
    ) -> None:
        super().__init__(spacing=theme.GAP)
        self.draft = draft
        self.fields: dict[str, Field] = {}
        self.qr: Field = Field(
            _("Citizen ID card QR (scan with the code reader, or type)"),
            on_enter=lambda: on_qr(self.qr.value),
        )
        self.add_widget(self.qr)
        grid = BoxLayout(spacing=theme.PAD, size_hint_y=None)
        left, right = Column(), Column()
        for index, name in enumerate(FIELDS):
            caption, hint = FIELD_CAPTIONS[name]
            last = name == FIELDS[-1]
            widget = Field(_(caption), hint=hint, on_enter=on_done if last else None)
            widget.input.text = draft.applicant.get(name, "")
            self.fields[name] = widget
            (left if index % 2 == 0 else right).add_widget(widget)
        grid.add_widget(left)
        grid.add_widget(right)
        left.bind(height=lambda *_: setattr(grid, "height", max(left.height, right.height)))
        right.bind(height=lambda *_: setattr(grid, "height", max(left.height, right.height)))
        self.add_widget(grid)

    def collect(self) -> None:
        for name, widget in self.fields.items():
            self.draft.applicant[name] = widget.value

    def fill(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            if name in self.fields and value:
                self.fields[name].input.text = value

    def show_errors(self, problems: dict[str, str]) -> None:
        for name, widget in self.fields.items():
            widget.show_error(problems.get(name, ""))


class ComponentsPage(Column):
    """The checklist; each document can be scanned or imported, its pages reordered."""

    def __init__(
        self,
        draft: IntakeDraft,
        on_scan: Callable[[str], object],
        on_import: Callable[[str], object],
        defaults: ScanSettings,
    ) -> None:
        super().__init__(spacing=4)
        self.draft = draft
        self.defaults = defaults
        assert draft.procedure is not None
        self.summary = Text("", bold=True)
        self.add_widget(self.summary)
        self.add_widget(self._scan_options())
        header = row(
            Widget(size_hint_x=None, width=30),
            Cell(_("Document"), 0.44, bold=True, color=theme.TEXT_MUTED),
            Cell(_("Original / certified / copy"), 0.18, bold=True, color=theme.TEXT_MUTED),
            Cell(_("Pages"), 0.08, bold=True, color=theme.TEXT_MUTED),
            Widget(size_hint_x=0.3),
        )
        self.add_widget(header)
        self.checks: dict[str, Check] = {}
        self.page_cells: dict[str, Cell] = {}
        self.strips: dict[str, BoxLayout] = {}
        for comp in draft.procedure.components:
            check = Check(
                comp.key in draft.supplied, on_change=functools.partial(self._toggle, comp.key)
            )
            self.checks[comp.key] = check
            box = BoxLayout(size_hint_x=None, width=30, padding=(0, 7))
            box.add_widget(check)
            name = comp.name + ("" if comp.mandatory else "  " + _("(optional)"))
            counts = f"{comp.originals} / {comp.certified_copies} / {comp.copies}"
            self.page_cells[comp.key] = Cell("", 0.08)
            scan = McButton(
                _("Scan"),
                functools.partial(on_scan, comp.key),
                variant="secondary",
                size_hint_x=0.13,
            )
            imports = McButton(
                _("Import files"),
                functools.partial(on_import, comp.key),
                variant="secondary",
                size_hint_x=0.17,
            )
            line = row(
                box,
                Cell(name, 0.44),
                Cell(counts, 0.18),
                self.page_cells[comp.key],
                scan,
                imports,
                height=theme.ROW + 2,
            )
            self.add_widget(line)
            strip = BoxLayout(orientation="vertical", size_hint_y=None, padding=(38, 0, 0, 4))
            strip.bind(minimum_height=strip.setter("height"))
            self.strips[comp.key] = strip
            self.add_widget(strip)
            self.show_pages(comp.key)
        self._update()

    def _scan_options(self) -> Widget:
        """How the next Scan reads the paper: flatbed or feeder, one side or both (the
        defaults chosen in Settings until the clerk changes them for a document)."""
        self.sources = {
            source: fit_width(
                McButton(
                    _(label),
                    functools.partial(self.choose_source, source),
                    variant="secondary",
                    font_size=14,
                ),
                extra=20,
            )
            for source, label in SOURCES.items()
        }
        self.duplex = Check(self.duplex_on, on_change=self.choose_duplex)
        caption = Cell(_("Scan from"), 0.12, color=theme.TEXT_MUTED, font_size=theme.FONT_SMALL)
        both = Cell(_("both sides"), 0.15, font_size=theme.FONT_SMALL)
        box = BoxLayout(size_hint_x=None, width=30, padding=(0, 7))
        box.add_widget(self.duplex)
        self._show_source()
        return row(caption, *self.sources.values(), box, both, Widget())

    @property
    def source(self) -> Source:
        return self.draft.scan_source or self.defaults.source

    @property
    def duplex_on(self) -> bool:
        chosen = self.draft.scan_duplex
        return self.defaults.duplex if chosen is None else chosen

    def choose_source(self, source: Source) -> None:
        self.draft.scan_source = source
        self._show_source()

    def choose_duplex(self, on: bool) -> None:
        self.draft.scan_duplex = on

    def _show_source(self) -> None:
        for source, button in self.sources.items():
            button.set_variant("primary" if source is self.source else "secondary")

    def show_pages(self, key: str) -> None:
        """Redraw one document's thumbnails and page count from the draft."""
        pages = self.draft.pages.get(key, [])
        self.page_cells[key].text = str(len(pages))
        strip = self.strips[key]
        strip.clear_widgets()
        if pages:
            strip.add_widget(
                ThumbStrip(
                    [p.thumb for p in pages],
                    on_move=functools.partial(self._move, key),
                    on_delete=functools.partial(self._delete, key),
                )
            )
        if key in self.draft.supplied and not self.checks[key].active:
            self.checks[key].on_press()
        self._update()

    def _move(self, key: str, index: int, delta: int) -> None:
        self.draft.move_page(key, index, delta)
        self.show_pages(key)

    def _delete(self, key: str, index: int) -> None:
        self.draft.delete_page(key, index)
        self.show_pages(key)

    def _toggle(self, key: str, on: bool) -> None:
        if on:
            self.draft.supplied.add(key)
        else:
            self.draft.supplied.discard(key)
        self._update()

    def _update(self) -> None:
        have, total = self.draft.counts()
        missing = len(self.draft.mandatory_missing)
        text = tr("{have} of {total} documents received", have=have, total=total)
        if missing:
            text += " · " + tr("{n} mandatory missing", n=missing)
        self.summary.text = text
        self.summary.color = theme.WARNING if missing else theme.SUCCESS

    def check_all(self) -> None:
        for key, check in self.checks.items():
            if not check.active:
                check.on_press()
                self._toggle(key, True)


class ReturnPage(Column):
    def __init__(self, draft: IntakeDraft) -> None:
        super().__init__(spacing=theme.GAP)
        self.draft = draft
        procedure = draft.procedure
        assert procedure is not None
        fees = Card()
        fees.add_widget(heading(_("Fees"), size=theme.FONT_LARGE))
        items = [(f.name, labels.money(f.amount_vnd)) for f in procedure.fees]
        items.append((_("Total"), labels.money(procedure.total_fee_vnd)))
        fees.add_widget(pairs(items, caption_width=0.6))
        self.add_widget(fees)
        method = Card()
        method.add_widget(heading(_("How the citizen receives the result"), size=theme.FONT_LARGE))
        self.counter = McButton(_("At the counter"), lambda: self.choose("counter"))
        self.postal = McButton(_("By post"), lambda: self.choose("postal"))
        method.add_widget(row(self.counter, self.postal))
        self.address = Field(_("Postal address"), hint=_("House number, street, ward, province"))
        self.address.input.text = draft.postal_address
        method.add_widget(self.address)
        self.add_widget(method)
        self.choose(draft.return_method)

    def choose(self, method: str) -> None:
        self.draft.return_method = method
        self.counter.set_variant("primary" if method == "counter" else "secondary")
        self.postal.set_variant("primary" if method == "postal" else "secondary")
        self.address.disabled = method != "postal"
        self.address.opacity = 1 if method == "postal" else 0.4

    def collect(self) -> None:
        self.draft.postal_address = self.address.value


def review_page(draft: IntakeDraft, due: Any) -> Column:
    procedure = draft.procedure
    assert procedure is not None
    page = Column(spacing=theme.GAP)
    a = draft.applicant
    summary = Card()
    summary.add_widget(heading(procedure.name, size=theme.FONT_LARGE))
    have, total = draft.counts()
    method = (
        _("At the counter")
        if draft.return_method == "counter"
        else tr("By post to {address}", address=draft.postal_address)
    )
    summary.add_widget(
        pairs(
            [
                (_("Applicant"), a.get("full_name", "")),
                (_("Citizen ID"), a.get("id_number", "")),
                (_("Phone"), a.get("phone", "")),
                (
                    _("Documents"),
                    tr("{have} of {total} documents received", have=have, total=total),
                ),
                (_("Fees"), labels.money(procedure.total_fee_vnd)),
                (
                    _("Processing time"),
                    labels.processing_time(procedure.processing_time, procedure.processing_unit),
                ),
                (_("Result returned"), method),
            ]
        )
    )
    page.add_widget(summary)
    when = Card()
    when.add_widget(
        heading(
            tr("Appointment: {moment}", moment=labels.moment(due.due_at)), size=theme.FONT_LARGE
        )
    )
    when.add_widget(muted(_("How it was computed:")))
    for line in labels.explanation(due.steps):
        when.add_widget(Text("• " + line))
    page.add_widget(when)
    missing = draft.mandatory_missing
    if missing:
        warn = Card()
        warn.add_widget(
            Text(
                _(
                    "Mandatory documents are missing: receiving will give the "
                    "citizen a supplement guidance instead of a slip."
                ),
                color=theme.WARNING,
                bold=True,
            )
        )
        for name in missing:
            warn.add_widget(Text("• " + name))
        page.add_widget(warn)
    return page


def procedure_rows(found: list[Procedure]) -> list[tuple[str, list[str]]]:
    return [
        (
            p.code,
            [
                p.code,
                p.name,
                labels.field_label(p.field),
                labels.processing_time(p.processing_time, p.processing_unit),
            ],
        )
        for p in found
    ]


def scroll(widget: Widget) -> Widget:
    return scrolling(widget)
