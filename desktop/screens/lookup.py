"""Find a dossier by code, citizen ID, phone or name; a slip's QR code opens it at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.domain.errors import N_
from core.domain.lookup import PREFIX
from core.i18n import _
from desktop import theme
from desktop.ui.table import Table
from desktop.ui.widgets import Field

from .base import BaseScreen
from .queues import rows

if TYPE_CHECKING:
    from core.domain.dossier import DossierView


class LookupScreen(BaseScreen):
    route = "lookup"
    title = N_("Find a dossier")

    def compose(self) -> Widget:
        page = BoxLayout(orientation="vertical", spacing=theme.GAP)
        self.query = Field(
            _("Code, citizen ID, phone or name (accents optional); or scan the slip's QR code"),
            on_enter=self.search,
        )
        page.add_widget(self.query)
        self.table = Table(
            [
                (_("Code"), 0.16),
                (_("Applicant"), 0.17),
                (_("Procedure"), 0.27),
                (_("Status"), 0.17),
                (_("Held by"), 0.09),
                (_("Due"), 0.14),
            ],
            on_open=lambda code: self.shell.go("dossier", code=code),
            empty=_("Type and press Enter to search."),
        )
        page.add_widget(self.table)
        return page

    def first_focus(self) -> Widget | None:
        return self.query.input

    def search(self) -> None:
        text = self.query.value
        if not text:
            return
        if text.startswith(PREFIX + "|"):
            self.shell.open_slip(text)
            return
        self.ops.read(lambda b: b.dossiers.search(text), self._found)

    def _found(self, views: list[DossierView]) -> None:
        self.table.empty_text = _("No dossier found.")
        self.table.set_rows(rows(views))
        if len(views) == 1:
            self.table.rows[0].focus = True
