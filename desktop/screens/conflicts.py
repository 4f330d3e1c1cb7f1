"""Conflicts: dossiers where replicas recorded incompatible steps, both sides shown.

On the left what every desk shows now (the deterministic winner), on the right each
clashing step or value with who recorded it. A leader keeps one side with a reason; the
resolution is an ordinary event (``core.services.conflicts.resolve``) whose parents cover
every head, so every desk clears the flag the same way. Other roles see the conflict
and who may resolve it.
"""

from __future__ import annotations

import functools
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.domain.errors import N_
from core.domain.workflow import Role
from core.i18n import _, tr
from core.services import conflicts
from desktop import labels, queries, theme
from desktop.ui.widgets import (
    Card,
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

from .base import BaseScreen

FIELD_NAMES = {
    "applicant.full_name": N_("Full name"),
    "applicant.phone": N_("Phone"),
    "applicant.address": N_("Address"),
    "applicant.email": N_("Email"),
    "postal_address": N_("Postal address"),
    "return_method": N_("Result returned"),
}


def field_label(name: str) -> str:
    return _(FIELD_NAMES[name]) if name in FIELD_NAMES else name


def side_text(clash: dict[str, Any]) -> str:
    if clash.get("kind") == "field":
        return tr("{field}: {value}", field=field_label(str(clash["field"])), value=clash["value"])
    return tr(
        "{action} while {state}",
        action=labels.action_label(clash["action"]),
        state=labels.state_label(clash["state"]),
    )


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
        self.notes: dict[str, Field] = {}
        self.cards: dict[str, Card] = {}
        if not views:
            self.list.add_widget(Text(_("No dossier is in conflict."), color=theme.SUCCESS))
        for view in views:
            self.cards[view.code] = self._card(view)
            self.list.add_widget(self.cards[view.code])

    @property
    def may_resolve(self) -> bool:
        return self.user is not None and self.user.role is Role.LEADER

    def _card(self, view: DossierView) -> Card:
        card = Card()
        card.add_widget(
            heading(f"{view.code} · {view.applicant.get('full_name', '')}", size=theme.FONT_LARGE)
        )
        card.add_widget(muted(view.procedure_name, size=theme.FONT_SMALL))
        sides = BoxLayout(size_hint_y=None, spacing=theme.GAP)
        here = Card(fit=False, size_hint_x=0.5)
        here.add_widget(Text(_("Shown on every desk now"), bold=True, color=theme.TEXT_MUTED))
        state = labels.state_label(view.state)
        here.add_widget(Text(state[:1].upper() + state[1:], size=theme.FONT_LARGE, bold=True))
        for clash in view.conflicts:
            if clash.get("kind") == "field":
                name = str(clash["field"])
                current = _current_value(view, name)
                here.add_widget(
                    Text(tr("{field}: {value}", field=field_label(name), value=current))
                )
        if self.may_resolve:
            here.add_widget(
                row(
                    fit_width(
                        McButton(
                            _("Keep this state"),
                            lambda: self.resolve(view.code, state=view.state.value),
                            variant="secondary",
                        )
                    ),
                    Widget(),
                )
            )
        sides.add_widget(here)
        other = Column(size_hint_x=0.5, spacing=theme.GAP, pos_hint={"top": 1})
        for clash in view.conflicts:
            side = Card()
            side.add_widget(
                Text(
                    tr("Recorded by {user}", user=clash.get("actor", "—"))
                    if clash.get("actor")
                    else _("Recorded on another desk"),
                    bold=True,
                    color=theme.TEXT_MUTED,
                )
            )
            side.add_widget(Text(side_text(clash), size=theme.FONT_LARGE, bold=True))
            if self.may_resolve and clash.get("event_id"):
                side.add_widget(
                    row(
                        fit_width(
                            McButton(
                                _("Keep this step")
                                if clash.get("kind") != "field"
                                else _("Keep this value"),
                                functools.partial(self.resolve, view.code, keep=clash["event_id"]),
                                variant="secondary",
                            )
                        ),
                        Widget(),
                    )
                )
            other.add_widget(side)
        sides.add_widget(other)

        def fit(*_: Any) -> None:
            sides.height = max(here.minimum_height, other.height)

        here.bind(minimum_height=fit)
        other.bind(height=fit)
        fit()
        card.add_widget(sides)
        if self.may_resolve:
            note = Field(_("Reason for the resolution (required)"))
            self.notes[view.code] = note
            card.add_widget(note)
        else:
            card.add_widget(
                muted(
                    _("Only a leader can record the resolution; keep working on other dossiers."),
                    size=theme.FONT_BODY,
                )
            )
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

    def resolve(self, code: str, *, keep: str = "", state: str = "") -> None:
        user = self.user
        assert user is not None
        note = self.notes[code]
        if not note.value.strip():
            note.show_error(_("Type the reason first"))
            note.input.focus = True
            return
        text = note.value

        def done(view: DossierView) -> None:
            self.shell.report(
                tr(
                    "Conflict on {code} resolved: {state}",
                    code=view.code,
                    state=labels.state_label(view.state),
                ),
                "ok",
            )

        self.ops.write(
            lambda b: conflicts.resolve(b, user, code, keep=keep, state=state, note=text), done
        )


def _current_value(view: DossierView, name: str) -> str:
    if name.startswith("applicant."):
        return str(view.applicant.get(name.removeprefix("applicant."), ""))
    return str(getattr(view, name, ""))
