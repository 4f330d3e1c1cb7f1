"""Work queues: what waits for each step, the nearest appointment first."""

from __future__ import annotations

import functools
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.domain.errors import N_
from core.domain.workflow import Role, State
from core.i18n import _
from desktop import labels, queries, theme
from desktop.ui.table import Table
from desktop.ui.widgets import McButton, fit_width

from .base import BaseScreen

# queue key, label, states, only the user's own
QUEUES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("mine", N_("In my hands"), tuple(queries.RUNNING), True),
    ("received", N_("Received, to transfer"), (State.RECEIVED,), False),
    ("transferred", N_("To start"), (State.TRANSFERRED,), False),
    ("processing", N_("Processing"), (State.PROCESSING, State.PAYMENT_REQUESTED), False),
    ("approval", N_("To approve"), (State.AWAITING_APPROVAL,), False),
    ("approved", N_("Approved, result to issue"), (State.APPROVED,), False),
    ("supplement", N_("Waiting for supplement"), (State.SUPPLEMENT_REQUESTED,), False),
    ("due", N_("All open, by appointment"), tuple(queries.RUNNING), False),
)
DEFAULT_QUEUE = {
    Role.OFFICER: "received",
    Role.SPECIALIST: "transferred",
    Role.LEADER: "approval",
    Role.ADMIN: "due",
}


def rows(views: list[DossierView]) -> list[tuple[str, list[str]]]:
    return [
        (
            v.code,
            [
                v.code,
                v.applicant["full_name"],
                v.procedure_name,
                labels.state_label(v.state),
                v.holder,
                labels.moment(v.due_at),
            ],
        )
        for v in views
    ]


class QueuesScreen(BaseScreen):
    route = "queues"
    title = N_("Work queues")

    def compose(self) -> Widget:
        page = BoxLayout(orientation="vertical", spacing=theme.GAP)
        self.tabs = BoxLayout(size_hint_y=None, height=theme.ROW, spacing=4)
        self.tab_buttons: dict[str, McButton] = {}
        for key, label, _states, _mine in QUEUES:
            button = fit_width(
                McButton(
                    _(label), functools.partial(self.choose, key), variant="secondary", font_size=14
                ),
                extra=20,
            )
            self.tab_buttons[key] = button
            self.tabs.add_widget(button)
        page.add_widget(self.tabs)
        self.table = Table(
            [
                (_("Code"), 0.16),
                (_("Applicant"), 0.17),
                (_("Procedure"), 0.27),
                (_("Status"), 0.17),
                (_("Held by"), 0.09),
                (_("Due"), 0.14),
            ],
            on_open=lambda code: self.shell.go("dossier", code=code),
            empty=_("Nothing waiting here."),
        )
        page.add_widget(self.table)
        self.queue = ""
        self.queue_owner = ""
        return page

    def open(self, **params: Any) -> None:
        super().open(**params)
        if params.get("queue"):
            self.queue = params["queue"]

    def choose(self, key: str) -> None:
        self.queue = key
        self.refresh()

    def refresh(self) -> None:
        if self.user is None:
            return
        if not self.queue or self.queue_owner != self.user.username:
            self.queue = self.params.get("queue") or DEFAULT_QUEUE.get(self.user.role, "due")
            self.queue_owner = self.user.username
        for key, button in self.tab_buttons.items():
            button.set_variant("primary" if key == self.queue else "secondary")
        _key, _label, states, mine = next(q for q in QUEUES if q[0] == self.queue)
        holder = self.user.username if mine else None
        self.ops.read(
            lambda b: queries.in_states(b, states, holder),
            lambda views: self.table.set_rows(rows(views)),
        )

    def first_focus(self) -> Widget | None:
        return self.table.rows[0] if self.table.rows else None
