"""What every screen shares: its route, its title, how it is (re)built and refreshed.

A screen builds its widgets in ``compose`` (again after a language switch), loads its data
in ``refresh`` through the shell's operations (never on the UI thread), and decides in
``on_changes`` whether an operation's :class:`Changes` concern it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from core.i18n import _
from core.services.changes import Changes
from desktop import theme
from desktop.ui.widgets import heading, paint

if TYPE_CHECKING:
    from core.services.users import User
    from desktop.operations import Operations
    from desktop.services import Services
    from desktop.shell import Shell


class BaseScreen(Screen):
    route = ""
    title = ""  # an English msgid
    needs_user = True

    def __init__(self, shell: Shell) -> None:
        super().__init__(name=self.route)
        self.shell = shell
        self.params: dict[str, Any] = {}
        paint(self, theme.BACKGROUND)
        self.rebuild()

    # --- context ---------------------------------------------------------------------
    @property
    def services(self) -> Services:
        return self.shell.services

    @property
    def ops(self) -> Operations:
        return self.shell.ops

    @property
    def user(self) -> User | None:
        return self.shell.user

    @property
    def showing(self) -> bool:
        return self.manager is not None and self.manager.current == self.name

    # --- building --------------------------------------------------------------------
    def rebuild(self) -> None:
        self.clear_widgets()
        page = BoxLayout(orientation="vertical", padding=theme.PAD, spacing=theme.GAP)
        if self.title:
            page.add_widget(heading(_(self.title)))
        page.add_widget(self.compose())
        self.add_widget(page)

    def compose(self) -> Widget:
        raise NotImplementedError

    # --- life cycle ------------------------------------------------------------------
    def open(self, **params: Any) -> None:
        """Called by the shell before the screen shows; params come from ``shell.go``."""
        self.params = params

    def on_pre_enter(self, *_: Any) -> None:
        self.refresh()

    def on_enter(self, *_: Any) -> None:
        target = self.first_focus()
        if target is not None:
            target.focus = True

    def first_focus(self) -> Widget | None:
        return None

    def refresh(self) -> None:
        """Load what the screen shows (through ``self.ops``); default: nothing to load."""

    def on_changes(self, changes: Changes) -> None:
        if self.showing:
            self.refresh()

    def on_code(self, text: str) -> bool:
        """A code reader's code while this screen shows; True when the screen used it."""
        return False

    def on_key(self, key: str, modifiers: list[str]) -> bool:
        """Screen shortcuts; return True when the key was used."""
        return False
