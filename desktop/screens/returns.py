"""Result return: at the counter after an identity check, or registered for the post."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.domain.errors import N_
from core.domain.workflow import Action, State
from core.i18n import _, tr
from desktop import labels, queries, theme
from desktop.ui.table import Table
from desktop.ui.widgets import Card, Field, McButton, Text, fit_width, heading, muted, row
from desktop.ui.widgets import labels as pairs

from .base import BaseScreen


class ReturnsScreen(BaseScreen):
    route = "returns"
    title = N_("Return results")

    def compose(self) -> Widget:
        page = BoxLayout(spacing=theme.GAP + 4)
        self.table = Table(
            [(_("Code"), 0.4), (_("Applicant"), 0.36), (_("Status"), 0.24)],
            on_open=self.select,
            empty=_("No result waiting to be returned."),
            size_hint_x=0.45,
        )
        page.add_widget(self.table)
        self.panel = Card(fit=False, size_hint_x=0.55)
        page.add_widget(self.panel)
        self.views: dict[str, DossierView] = {}
        self.selected: DossierView | None = None
        self._hint()
        return page

    def _hint(self) -> None:
        self.panel.clear_widgets()
        self.panel.add_widget(
            muted(_("Choose a dossier on the left (Enter)."), size=theme.FONT_BODY)
        )
        self.panel.add_widget(Widget())

    def refresh(self) -> None:
        states = (State.FINISHED, State.POSTAL_RETURN)
        self.ops.read(lambda b: queries.in_states(b, states), self.show)

    def show(self, views: list[DossierView]) -> None:
        self.views = {v.code: v for v in views}
        self.table.set_rows(
            [
                (v.code, [v.code, v.applicant["full_name"], labels.state_label(v.state)])
                for v in views
            ]
        )
        if self.selected and self.selected.code in self.views:
            self.select(self.selected.code)
        else:
            self.selected = None
            self._hint()

    def first_focus(self) -> Widget | None:
        return self.table.rows[0] if self.table.rows else None

    def select(self, code: str) -> None:
        view = self.views[code]
        self.selected = view
        panel = self.panel
        panel.clear_widgets()
        panel.add_widget(
            heading(f"{view.code} · {labels.state_label(view.state)}", size=theme.FONT_LARGE)
        )
        panel.add_widget(
            pairs(
                [
                    (_("Procedure"), view.procedure_name),
                    (_("Applicant"), view.applicant["full_name"]),
                    (_("Appointment"), labels.moment(view.due_at)),
                    (
                        _("Result returned"),
                        _("At the counter")
                        if view.return_method == "counter"
                        else tr("By post to {address}", address=view.postal_address),
                    ),
                ]
            )
        )
        if view.state == State.FINISHED:
            self._counter_form(view)
            self._postal_form(view)
        else:
            panel.add_widget(
                McButton(_("Postal delivery confirmed"), lambda: self.act(view, Action.DELIVER, {}))
            )
        panel.add_widget(Widget())

    def _counter_form(self, view: DossierView) -> None:
        self.identity = Field(
            _("Identity check: citizen ID of the person collecting"),
            on_enter=lambda: self.return_at_counter(view),
        )
        self.panel.add_widget(self.identity)
        self.panel.add_widget(
            row(
                Widget(),
                fit_width(
                    McButton(_("Return result") + "  (Enter)", lambda: self.return_at_counter(view))
                ),
            )
        )
        self.identity.input.focus = True

    def _postal_form(self, view: DossierView) -> None:
        self.panel.add_widget(Text(_("Or send by post"), bold=True))
        self.address = Field(_("Postal address"))
        self.address.input.text = view.postal_address
        self.order = Field(_("Postal order number"))
        self.panel.add_widget(self.address)
        self.panel.add_widget(self.order)
        self.panel.add_widget(
            row(
                Widget(),
                fit_width(
                    McButton(
                        _("Send by post"), lambda: self.send_by_post(view), variant="secondary"
                    )
                ),
            )
        )

    def return_at_counter(self, view: DossierView) -> None:
        given = self.identity.value
        if given != view.applicant.get("id_number"):
            self.identity.show_error(
                _(
                    "The citizen ID does not match the applicant's: "
                    "ask for the ID card or an authorisation."
                )
            )
            return
        self.act(view, Action.RETURN, {})

    def send_by_post(self, view: DossierView) -> None:
        details = {"postal_address": self.address.value, "order_number": self.order.value}
        self.act(view, Action.REGISTER_POSTAL, details)

    def act(self, view: DossierView, action: Action, details: dict[str, Any]) -> None:
        user = self.user

        def done(after: DossierView) -> None:
            self.shell.report(
                tr(
                    "{action}: done — {code} is now {state}",
                    action=labels.action_label(action),
                    code=after.code,
                    state=labels.state_label(after.state),
                ),
                "ok",
            )

        self.ops.write(lambda b: b.dossiers.act(user, view.code, action, details=details), done)
