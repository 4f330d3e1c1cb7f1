"""The window's frame: top bar, navigation, the screens, the status line, the keyboard.

Esc goes back; F1–F8 open the main screens (shown beside each navigation entry); Ctrl+L
logs out. The shell receives every operation's Changes and passes them to the screens.
"""

from __future__ import annotations

import functools
import importlib
import logging
import time
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.textinput import TextInput

from core.domain.errors import N_, MotcuaError
from core.domain.lookup import PREFIX, code_from_link, parse_slip_payload
from core.i18n import _, set_language, tr
from core.services.changes import Changes
from desktop import theme
from desktop.operations import Operations, message_for
from desktop.sync_status import SyncState
from desktop.ui.widgets import Cell, McButton, Text, paint

from . import labels

if TYPE_CHECKING:
    from core.ports.codes import Decoded
    from core.services.users import User
    from desktop.screens.base import BaseScreen
    from desktop.services import Services

log = logging.getLogger(__name__)

# route, module, class, navigation label, shortcut
SCREENS: tuple[tuple[str, str, str, str, str], ...] = (
    ("login", "desktop.screens.login", "LoginScreen", "", ""),
    ("dashboard", "desktop.screens.dashboard", "DashboardScreen", N_("Dashboard"), "F1"),
    ("intake", "desktop.screens.intake", "IntakeScreen", N_("Receive dossier"), "F2"),
    ("lookup", "desktop.screens.lookup", "LookupScreen", N_("Find dossier"), "F3"),
    ("queues", "desktop.screens.queues", "QueuesScreen", N_("Work queues"), "F4"),
    ("returns", "desktop.screens.returns", "ReturnsScreen", N_("Return results"), "F5"),
    ("reports", "desktop.screens.reports", "ReportsScreen", N_("Reports"), "F6"),
    ("conflicts", "desktop.screens.conflicts", "ConflictsScreen", N_("Conflicts"), "F7"),
    ("settings", "desktop.screens.settings", "SettingsScreen", N_("Settings"), "F8"),
    ("dossier", "desktop.screens.dossier", "DossierScreen", "", ""),
    ("kiosk", "desktop.screens.kiosk", "KioskScreen", "", ""),
)
FKEYS = {282 + i: f"F{i + 1}" for i in range(12)}
SYNC_POLL_SECONDS = 5.0


class Shell(BoxLayout):
    def __init__(self, services: Services, kiosk: bool = False) -> None:
        super().__init__(orientation="vertical")
        self.services = services
        self.kiosk = kiosk
        self.user: User | None = None
        self.history: list[str] = []
        self.sync_state = SyncState(configured=False)
        self.ops = Operations(services, self.broadcast, self.report)
        paint(self, theme.BACKGROUND)
        self.manager = ScreenManager(transition=NoTransition())
        self.screens: dict[str, BaseScreen] = {}
        for route, module, cls, *_rest in SCREENS:
            screen = getattr(importlib.import_module(module), cls)(self)
            self.screens[route] = screen
            self.manager.add_widget(screen)
        self.top_bar = BoxLayout(
            size_hint_y=None, height=theme.TOP_BAR, padding=(theme.PAD, 6), spacing=2 * theme.PAD
        )
        self.nav = BoxLayout(
            orientation="vertical",
            size_hint_x=None,
            width=theme.NAV_WIDTH,
            padding=theme.GAP,
            spacing=4,
        )
        self.status = Cell("", 1.0, font_size=theme.FONT_SMALL)
        # Under the top bar, on every screen, while the centre has revoked this desk.
        self.banner = BoxLayout(size_hint_y=None, height=0, padding=(theme.PAD, 4))
        self._layout()
        self._bind_keys()
        codes = services.codes
        codes.handler = self.on_code
        codes.on_problem = lambda err: self.report(message_for(err))
        self.go("kiosk" if kiosk else "login")
        if codes.failed is not None:
            self.report(message_for(codes.failed))
        self._sync_timer = Clock.schedule_interval(lambda _dt: self.poll_sync(), SYNC_POLL_SECONDS)
        services.received.listeners.append(self.broadcast)  # pulls and LAN exchanges
        self.told_update = ""  # the staged version the status line has announced
        if services.updates is not None:
            services.updates.listeners.append(self.announce_update)
            # A sync that began with the agent may have staged a release while the
            # screens were built, before this listener was there to be told.
            self.announce_update()
        self.poll_sync()

    # --- layout ----------------------------------------------------------------------
    def _layout(self) -> None:
        self.clear_widgets()
        paint(self.top_bar, theme.NAV)
        paint(self.nav, theme.NAV)
        self.add_widget(self.top_bar)
        paint(self.banner, theme.DANGER)
        self.add_widget(self.banner)
        middle = BoxLayout()
        middle.add_widget(self.nav)
        middle.add_widget(self.manager)
        self.add_widget(middle)
        bar = BoxLayout(size_hint_y=None, height=theme.STATUS_BAR, padding=(theme.PAD, 0))
        paint(bar, theme.SURFACE_ALT)
        bar.add_widget(self.status)
        self.add_widget(bar)
        self.redraw_frame()

    def redraw_frame(self) -> None:
        self.top_bar.clear_widgets()
        branch = self.services.branch
        title = tr("Một Cửa — {branch}", branch=branch.branch_name)
        self.top_bar.add_widget(
            Cell(title, 0.42, bold=True, color=theme.ON_PRIMARY, font_size=theme.FONT_LARGE)
        )
        who = ""
        if self.user is not None:
            who = f"{self.user.full_name} · {labels.role_label(self.user.role)}"
        self.top_bar.add_widget(Cell(who, 0.27, color=theme.ON_PRIMARY, halign="right"))
        self.sync_label = Cell(
            self._sync_text(),
            0.31,
            color=theme.ON_PRIMARY,
            font_size=theme.FONT_SMALL,
            halign="right",
        )
        self.top_bar.add_widget(self.sync_label)
        if self.sync_state.revoked:
            self.show_revoked()  # again, in the language now chosen
        self._redraw_nav()

    def _redraw_nav(self) -> None:
        self.nav.clear_widgets()
        logged_in = self.user is not None and not self.kiosk
        self.nav.width = theme.NAV_WIDTH if logged_in else 0
        self.nav.opacity = 1 if logged_in else 0
        self.nav.disabled = not logged_in
        if not logged_in:
            return
        current = self.manager.current
        for route, _module, _cls, label, key in SCREENS:
            if not label:
                continue
            variant = "nav_active" if route == current else "nav"
            button = McButton(
                f"{_(label)}   {key}",
                functools.partial(self.go, route),
                variant=variant,
                halign="left",
            )
            self.nav.add_widget(button)
        self.nav.add_widget(BoxLayout())
        self.nav.add_widget(
            McButton(_("Log out") + "   Ctrl+L", self.logout, variant="nav", halign="left")
        )

    def _sync_text(self) -> str:
        s = self.sync_state
        if not s.configured:
            return _("Sync: not configured (working offline)")
        last = labels.moment(s.last_sync) if s.last_sync else _("never")
        return tr(
            "Sync: {last} · {events} events, {blobs} files waiting · {peers} peers",
            last=last,
            events=s.pending_events,
            blobs=s.pending_blobs,
            peers=s.peers,
        )

    # --- navigation ------------------------------------------------------------------
    def go(self, route: str, remember: bool = True, **params: Any) -> None:
        screen = self.screens[route]
        if screen.needs_user and self.user is None:
            route, screen = ("kiosk" if self.kiosk else "login"), self.screens["login"]
        current = self.manager.current
        if remember and current and current != route and current not in ("login",):
            self.history.append(current)
        screen.open(**params)
        if current == route:
            screen.on_pre_enter()
            screen.on_enter()
        self.manager.current = route
        self._redraw_nav()

    def back(self) -> None:
        if self.history:
            self.go(self.history.pop(), remember=False)

    def login(self, user: User) -> None:
        self.user = user
        self.history.clear()
        self.redraw_frame()
        self.go("dashboard", remember=False)

    def logout(self) -> None:
        self.user = None
        self.history.clear()
        self.redraw_frame()
        self.go("kiosk" if self.kiosk else "login", remember=False)

    def switch_language(self, language: str) -> None:
        """Switch live: every screen is rebuilt in the new language, keeping its state."""
        set_language(language)
        self.services.settings.language = language
        self.services.save_settings()
        for screen in self.screens.values():
            screen.rebuild()
        self.redraw_frame()
        current = self.screens[self.manager.current]
        current.refresh()

    # --- what changed ----------------------------------------------------------------
    def broadcast(self, changes: Changes) -> None:
        """A local operation's changes, or what a pull or a LAN exchange brought (those
        events came from elsewhere: no sync is triggered for them)."""
        for screen in self.screens.values():
            screen.on_changes(changes)
        if changes.events_added:
            self.services.sync.trigger()  # new events go up now, not at the next interval
        self.poll_sync()

    def report(self, message: str, kind: str = "error") -> None:
        colours = {"error": theme.DANGER, "ok": theme.SUCCESS, "info": theme.TEXT}
        self.status.color = colours.get(kind, theme.TEXT)
        self.status.text = message

    def announce_update(self) -> None:
        """Say once that a new version is staged (and whether it waits for the admin)."""
        assert self.services.updates is not None
        outcome = self.services.updates.outcome
        staged = str(outcome.get("staged", ""))
        if not staged or staged == self.told_update:
            return
        self.told_update = staged
        if outcome.get("held"):
            text = N_("Version {version} is ready and waits for the branch admin: see Settings")
            self.report(tr(text, version=staged), "info")
        else:
            text = N_("Version {version} is ready: it starts the next time Một Cửa starts")
            self.report(tr(text, version=staged), "ok")

    def poll_sync(self) -> None:
        self.ops.read(
            lambda _b: self.services.sync.status(), self._show_sync, failed=lambda err: True
        )

    def _show_sync(self, state: SyncState) -> None:
        revoked_now = state.revoked and not self.sync_state.revoked
        self.sync_state = state
        self.sync_label.text = self._sync_text()
        if revoked_now:
            self.show_revoked()
        dashboard = self.screens.get("dashboard")
        if dashboard is not None and dashboard.showing:
            dashboard.show_sync(state)  # live: the dashboard's panel follows the agent

    def show_revoked(self) -> None:
        """The banner every screen shows once the centre has revoked this desk."""
        self.banner.clear_widgets()
        text = Text(
            _(
                "This desk has been revoked by the central server: new receipts and steps "
                "are refused; dossiers can still be read. Branch IT: Settings (F8) exports "
                "the events the server never received."
            ),
            size=theme.FONT_SMALL,
            color=theme.ON_PRIMARY,
            bold=True,
        )
        self.banner.add_widget(text)
        text.bind(height=lambda *_: setattr(self.banner, "height", text.height + 8))
        self.banner.height = text.height + 8

    # --- codes from a reader ---------------------------------------------------------
    def on_code(self, decoded: Decoded) -> None:
        """A code read (serial reader or wedge burst): the screen first, then a slip QR
        opens its dossier from anywhere."""
        text = decoded.text.strip()
        if self.screens[self.manager.current].on_code(text):
            return
        if self.user is None or self.kiosk:
            return
        if text.startswith(PREFIX + "|"):
            self.open_slip(text)
            return
        linked = code_from_link(text)  # form 01's QR when the branch has a public address
        if linked is not None:
            self.ops.read(
                lambda b: b.dossiers.get(linked), lambda view: self.go("dossier", code=view.code)
            )
            return
        self.report(tr("Code read, not used on this screen: {code}", code=text[:40]), "info")

    def open_slip(self, text: str) -> None:
        try:
            slip = parse_slip_payload(text)
        except MotcuaError as err:
            self.report(message_for(err))
            return
        self.ops.read(
            lambda b: b.dossiers.lookup(slip.code, slip.token),
            lambda view: self.go("dossier", code=view.code),
        )

    # --- keyboard --------------------------------------------------------------------
    def _bind_keys(self) -> None:
        Window.bind(on_key_down=self._on_key_down, on_textinput=self._on_textinput)

    def unbind_keys(self) -> None:
        Window.unbind(on_key_down=self._on_key_down, on_textinput=self._on_textinput)
        self._sync_timer.cancel()
        if self.broadcast in self.services.received.listeners:
            self.services.received.listeners.remove(self.broadcast)
        updates = self.services.updates
        if updates is not None and self.announce_update in updates.listeners:
            updates.listeners.remove(self.announce_update)

    def _on_textinput(self, _window: Any, text: str) -> bool:
        now = time.perf_counter()
        for char in text:
            self.services.codes.key(char, now)
        return False  # the focused field gets the text too, until a burst is recognised

    def _on_key_down(
        self, _window: Any, key: int, _scancode: int, _text: Any, modifiers: list[str]
    ) -> bool:
        if key in (13, 271):
            decoded = self.services.codes.key("\r", time.perf_counter())
            if decoded is not None:  # a keyboard-wedge reader, not a clerk typing
                _take_back(decoded.text)
                self.on_code(decoded)
                return True
        return self.handle_key(FKEYS.get(key, _keyname(key)), modifiers)

    def handle_key(self, name: str, modifiers: list[str]) -> bool:
        screen = self.screens[self.manager.current]
        if screen.on_key(name, modifiers):
            return True
        if name == "escape":
            self.back()
            return True
        if self.user is None or self.kiosk:
            return False
        if name == "l" and "ctrl" in modifiers:
            self.logout()
            return True
        for route, _module, _cls, label, key in SCREENS:
            if key and key == name and label:
                self.go(route)
                return True
        return False


def _take_back(burst: str) -> None:
    """Remove a wedge burst from the focused field it was typed into."""
    for root in Window.children:
        for widget in root.walk(restrict=True):
            if isinstance(widget, TextInput) and widget.focus and widget.text.endswith(burst):
                widget.text = widget.text[: len(widget.text) - len(burst)]
                return


def _keyname(key: int) -> str:
    if key == 27:
        return "escape"
    if key in (13, 271):
        return "enter"
    return chr(key) if 32 <= key < 127 else str(key)
