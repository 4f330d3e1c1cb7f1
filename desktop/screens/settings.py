"""Settings: language (switches live), devices (pick, set defaults, test:
``settings_devices``), code reader, the document intake's steps and signing key
(``settings_intake``), users (branch admin), updates (``settings_updates``), about and
diagnostics; on a revoked desk, the export of the events the server never received."""

from __future__ import annotations

import functools
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

import core
from core.domain.errors import N_, MotcuaError
from core.domain.lookup import PREFIX
from core.domain.workflow import Role
from core.i18n import _, current_language, tr
from desktop import labels, queries, theme
from desktop.sync_status import export_unsent
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
from desktop.ui.widgets import labels as pairs

from .base import BaseScreen
from .settings_devices import DevicesSection
from .settings_intake import IntakeSection
from .settings_updates import UpdatesSection

if TYPE_CHECKING:
    from core.services.branch import Branch
    from core.services.changes import Changes

ROLES = (Role.OFFICER, Role.SPECIALIST, Role.LEADER, Role.ADMIN)


class SettingsScreen(BaseScreen):
    route = "settings"
    title = N_("Settings")

    def compose(self) -> Widget:
        columns = BoxLayout(spacing=theme.GAP + 4)
        left, right = Column(), Column()
        left.add_widget(self._language())
        self.devices_card = Card()
        self.devices = DevicesSection(self, self.devices_card)
        left.add_widget(self.devices_card)
        self.reader_card = Card()
        left.add_widget(self.reader_card)
        self.intake_card = Card()
        self.intake = IntakeSection(self, self.intake_card)
        left.add_widget(self.intake_card)
        self.reader_test = ""  # what the last test read, shown in the card
        self.testing = False
        self.about_card = Card()
        left.add_widget(self.about_card)
        self.revoked_box = Column(height=0)  # a card only on a revoked desk
        right.add_widget(self.revoked_box)
        self.updates_card = Card()
        self.updates = UpdatesSection(self, self.updates_card)
        right.add_widget(self.updates_card)
        self.users_card = Card()
        right.add_widget(self.users_card)
        columns.add_widget(scrolling(left))
        columns.add_widget(scrolling(right))
        self.new_role = Role.OFFICER
        return columns

    def _language(self) -> Card:
        card = Card()
        card.add_widget(heading(_("Language"), size=theme.FONT_LARGE))
        lang = current_language()
        card.add_widget(
            row(
                McButton(
                    "Tiếng Việt",
                    lambda: self.shell.switch_language("vi"),
                    variant="primary" if lang == "vi" else "secondary",
                ),
                McButton(
                    "English",
                    lambda: self.shell.switch_language("en"),
                    variant="primary" if lang == "en" else "secondary",
                ),
            )
        )
        return card

    def refresh(self) -> None:
        self.devices.refresh()
        self.intake.refresh()
        self.updates.refresh()
        self.ops.device(self.services.devices.code_reader_ports, self._show_reader)
        self.ops.read(_diagnostics, self._show_about)
        self.ops.read(lambda b: b.admin.list_users(), self._show_users)
        self.ops.read(lambda b: b.revoked, self._show_revoked)

    # --- a revoked desk --------------------------------------------------------------
    def _show_revoked(self, revoked: bool) -> None:
        self.revoked_box.clear_widgets()
        if not revoked:
            return
        card = Card()
        card.add_widget(heading(_("This desk has been revoked"), size=theme.FONT_LARGE))
        card.add_widget(
            Text(
                _(
                    "The central server no longer accepts this desk: new receipts and steps "
                    "are refused, reads still work. Export the events the server never "
                    "received and hand the file to the central admin."
                )
            )
        )
        if self.user is None or self.user.role != Role.ADMIN:
            card.add_widget(muted(_("Only the branch admin exports the events.")))
        else:
            export = McButton(_("Export unsent events"), self.export_unsent)
            card.add_widget(row(Widget(), fit_width(export)))
        self.revoked_box.add_widget(card)

    def export_unsent(self) -> None:
        def done(result: tuple[Path, int]) -> None:
            path, count = result
            self.shell.report(
                tr("{n} events the server never received: {path}", n=count, path=str(path)), "ok"
            )

        self.ops.read(export_unsent, done)

    # --- code reader -----------------------------------------------------------------
    def _show_reader(self, ports: list[str]) -> None:
        card = self.reader_card
        card.clear_widgets()
        card.add_widget(heading(_("Code reader (QR)"), size=theme.FONT_LARGE))
        codes = self.services.codes
        chosen = self.services.settings.code_reader
        if not chosen:
            state = _("keyboard wedge only (codes typed by the reader)")
        elif codes.listening:
            state = tr("{device} — listening", device=chosen)
        else:
            state = tr("{device} — not connected", device=chosen)
        card.add_widget(pairs([(_("Serial reader"), state)], caption_width=0.3))
        if not ports:
            card.add_widget(muted(_("No serial port found on this computer.")))
        for port in ports:
            use = fit_width(
                McButton(_("Use"), functools.partial(self.use_reader, port), variant="secondary")
            )
            card.add_widget(row(Text(port), use))
        self.port_field: Field = Field(
            _("Or type the port (COM3, /dev/ttyACM0, socket://host:port)"),
            on_enter=lambda: self.use_reader(self.port_field.value),
        )
        card.add_widget(self.port_field)
        use = McButton(
            _("Use this port"), lambda: self.use_reader(self.port_field.value), variant="secondary"
        )
        card.add_widget(row(Widget(), fit_width(use)))
        none = McButton(_("No serial reader"), lambda: self.use_reader(""), variant="secondary")
        test = McButton(_("Test reader"), self.test_reader, variant="secondary")
        card.add_widget(row(Widget(), fit_width(none), fit_width(test)))
        self.reader_result = Text(self.reader_test, size=theme.FONT_SMALL, color=theme.TEXT_MUTED)
        card.add_widget(self.reader_result)

    def use_reader(self, port: str) -> None:
        port = port.strip()
        device = port if not port or port.startswith("serial:") else "serial:" + port
        codes, settings = self.services.codes, self.services.settings

        def done(_value: object) -> None:
            settings.code_reader = device
            self.services.save_settings()
            self.shell.report(
                tr("Code reader: {device}", device=device) if device else _("No serial reader"),
                "ok",
            )
            self.ops.device(self.services.devices.code_reader_ports, self._show_reader)

        self.ops.device(lambda: codes.use(device), done)

    def test_reader(self) -> None:
        self.testing = True
        self.reader_test = _("Scan a code now: it is shown here and not acted on.")
        self.reader_result.text = self.reader_test
        self.reader_result.color = theme.TEXT

    def on_code(self, text: str) -> bool:
        if not self.testing:
            return False
        self.testing = False
        if text.startswith(PREFIX + "|"):
            meaning = _("a receipt slip QR")
        else:
            try:
                person = self.services.citizen_card(text)
                meaning = tr("a citizen ID card QR: {name}", name=person.full_name)
            except MotcuaError:
                meaning = _("a code this desktop does not use")
        self.reader_test = tr(
            "Test passed: read {meaning} — {code}", meaning=meaning, code=text[:40]
        )
        self.reader_result.text = self.reader_test
        self.reader_result.color = theme.SUCCESS
        self.shell.report(self.reader_test, "ok")
        return True

    # --- about -----------------------------------------------------------------------
    def _show_about(self, facts: list[tuple[str, str]]) -> None:
        card = self.about_card
        card.clear_widgets()
        card.add_widget(heading(_("About and diagnostics"), size=theme.FONT_LARGE))
        card.add_widget(pairs([(_(k), v) for k, v in facts], caption_width=0.35))

    # --- users -----------------------------------------------------------------------
    def _show_users(self, users: list[dict[str, object]]) -> None:
        card = self.users_card
        card.clear_widgets()
        card.add_widget(heading(_("Users of this branch"), size=theme.FONT_LARGE))
        for u in users:
            state = _("disabled") if u["disabled"] else labels.role_label(str(u["role"]))
            card.add_widget(
                row(
                    Text(f"{u['username']} — {u['full_name']}"), Text(state, color=theme.TEXT_MUTED)
                )
            )
        if self.user is None or self.user.role != Role.ADMIN:
            card.add_widget(muted(_("Only the branch admin adds users.")))
            return
        card.add_widget(Text(_("Add a user"), bold=True))
        self.new_name = Field(_("User name"))
        self.new_full = Field(_("Full name"))
        self.new_password = Field(
            _("Password (at least 8 characters)"), password=True, on_enter=self.add_user
        )
        for widget in (self.new_name, self.new_full, self.new_password):
            card.add_widget(widget)
        self.role_buttons = {
            r: fit_width(
                McButton(
                    labels.role_label(r),
                    functools.partial(self.pick_role, r),
                    variant="secondary",
                    font_size=14,
                ),
                extra=20,
            )
            for r in ROLES
        }
        card.add_widget(row(*self.role_buttons.values(), Widget()))
        card.add_widget(row(Widget(), fit_width(McButton(_("Add user"), self.add_user))))
        self.pick_role(self.new_role)

    def pick_role(self, role: Role) -> None:
        self.new_role = role
        for r, button in self.role_buttons.items():
            button.set_variant("primary" if r == role else "secondary")

    def add_user(self) -> None:
        actor, role = self.user, self.new_role
        name, full, password = self.new_name.value, self.new_full.value, self.new_password.value

        def done(_value: object) -> None:
            self.shell.report(tr("User {name} added", name=name), "ok")

        self.ops.write(lambda b: b.admin.add_user(actor, name, role.value, password, full), done)

    def on_changes(self, changes: Changes) -> None:
        if self.showing and changes.users:
            self.refresh()


def _diagnostics(branch: Branch) -> list[tuple[str, str]]:
    import kivy

    return [
        (N_("Version"), core.__version__),
        (N_("Branch"), f"{branch.branch_code} — {branch.branch_name}"),
        (N_("Desk (device id)"), branch.device_id),
        (N_("Data folder"), str(branch.data_dir)),
        (N_("Events stored"), str(queries.event_count(branch))),
        (N_("Procedures in catalogue"), str(len(branch.procedures()))),
        (
            N_("System"),
            f"Python {platform.python_version()}, Kivy {kivy.__version__}, "
            f"{platform.system()} {platform.release()}",
        ),
    ]
