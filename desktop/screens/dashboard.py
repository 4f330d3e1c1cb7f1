"""Dashboard: today's work, queues and deadlines at a glance, and the sync state."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.domain.errors import N_
from core.i18n import _, number, tr
from core.services.transfers import TransferMessage, TransferService
from desktop import labels, queries, theme
from desktop.sync_status import SyncSource, SyncState
from desktop.ui.table import Table
from desktop.ui.widgets import Card, Text, heading, muted, paint
from desktop.ui.widgets import labels as pairs

from .base import BaseScreen
from .transfers_inbox import TransfersCard

if TYPE_CHECKING:
    from core.services.branch import Branch

# count key, caption, colour, where a click leads (route, params)
TILES: tuple[tuple[str, str, theme.RGBA, str, dict[str, str]], ...] = (
    ("received_today", N_("Received today"), theme.PRIMARY, "queues", {"queue": "received"}),
    ("my_queue", N_("In my hands"), theme.INFO, "queues", {"queue": "mine"}),
    ("due_today", N_("Due today"), theme.WARNING, "queues", {"queue": "due"}),
    ("overdue", N_("Overdue"), theme.DANGER, "queues", {"queue": "due"}),
    (
        "waiting_supplement",
        N_("Waiting for supplement"),
        theme.TEXT_MUTED,
        "queues",
        {"queue": "supplement"},
    ),
    ("in_conflict", N_("In conflict"), theme.DANGER, "conflicts", {}),
)


@dataclass(frozen=True)
class DashboardData:
    counts: dict[str, int]
    due_soon: list[DossierView]
    overdue: list[DossierView]
    sync: SyncState
    transfers: list[TransferMessage]


class Tile(ButtonBehavior, BoxLayout):
    def __init__(self, caption: str, colour: theme.RGBA, on_open: Callable[[], object]) -> None:
        super().__init__(orientation="vertical", padding=theme.PAD, spacing=2)
        paint(self, theme.SURFACE, theme.RADIUS, theme.BORDER)
        self.number = Text("…", size=theme.FONT_HERO, bold=True, color=colour)
        self.caption = muted(caption, size=theme.FONT_BODY)
        self.add_widget(self.number)
        self.add_widget(self.caption)
        self._open = on_open

    def on_press(self) -> None:
        self._open()


def load(branch: Branch, username: str, sync: SyncSource) -> DashboardData:
    return DashboardData(
        branch.dossiers.dashboard(username),
        queries.due_soon(branch),
        queries.overdue(branch),
        sync.status(),
        TransferService(branch).messages(),
    )


def _rows(views: list[DossierView]) -> list[tuple[str, list[str]]]:
    due = labels.moment
    return [
        (v.code, [v.code, v.applicant["full_name"], labels.state_label(v.state), due(v.due_at)])
        for v in views
    ]


class DashboardScreen(BaseScreen):
    route = "dashboard"
    title = N_("Dashboard")

    def compose(self) -> Widget:
        page = BoxLayout(orientation="vertical", spacing=theme.GAP + 4)
        grid = GridLayout(cols=3, spacing=theme.GAP, size_hint_y=None, height=2 * 112 + theme.GAP)
        self.tiles: dict[str, Tile] = {}
        for key, caption, colour, route, params in TILES:
            tile = Tile(_(caption), colour, functools.partial(self.shell.go, route, True, **params))
            self.tiles[key] = tile
            grid.add_widget(tile)
        page.add_widget(grid)
        lower = BoxLayout(spacing=theme.GAP + 4)
        due_card = Card(fit=False)
        # Past appointments apart from the coming ones: an overdue dossier is not "next".
        due_card.add_widget(heading(_("Overdue dossiers"), size=theme.FONT_LARGE))
        self.overdue_table = self._dossier_table(_("No overdue dossier."))
        due_card.add_widget(self.overdue_table)
        due_card.add_widget(heading(_("Nearest appointments"), size=theme.FONT_LARGE))
        self.due_table = self._dossier_table(_("No open dossiers."))
        due_card.add_widget(self.due_table)
        lower.add_widget(due_card)
        self.sync_card = Card(fit=False, size_hint_x=0.42)
        lower.add_widget(self.sync_card)
        # Shown between the tiles and the lists only while another unit's dossiers wait.
        self.transfers_card = TransfersCard(self)
        page.add_widget(lower)
        self.page = page
        return page

    def _dossier_table(self, empty: str) -> Table:
        return Table(
            [(_("Code"), 0.24), (_("Applicant"), 0.28), (_("Status"), 0.28), (_("Due"), 0.2)],
            on_open=lambda code: self.shell.go("dossier", code=code),
            empty=empty,
        )

    def refresh(self) -> None:
        if self.user is None:
            return
        username = self.user.username
        self.ops.read(lambda b: load(b, username, self.services.sync), self.show)

    def show(self, data: DashboardData) -> None:
        for key, tile in self.tiles.items():
            tile.number.text = number(data.counts.get(key, 0))
        self.overdue_table.set_rows(_rows(data.overdue))
        self.due_table.set_rows(_rows(data.due_soon))
        self.show_sync(data.sync)
        self.show_transfers(data)

    def show_transfers(self, data: DashboardData) -> None:
        card, page = self.transfers_card, self.page
        if card.parent is not None:
            page.remove_widget(card)
        if data.transfers:
            card.show(data.transfers)
            page.add_widget(card, index=len(page.children) - 1)  # after the tiles

    def show_sync(self, state: SyncState) -> None:
        card = self.sync_card
        card.clear_widgets()
        card.add_widget(heading(_("Sync"), size=theme.FONT_LARGE))
        if not state.configured:
            card.add_widget(
                Text(
                    _(
                        "Sync not configured: this desktop works alone and keeps "
                        "every change until it is enrolled with the central server."
                    )
                )
            )
            card.add_widget(Widget())
            return
        status = _("online") if state.online else _("offline — changes are kept locally")
        card.add_widget(
            pairs(
                [
                    (_("Connection"), status),
                    (
                        _("Last sync"),
                        labels.moment(state.last_sync) if state.last_sync else _("never"),
                    ),
                    (_("Events waiting"), str(state.pending_events)),
                    (_("Files waiting"), str(state.pending_blobs)),
                    (_("Peers on the LAN"), str(state.peers)),
                ],
                caption_width=0.5,
            )
        )
        if state.problem:
            card.add_widget(
                Text(tr("Problem: {problem}", problem=state.problem), color=theme.DANGER)
            )
        card.add_widget(Widget())
