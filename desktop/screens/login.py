"""Login: offline, against the local Argon2 verifiers; five failures lock the account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.widget import Widget

from core.i18n import _, current_language
from desktop import theme
from desktop.ui.widgets import Card, Field, McButton, Text, heading, muted, row

from .base import BaseScreen

if TYPE_CHECKING:
    from core.services.users import User


class LoginScreen(BaseScreen):
    route = "login"
    needs_user = False

    def compose(self) -> Widget:
        outer = AnchorLayout(anchor_x="center", anchor_y="center")
        card = Card(
            size_hint_x=None,
            width=460,
            spacing=theme.GAP + 4,
            padding=(theme.PAD * 2, theme.PAD * 2),
        )
        card.add_widget(heading(_("Một Cửa"), size=theme.FONT_HERO))
        card.add_widget(muted(self.services.branch.branch_name, size=theme.FONT_BODY))
        card.add_widget(Text(_("Sign in to the counter"), size=theme.FONT_LARGE))
        self.username = Field(_("User name"))
        self.password = Field(_("Password"), password=True, on_enter=self.submit)
        self.message = Text("", color=theme.DANGER)
        self.button = McButton(_("Sign in"), self.submit)
        other = "en" if current_language() == "vi" else "vi"
        switch = McButton(
            _("Tiếng Việt") if other == "vi" else _("English"),
            lambda: self.shell.switch_language(other),
            variant="secondary",
        )
        for widget in (self.username, self.password, self.message, self.button):
            card.add_widget(widget)
        card.add_widget(
            row(
                muted(_("Works offline: the password is checked on this computer.")),
                switch,
                height=theme.ROW,
            )
        )
        switch.size_hint_x = 0.4
        outer.add_widget(card)
        return outer

    def first_focus(self) -> Widget | None:
        return self.username.input

    def open(self, **params: Any) -> None:
        super().open(**params)
        self.password.input.text = ""

    def submit(self) -> None:
        name, password = self.username.value, str(self.password.input.text)
        if not name:
            self.message.text = _("Type your user name")
            return
        self.message.text = _("Checking…")
        self.button.disabled = True
        self.ops.write(lambda b: b.login(name, password), self._signed_in, self._refused)

    def _signed_in(self, user: User) -> None:
        self.button.disabled = False
        self.message.text = ""
        self.password.input.text = ""
        self.shell.report("")
        self.shell.login(user)

    def _refused(self, err: BaseException) -> bool:
        from desktop.operations import message_for

        self.button.disabled = False
        self.message.text = message_for(err)
        self.password.input.text = ""
        self.password.input.focus = True
        return True
