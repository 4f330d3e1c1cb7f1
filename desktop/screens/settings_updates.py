"""Settings → Updates: the running, previous, pinned and staged versions, the download's
progress while it runs, the last check, and a rollback said once.

A staged version held because this desk has old unsynced events (``core.update.guard``)
waits here for the branch admin's confirmation: *Install at the next start anyway…* asks
once more and then releases it (``motcua update install --force``). *Check now* runs
the same background check a sync starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.uix.progressbar import ProgressBar
from kivy.uix.widget import Widget

from core.domain.errors import N_
from core.domain.workflow import Role
from core.i18n import _, tr
from core.update import service
from desktop import labels, theme
from desktop.ui.widgets import Card, McButton, Text, fit_width, heading, muted, row
from desktop.ui.widgets import labels as pairs

if TYPE_CHECKING:
    from desktop.services import Services
    from desktop.updates import UpdateWatcher

    from .settings import SettingsScreen

VERSION_ROWS = (
    ("running", N_("Running version")),
    ("previous", N_("Previous version (kept for a rollback)")),
    ("pinned", N_("Pinned by branch IT")),
    ("staged", N_("Downloaded and verified")),
)
MB = 1_000_000


def megabytes(count: int) -> str:
    """Bytes as a Vietnamese counter reads them: 12,3 MB."""
    return f"{count / MB:.1f}".replace(".", ",") + " MB"


class UpdatesSection:
    """Fills the Settings screen's updates card; follows the watcher while it shows."""

    def __init__(self, screen: SettingsScreen, card: Card) -> None:
        self.screen = screen
        self.card = card
        self.confirming = False
        self.asked = False  # "Check now" was pressed: its outcome goes to the status line
        self.bar: ProgressBar | None = None
        if self.watcher is not None:
            self.watcher.listeners.append(self.on_watcher)

    @property
    def services(self) -> Services:
        return self.screen.services

    @property
    def watcher(self) -> UpdateWatcher | None:
        return self.services.updates

    def on_watcher(self) -> None:
        watcher = self.watcher
        if self.asked and watcher is not None and not watcher.checking:
            self.asked = False
            self._say(watcher.outcome)
        if self.screen.showing:
            self.refresh()

    def _say(self, outcome: dict[str, Any]) -> None:
        """The outcome of a check the user asked for, on the status line."""
        report = self.screen.shell.report
        if outcome.get("error"):
            report(tr("The last check failed: {error}", error=outcome["error"]))
        elif outcome.get("held"):
            report(
                tr("Version {version} waits: see Updates in Settings", version=outcome["staged"]),
                "info",
            )
        elif outcome.get("staged"):
            report(
                tr("Version {version} starts at the next start", version=outcome["staged"]), "ok"
            )
        else:
            report(_("This desk runs the newest release."), "ok")

    def refresh(self) -> None:
        status = service.status(self.services.data_dir)
        card = self.card
        card.clear_widgets()
        card.add_widget(heading(_("Updates"), size=theme.FONT_LARGE))
        card.add_widget(pairs(self._facts(status), caption_width=0.45))
        if status.get("rolled_back"):
            card.add_widget(Text(status["rolled_back"], color=theme.WARNING))
        self._download(card)
        self._outcome(card)
        if status.get("held"):
            self._held(card, status)
        self._buttons(card)

    def _facts(self, status: dict[str, Any]) -> list[tuple[str, str]]:
        facts = [(_(caption), status[key]) for key, caption in VERSION_ROWS if status.get(key)]
        checked = status.get("checked_at")
        facts.append((_("Last check"), labels.moment(checked) if checked else _("never")))
        return facts

    def _download(self, card: Card) -> None:
        download = self.watcher.download if self.watcher is not None else None
        self.bar = None
        if download is None:
            return
        card.add_widget(
            Text(
                tr(
                    "Downloading: {percent} % ({done} of {total})",
                    percent=download.percent,
                    done=megabytes(download.done),
                    total=megabytes(download.total),
                )
            )
        )
        self.bar = ProgressBar(max=100, value=download.percent, size_hint_y=None, height=12)
        card.add_widget(self.bar)

    def _outcome(self, card: Card) -> None:
        outcome = self.watcher.outcome if self.watcher is not None else {}
        if self.watcher is None:
            card.add_widget(
                muted(_("This desk is not enrolled: it looks for updates once it syncs."))
            )
        elif self.watcher.checking and self.watcher.download is None:
            card.add_widget(muted(_("Asking the central server…")))
        elif outcome.get("error"):
            failed = tr("The last check failed: {error}", error=outcome["error"])
            card.add_widget(Text(failed, color=theme.DANGER))
        elif outcome and not outcome.get("available"):
            card.add_widget(muted(_("This desk runs the newest release.")))

    def _held(self, card: Card, status: dict[str, Any]) -> None:
        card.add_widget(
            Text(
                tr(
                    "Version {version} waits: this desk has {reason}. Sync first; it then "
                    "starts at the next start by itself.",
                    version=status.get("staged", ""),
                    reason=status["held"],
                ),
                color=theme.WARNING,
            )
        )
        if self.screen.user is None or self.screen.user.role != Role.ADMIN:
            card.add_widget(muted(_("Only the branch admin can install it anyway.")))
            return
        if not self.confirming:
            anyway = McButton(_("Install at the next start anyway…"), self.ask, variant="secondary")
            card.add_widget(row(Widget(), fit_width(anyway)))
            return
        card.add_widget(
            Text(
                _(
                    "The unsynced events stay in this desk's store and go up at the next "
                    "sync; the previous version is kept and comes back by itself if the new "
                    "one does not start. Install it?"
                ),
                bold=True,
            )
        )
        yes = McButton(_("Yes, install at the next start"), self.install, variant="danger")
        no = McButton(_("Cancel"), self.cancel, variant="secondary")
        card.add_widget(row(Widget(), fit_width(no), fit_width(yes)))

    def _buttons(self, card: Card) -> None:
        if self.watcher is None:
            return
        check = McButton(_("Check now"), self.check, variant="secondary")
        check.disabled = self.watcher.checking
        card.add_widget(row(Widget(), fit_width(check)))

    # --- acting ----------------------------------------------------------------------
    def check(self) -> None:
        if self.watcher is not None and self.watcher.check_now():
            self.asked = True
            self.screen.shell.report(_("Looking for an update…"), "info")

    def ask(self) -> None:
        self.confirming = True
        self.refresh()

    def cancel(self) -> None:
        self.confirming = False
        self.refresh()

    def install(self) -> None:
        data_dir = self.services.data_dir

        def done(result: dict[str, Any]) -> None:
            self.confirming = False
            self.screen.shell.report(str(result["next"]), "ok")
            self.refresh()

        self.screen.ops.read(lambda b: service.release_hold(data_dir, b, True), done)
