"""Choosing files to import (scans saved by another program, photos, PDFs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.filechooser import FileChooserListView
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget

from core.i18n import _
from desktop import theme
from desktop.ui.widgets import McButton, Text, fit_width, heading, muted, paint


class FileDialog(ModalView):
    """A list of folders and files (filtered), several may be chosen; Import or Cancel."""

    def __init__(
        self,
        title: str,
        start: Path,
        patterns: list[str],
        on_choose: Callable[[list[Path]], Any],
    ) -> None:
        super().__init__(
            size_hint=(0.72, 0.82), auto_dismiss=True, background_color=(0, 0, 0, 0.45)
        )
        self.on_choose = on_choose
        page = BoxLayout(orientation="vertical", padding=theme.PAD, spacing=theme.GAP)
        paint(page, theme.SURFACE, theme.RADIUS, theme.BORDER)
        page.add_widget(heading(title, size=theme.FONT_LARGE))
        page.add_widget(
            muted(_("JPEG, PNG, TIFF or PDF; hold Ctrl to choose several files, in page order."))
        )
        folder = start if start.is_dir() else Path.home()
        self.chooser = FileChooserListView(
            path=str(folder), filters=patterns, multiselect=True, font_name=theme.FONT_NAME
        )
        self.chooser.bind(on_submit=lambda *_: self.confirm())
        self.folder = Text(self.chooser.path, size=theme.FONT_SMALL, bold=True)
        self.chooser.bind(path=lambda _w, path: setattr(self.folder, "text", path))
        page.add_widget(self.folder)
        page.add_widget(self.chooser)
        self.chosen = Text("", size=theme.FONT_SMALL, color=theme.TEXT_MUTED)
        self.chooser.bind(selection=lambda *_: self._show_selection())
        page.add_widget(self.chosen)
        buttons = BoxLayout(size_hint_y=None, height=theme.ROW, spacing=theme.GAP)
        buttons.add_widget(Widget())
        buttons.add_widget(fit_width(McButton(_("Cancel") + "  (Esc)", self.dismiss, "secondary")))
        self.import_button = fit_width(McButton(_("Import"), self.confirm))
        buttons.add_widget(self.import_button)
        page.add_widget(buttons)
        self.add_widget(page)

    def _show_selection(self) -> None:
        self.chosen.text = ", ".join(Path(p).name for p in self.chooser.selection)

    def confirm(self) -> None:
        chosen = [Path(p) for p in self.chooser.selection if Path(p).is_file()]
        if not chosen:
            self.chosen.text = _("Choose at least one file.")
            return
        self.dismiss()
        self.on_choose(chosen)
