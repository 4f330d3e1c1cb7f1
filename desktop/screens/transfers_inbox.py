"""The dashboard's card of transfers from other units: offers to accept, replies to take
back (``core.services.transfers``). An officer accepts an offer here and the new dossier
opens; a reply opens its dossier, where "Take back" is."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.i18n import _, tr
from core.services.transfers import TransferMessage, TransferService
from desktop import labels, theme
from desktop.ui.widgets import Card, McButton, Text, fit_width, heading, muted, row

if TYPE_CHECKING:
    from .base import BaseScreen

SHOWN = 3  # messages listed; the rest are counted


class TransfersCard(Card):
    def __init__(self, screen: BaseScreen) -> None:
        super().__init__(fit=True)
        self.screen = screen

    def show(self, messages: list[TransferMessage]) -> None:
        self.clear_widgets()
        self.add_widget(heading(_("From other units"), size=theme.FONT_LARGE))
        if not messages:
            self.add_widget(muted(_("No transfer waiting."), size=theme.FONT_BODY))
        for message in messages[:SHOWN]:
            self.add_widget(self._row(message))
        if len(messages) > SHOWN:
            self.add_widget(muted(tr("and {n} more", n=len(messages) - SHOWN)))

    def _row(self, message: TransferMessage) -> Widget:
        if message.kind == "offer":
            what = tr(
                "{code} from {unit}: {procedure}, due {due}",
                code=message.code,
                unit=message.from_branch,
                procedure=message.summary.get("procedure", ""),
                due=labels.moment(str(message.summary.get("due_at", ""))),
            )
            button = McButton(_("Accept"), functools.partial(self.accept, message))
        else:
            what = tr("{code} back from {unit}", code=message.code, unit=message.from_branch)
            button = McButton(
                _("Open"), functools.partial(self.screen.shell.go, "dossier", code=message.code)
            )
        return row(Text(what, size=theme.FONT_BODY), fit_width(button))

    def accept(self, message: TransferMessage) -> None:
        user = self.screen.user
        if user is None:
            return

        def done(view: DossierView) -> None:
            self.screen.shell.report(
                tr("{code} accepted from {unit}", code=view.code, unit=message.from_branch), "ok"
            )
            self.screen.shell.go("dossier", code=view.code)

        self.screen.ops.write(lambda b: TransferService(b).accept(user, message.event_id), done)
