"""Conflicts: dossiers where replicas recorded incompatible steps, both sides shown.

Resolution events arrive with the sync issue; until then this screen lists every dossier
in conflict with the clashing steps, so nobody works on one unknowingly.
"""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.domain.errors import N_
from core.i18n import _, tr
from desktop import labels, queries, theme
from desktop.ui.widgets import (
    Card,
    Column,
    McButton,
    Text,
    fit_width,
    heading,
    muted,
    row,
    scrolling,
)

from .base import BaseScreen


class ConflictsScreen(BaseScreen):
    route = "conflicts"
    title = N_("Conflicts")

    def compose(self) -> Widget:
        page = BoxLayout(orientation="vertical", spacing=theme.GAP)
        page.add_widget(
            muted(
                _(
                    "When two desks record incompatible steps while apart, the "
                    "dossier is flagged on every desk until a leader records the "
                    "resolution. Nothing is deleted."
                ),
                size=theme.FONT_BODY,
            )
        )
        self.list = Column()
        page.add_widget(scrolling(self.list))
        return page

    def refresh(self) -> None:
        self.ops.read(queries.conflicted, self.show)

    def show(self, views: list[DossierView]) -> None:
        self.list.clear_widgets()
        if not views:
            self.list.add_widget(Text(_("No dossier is in conflict."), color=theme.SUCCESS))
        for view in views:
            self.list.add_widget(self._card(view))

    def _card(self, view: DossierView) -> Card:
        card = Card()
        card.add_widget(
            heading(f"{view.code} · {view.applicant['full_name']}", size=theme.FONT_LARGE)
        )
        sides = BoxLayout(size_hint_y=None, spacing=theme.GAP)
        here = Card()
        here.add_widget(Text(_("Recorded state"), bold=True))
        here.add_widget(Text(labels.state_label(view.state)))
        sides.add_widget(here)
        other = Card()
        other.add_widget(Text(_("Clashing steps"), bold=True))
        for clash in view.conflicts:
            other.add_widget(
                Text(
                    tr(
                        "{action} while {state}",
                        action=labels.action_label(clash["action"]),
                        state=labels.state_label(clash["state"]),
                    )
                )
            )
        sides.add_widget(other)
        sides.height = max(here.height, other.height, 90)
        card.add_widget(sides)
        card.add_widget(
            row(
                Widget(),
                fit_width(
                    McButton(
                        _("Open dossier"),
                        lambda: self.shell.go("dossier", code=view.code),
                        variant="secondary",
                    )
                ),
            )
        )
        return card
