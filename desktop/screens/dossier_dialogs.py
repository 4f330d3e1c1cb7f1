"""The dossier detail's dialogs: the apology / new appointment (form 04), and a page
shown full size with previous / next (rendered on the reader thread)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget

from core.domain.timeutil import VIETNAM, iso, parse_moment, to_vietnam
from core.i18n import _, tr
from desktop import labels, theme
from desktop.ui.thumbs import texture_of
from desktop.ui.widgets import Card, Field, McButton, Text, fit_width, heading, muted, row
from desktop.ui.widgets import labels as pairs

OVERLAY = (0.05, 0.1, 0.16, 0.55)


class Dialog(ModalView):
    """A white card over the dimmed window; Esc is handled by the screen that opened it."""

    def __init__(self, width: int, height: int | None = None) -> None:
        super().__init__(
            size_hint=(None, None),
            width=width,
            height=height or 100,
            auto_dismiss=False,
            background="",
            background_color=(0, 0, 0, 0),
            overlay_color=OVERLAY,
        )
        self.card = Card(fit=height is None)
        if height is None:
            self.card.bind(height=lambda *_: setattr(self, "height", self.card.height))
        self.add_widget(self.card)


def parse_new_appointment(day: str, clock: str) -> datetime:
    """``dd/mm/yyyy`` and ``hh:mm`` as Vietnam time; ValueError when they are not."""
    moment = datetime.strptime(f"{day.strip()} {clock.strip()}", "%d/%m/%Y %H:%M")
    return moment.replace(tzinfo=VIETNAM)


class ReappointDialog(Dialog):
    """New date-time (later than the current appointment) and the reason, for a leader;
    ``on_confirm(due_at_iso, reason)`` records it (with ``details_for(due_at_iso)``) and
    prints form 04. A dossier re-appointed already (``reappointments``) needs the leader's
    reason for the second one too (``core.domain.dossier.check_reappointment``)."""

    def __init__(
        self, current_due: str, on_confirm: Callable[[str, str], object], reappointments: int = 0
    ) -> None:
        super().__init__(width=680)
        self.current = parse_moment(current_due)
        self.on_confirm = on_confirm
        card = self.card
        card.add_widget(heading(_("Apology and new appointment (form 04)"), size=theme.FONT_LARGE))
        card.add_widget(
            muted(
                _(
                    "The dossier will not be ready at the appointment given to the citizen. "
                    "Set a later appointment and the reason; the apology letter is printed "
                    "for the citizen."
                ),
                size=theme.FONT_SMALL,
            )
        )
        card.add_widget(pairs([(_("Current appointment"), labels.moment(current_due))]))
        suggested = to_vietnam(self.current) + timedelta(days=1)
        self.day = Field(
            _("New date (dd/mm/yyyy)"), hint="dd/mm/yyyy", on_enter=lambda: self.focus(self.time)
        )
        self.day.input.text = suggested.strftime("%d/%m/%Y")
        self.time: Field = Field(
            _("Time (hh:mm)"), hint="hh:mm", on_enter=lambda: self.focus(self.reason)
        )
        self.time.input.text = suggested.strftime("%H:%M")
        when = BoxLayout(size_hint_y=None, spacing=theme.PAD)
        when.add_widget(self.day)
        when.add_widget(self.time)
        self.day.bind(height=lambda *_: setattr(when, "height", self.day.height))
        when.height = self.day.height
        card.add_widget(when)
        self.reason: Field = Field(
            _("Reason for the delay (printed on the letter)"), on_enter=self._reason_entered
        )
        card.add_widget(self.reason)
        self.leader_reason: Field | None = None
        if reappointments >= 1:
            self.leader_reason = Field(
                _("Leader's reason for a second new appointment"), on_enter=self.confirm
            )
            card.add_widget(self.leader_reason)
        self.confirm_button = fit_width(
            McButton(_("Record and print form 04") + "  (Enter)", self.confirm)
        )
        card.add_widget(
            row(
                Widget(),
                fit_width(McButton(_("Cancel") + "  (Esc)", self.dismiss, variant="secondary")),
                self.confirm_button,
            )
        )

    def focus(self, field: Field) -> None:
        field.input.focus = True

    def _reason_entered(self) -> None:
        if self.leader_reason is not None and not self.leader_reason.value:
            self.focus(self.leader_reason)
        else:
            self.confirm()

    def on_open(self) -> None:
        self.focus(self.day)

    def problems(self) -> tuple[str, dict[Field, str]]:
        """The new appointment as ISO text, and what is wrong with each field."""
        found: dict[Field, str] = {}
        due = ""
        try:
            moment = parse_new_appointment(self.day.value, self.time.value)
        except ValueError:
            found[self.day] = _("Write the date as dd/mm/yyyy and the time as hh:mm")
        else:
            if moment <= self.current:
                found[self.day] = tr(
                    "The new appointment must be later than the current one ({current})",
                    current=labels.moment(self.current),
                )
            due = iso(moment)
        if not self.reason.value:
            found[self.reason] = _("The reason is required: it is printed on the letter")
        if self.leader_reason is not None and not self.leader_reason.value:
            found[self.leader_reason] = _(
                "The dossier was re-appointed already: "
                "a second new appointment needs the leader's reason"
            )
        return due, found

    def details_for(self, due_at: str) -> dict[str, str]:
        """The re-appointment's details for ``dossiers.act``: the new appointment, and the
        leader's reason when this is a second one."""
        details = {"due_at": due_at}
        if self.leader_reason is not None:
            details["repeat_reason"] = self.leader_reason.value
        return details

    def confirm(self) -> None:
        due, found = self.problems()
        for field in (self.day, self.time, self.reason, self.leader_reason):
            if field is not None:
                field.show_error(found.get(field, ""))
        if found:
            self.focus(next(iter(found)))
            return
        self.confirm_button.disabled = True
        self.on_confirm(due, self.reason.value)

    def refused(self, message: str) -> None:
        """The core refused it (e.g. a change by another desk): say so beside the date."""
        self.confirm_button.disabled = False
        self.day.show_error(message)


PageLoader = Callable[[str, int, Callable[[bytes], None]], None]


class PageViewer(Dialog):
    """One page at a time, as large as the window allows; ‹ › (or ← →) to turn pages.

    ``pages`` lists (file sha256, page number in that file, caption) across the dossier's
    documents; ``load(sha, number, show)`` renders off the UI thread and calls back."""

    def __init__(
        self,
        pages: list[tuple[str, int, str]],
        start: int,
        load: PageLoader,
        size: tuple[float, float],
    ) -> None:
        super().__init__(width=int(size[0] * 0.9), height=int(size[1] * 0.94))
        self.pages = pages
        self.index = start
        self.load = load
        self.cache: dict[int, bytes] = {}
        card = self.card
        top = BoxLayout(size_hint_y=None, height=theme.ROW, spacing=theme.GAP)
        self.caption = Text("", bold=True)
        top.add_widget(self.caption)
        self.previous = fit_width(
            McButton("‹ " + _("Previous"), lambda: self.turn(-1), variant="secondary")
        )
        self.next = fit_width(McButton(_("Next") + " ›", lambda: self.turn(1), variant="secondary"))
        close = fit_width(McButton(_("Close") + "  (Esc)", self.dismiss, variant="secondary"))
        for button in (self.previous, self.next, close):
            top.add_widget(button)
        card.add_widget(top)
        self.image = Image(fit_mode="contain")
        self.loading = muted(_("Loading the page…"), size=theme.FONT_BODY)
        self.area = BoxLayout()
        card.add_widget(self.area)
        self.show()

    @property
    def number(self) -> int:
        return self.index + 1

    def turn(self, delta: int) -> None:
        target = self.index + delta
        if 0 <= target < len(self.pages):
            self.index = target
            self.show()

    def show(self) -> None:
        sha, page, name = self.pages[self.index]
        self.caption.text = tr(
            "{document} — page {n} of {total}", document=name, n=self.number, total=len(self.pages)
        )
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index == len(self.pages) - 1
        self.area.clear_widgets()
        if self.index in self.cache:
            self._picture(self.index, self.cache[self.index])
            return
        self.area.add_widget(self.loading)
        index = self.index
        self.load(sha, page, lambda png: self._picture(index, png))

    def _picture(self, index: int, png: bytes) -> None:
        self.cache[index] = png
        if index != self.index:
            return  # the clerk turned on meanwhile
        self.area.clear_widgets()
        self.image.texture = texture_of(png)
        self.area.add_widget(self.image)

    @property
    def showing_picture(self) -> bool:
        return self.image.parent is not None
