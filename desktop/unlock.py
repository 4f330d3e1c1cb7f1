"""The unlock form: a desk whose store key is kept only under the branch passphrase
(no OS keystore, no ``MOTCUA_PASSPHRASE``) asks for it when it starts.

Opening the store is tried first with a prompt that raises :class:`PassphraseNeeded`,
so a desk with its key in the keystore never sees this form. The passphrase typed here
is checked off the window's thread (Argon2id takes about half a second); a wrong one
is said in the form and the desk stays locked, nothing opened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.uix.anchorlayout import AnchorLayout

from core.cli.failures import explain
from core.i18n import _, describe
from desktop import theme
from desktop.ui.widgets import Card, Field, McButton, Text, heading, muted

if TYPE_CHECKING:
    from desktop.services import Services

Opened = Callable[["Services"], None]
Post = Callable[[Callable[[], None]], None]
Compose = Callable[[str], "Services"]


class PassphraseNeeded(Exception):
    """The store's key is not in the keystore: the branch passphrase must be typed."""


def ask_in_window() -> str:
    """The prompt given to ``Branch.open`` before the window exists: never answers."""
    raise PassphraseNeeded


class UnlockView(AnchorLayout):
    def __init__(self, data_dir: Path, compose: Compose, opened: Opened, post: Post) -> None:
        super().__init__(anchor_x="center", anchor_y="center")
        self.compose, self.opened, self.post = compose, opened, post
        self.checking = False
        card = Card(
            size_hint_x=None,
            width=520,
            spacing=theme.GAP + 4,
            padding=(theme.PAD * 2, theme.PAD * 2),
        )
        card.add_widget(heading(_("Một Cửa"), size=theme.FONT_HERO))
        card.add_widget(Text(_("This desk's store is encrypted"), size=theme.FONT_LARGE))
        card.add_widget(
            Text(
                _(
                    "Type the branch passphrase branch IT set for this desk: the store opens "
                    "only with it."
                )
            )
        )
        card.add_widget(muted(str(data_dir)))
        self.passphrase = Field(_("Branch passphrase"), password=True, on_enter=self.submit)
        self.message = Text("", color=theme.DANGER)
        self.button = McButton(_("Unlock"), self.submit)
        for widget in (self.passphrase, self.message, self.button):
            card.add_widget(widget)
        self.add_widget(card)
        self.passphrase.input.focus = True

    def submit(self) -> None:
        secret = str(self.passphrase.input.text)
        if self.checking:
            return
        if not secret:
            self.message.text = _("Type the branch passphrase")
            return
        self.checking = True
        self.button.disabled = True
        self.message.color = theme.TEXT_MUTED
        self.message.text = _("Checking…")
        threading.Thread(target=self._open, args=(secret,), name="unlock", daemon=True).start()

    def _open(self, secret: str) -> None:
        try:
            services = self.compose(secret)
        except Exception as exc:  # a wrong passphrase, a damaged key file: said in the form
            refusal = explain(exc)
            if refusal is None:
                raise
            text = describe(refusal)
            self.post(lambda: self._refused(text))
            return
        self.post(lambda: self._unlocked(services))

    def _refused(self, text: str) -> None:
        self.checking = False
        self.button.disabled = False
        self.message.color = theme.DANGER
        self.message.text = text
        self.passphrase.input.text = ""
        self.passphrase.input.focus = True

    def _unlocked(self, services: Any) -> None:
        self.checking = False
        self.passphrase.input.text = ""
        self.opened(services)
