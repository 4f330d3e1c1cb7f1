"""Kiosk for citizens: scan the slip's QR (or type the code and ID number), see the status,
the expected date and what to do next in plain words; rate the service afterwards."""

from __future__ import annotations

import functools
from typing import Any

from kivy.clock import Clock
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.domain.errors import N_, MotcuaError
from core.domain.lookup import PREFIX, code_from_link, parse_slip_payload
from core.domain.workflow import State
from core.i18n import _, describe, tr
from desktop import labels, theme
from desktop.ui.widgets import Card, Field, McButton, Text, heading, muted, row

from .base import BaseScreen

RESET_SECONDS = 60
RATINGS = (
    (1, N_("Very unhappy")),
    (2, N_("Unhappy")),
    (3, N_("Acceptable")),
    (4, N_("Happy")),
    (5, N_("Very happy")),
)


class KioskScreen(BaseScreen):
    route = "kiosk"
    needs_user = False

    def compose(self) -> Widget:
        outer = AnchorLayout()
        self.card = Card(size_hint_x=0.8, spacing=theme.PAD, padding=theme.PAD * 2)
        outer.add_widget(self.card)
        self.view: DossierView | None = None
        self._reset_event: Any = None
        self.start_page()
        return outer

    def start_page(self) -> None:
        self.view = None
        card = self.card
        card.clear_widgets()
        card.add_widget(heading(_("Look up your dossier"), size=theme.FONT_HERO))
        card.add_widget(
            Text(
                _(
                    "Hold the QR code of your appointment slip under the reader, "
                    "or type the dossier code and your citizen ID number."
                ),
                size=theme.FONT_LARGE,
            )
        )
        self.code = Field(
            _("Dossier code (on the slip) — or scan the QR code"), on_enter=self._code_entered
        )
        self.secret = Field(
            _("Citizen ID number (12 digits) or the slip's lookup key"), on_enter=self.look_up
        )
        for f in (self.code, self.secret):
            f.input.font_size = theme.FONT_KIOSK
            f.input.height = theme.ROW + 20
            card.add_widget(f)
        self.message = Text("", color=theme.DANGER, size=theme.FONT_LARGE)
        card.add_widget(self.message)
        card.add_widget(
            McButton(_("Look up"), self.look_up, height=theme.ROW + 20, font_size=theme.FONT_KIOSK)
        )

    def first_focus(self) -> Widget | None:
        return self.code.input if self.view is None else None

    def on_code(self, text: str) -> bool:
        """The kiosk's reader: a slip QR shows its status at once; form 01's link to the
        lookup page fills in the code, and the citizen still types her ID or key."""
        linked = code_from_link(text)
        if linked:
            self.start_page()
            self.code.input.text = linked
            self.secret.input.focus = True
            return True
        if not text.startswith(PREFIX + "|"):
            return False
        self.code.input.text = text
        self.look_up()
        return True

    def _code_entered(self) -> None:
        linked = code_from_link(self.code.value)
        if linked:  # a wedge reader types the link into the field
            self.code.input.text = linked
        if self.code.value.startswith(PREFIX + "|"):
            self.look_up()
        else:
            self.secret.input.focus = True

    def look_up(self) -> None:
        text = code_from_link(self.code.value) or self.code.value
        try:
            if text.startswith(PREFIX + "|"):
                slip = parse_slip_payload(text)
                code, secret = slip.code, slip.token
            else:
                code, secret = text, self.secret.value
        except MotcuaError as err:
            self.message.text = describe(err)
            return
        self.ops.read(lambda b: b.dossiers.lookup(code, secret), self.show, self._not_found)

    def _not_found(self, err: BaseException) -> bool:
        self.message.text = describe(err) if isinstance(err, MotcuaError) else str(err)
        return True

    def show(self, view: DossierView) -> None:
        self.view = view
        card = self.card
        card.clear_widgets()
        card.add_widget(heading(tr("Dossier {code}", code=view.code), size=theme.FONT_HERO))
        card.add_widget(Text(view.procedure_name, size=theme.FONT_LARGE))
        card.add_widget(
            Text(
                tr("Status: {state}", state=labels.state_label(view.state)),
                size=theme.FONT_KIOSK,
                bold=True,
                color=theme.PRIMARY,
            )
        )
        if view.state not in (State.RETURNED, State.REFUSED, State.STOPPED):
            card.add_widget(
                Text(
                    tr("Expected result: {moment}", moment=labels.moment(view.due_at)),
                    size=theme.FONT_KIOSK,
                )
            )
        card.add_widget(Text(_(labels.NEXT_STEP[view.state]), size=theme.FONT_LARGE))
        card.add_widget(muted(_("How satisfied are you with our service?"), size=theme.FONT_LARGE))
        card.add_widget(
            row(
                *(
                    McButton(
                        f"{n} · {_(text)}",
                        functools.partial(self.rate, n),
                        variant="secondary",
                        font_size=theme.FONT_BODY,
                    )
                    for n, text in RATINGS
                ),
                height=theme.ROW + 16,
            )
        )
        card.add_widget(
            McButton(_("Done"), self.start_page, height=theme.ROW + 16, font_size=theme.FONT_LARGE)
        )
        self._arm_reset()

    def rate(self, score: int) -> None:
        view = self.view
        assert view is not None

        def thanks(_value: object) -> None:
            self.card.clear_widgets()
            self.card.add_widget(heading(_("Thank you for your rating."), size=theme.FONT_HERO))
            self.card.add_widget(McButton(_("Done"), self.start_page, height=theme.ROW + 16))

        self.ops.write(lambda b: b.dossiers.rate(view.code, view.lookup_token, score), thanks)

    def _arm_reset(self) -> None:
        if self._reset_event is not None:
            self._reset_event.cancel()
        self._reset_event = Clock.schedule_once(lambda _dt: self.start_page(), RESET_SECONDS)

    def on_key(self, key: str, modifiers: list[str]) -> bool:
        if key == "escape":
            self.start_page()
            self.on_enter()
            return True
        return False
