"""Dossier detail: status in plain words, applicant, appointment and how it was computed,
components, the timeline (who, when, where), the control-slip view of hand-overs, and
the actions this user may take now.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.stacklayout import StackLayout
from kivy.uix.widget import Widget

from core.domain.dossier import DossierView
from core.domain.errors import N_, MotcuaError
from core.domain.workflow import (
    TRANSFER_ACTIONS,
    TRANSITIONS,
    Action,
    Role,
    State,
    allowed_actions,
)
from core.i18n import _, describe, tr
from core.services import documents
from core.services.changes import Changes
from core.services.fees import FeeReceipt, FeeService
from core.services.transfers import TransferMessage
from desktop import labels, pages, queries, slips, theme
from desktop.documents import ocr_line
from desktop.ui.files import FileDialog
from desktop.ui.thumbs import ThumbStrip
from desktop.ui.widgets import (
    Card,
    Cell,
    Check,
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
from desktop.ui.widgets import (
    labels as pairs,
)

from . import dossier_transfers as transfers_ui
from .base import BaseScreen
from .dossier_dialogs import PageViewer, ReappointDialog
from .dossier_scans import ScanAdder

if TYPE_CHECKING:
    from core.services.branch import Branch

# Actions that need more than a note, and what they ask for.
DETAIL_FIELDS: dict[Action, tuple[str, str]] = {
    Action.TRANSFER: ("to", N_("Hand over to (user name)")),
    Action.REGISTER_POSTAL: ("postal_address", N_("Postal address")),
    Action.REAPPOINT: ("due_at", N_("New appointment (yyyy-mm-ddThh:mm)")),
    Action.SEND_OUT: ("to_branch", N_("Send to unit (its code)")),
}


# The step forward comes first (Alt+1, highlighted); refusals and exceptions after.
FORWARD = (
    Action.TRANSFER,
    Action.START,
    Action.SUBMIT,
    Action.APPROVE,
    Action.FINISH,
    Action.RETURN,
    Action.SUPPLEMENT,
    Action.PAY,
    Action.REGISTER_POSTAL,
    Action.DELIVER,
)


def ordered_actions(state: State, role: Role) -> list[Action]:
    allowed = allowed_actions(state, role)
    return sorted(allowed, key=lambda a: FORWARD.index(a) if a in FORWARD else len(FORWARD))


@dataclass(frozen=True)
class Detail:
    view: DossierView
    timeline: list[dict[str, Any]]
    users: list[tuple[str, str, str]]
    receipts: list[FeeReceipt] = field(default_factory=list)  # fees paid, as recorded
    texts: dict[str, str] = field(default_factory=dict)  # what OCR read in each scan
    reply: TransferMessage | None = None  # the other unit's reply, to take back


def render_files(branch: Branch, shas: list[str]) -> dict[str, list[bytes] | str]:
    """Thumbnails of every page of each stored file (reader thread), or why there are none."""
    rendered: dict[str, list[bytes] | str] = {}
    for sha in shas:
        try:
            rendered[sha] = pages.pdf_thumbnails(documents.read(branch, sha))
        except MotcuaError as err:
            rendered[sha] = describe(err)
        except (OSError, subprocess.SubprocessError) as err:
            rendered[sha] = tr("Cannot show the pages: {problem}", problem=str(err))
    return rendered


def load(branch: Branch, code: str) -> Detail:
    view = branch.dossiers.get(code)
    shas = [str(f.get("sha256", "")) for c in view.components for f in c.get("files", [])]
    return Detail(
        view,
        branch.dossiers.timeline(code),
        queries.usernames(branch),
        FeeService(branch).receipts(code),
        documents.texts(branch, shas),
        transfers_ui.reply_for(branch, view),
    )


def _grows_with(box: BoxLayout, text: Text) -> BoxLayout:
    """A row as tall as its wrapped text, never less than a button's height."""

    def fit(*_args: Any) -> None:
        box.height = max(theme.ROW, text.height)

    text.bind(height=fit)
    fit()
    return box


class DossierScreen(BaseScreen):
    route = "dossier"
    title = ""

    def compose(self) -> Widget:
        self.page = BoxLayout(orientation="vertical", spacing=theme.GAP)
        self.detail: Detail | None = None
        self.pending: Action | None = None
        self.dialog: ReappointDialog | PageViewer | FileDialog | None = None
        self.page_slots: dict[str, BoxLayout] = {}
        self.scans = ScanAdder(self)
        return self.page

    def refresh(self) -> None:
        code = self.params.get("code")
        if code:
            self.ops.read(lambda b: load(b, code), self.show)

    def on_changes(self, changes: Changes) -> None:
        """This dossier changed, or one of its scans arrived from another desk."""
        if not (self.showing and self.detail):
            return
        if self.detail.view.id in changes.dossiers or changes.scans & self.page_slots.keys():
            self.refresh()

    def show(self, detail: Detail) -> None:
        self.detail = detail
        view = detail.view
        self.page.clear_widgets()
        status = labels.state_label(view.state)
        self.page.add_widget(heading(f"{view.code} · {status}"))
        self.page.add_widget(
            muted(
                tr(
                    "{procedure} · national status {n}",
                    procedure=view.procedure_name,
                    n=view.national_status,
                ),
                size=theme.FONT_BODY,
            )
        )
        if view.conflict:
            self.page.add_widget(
                Text(
                    _("This dossier is in conflict: see Conflicts (F7)."),
                    color=theme.DANGER,
                    bold=True,
                )
            )
        columns = BoxLayout(spacing=theme.GAP + 4)
        left, right = Column(), Column()
        left.add_widget(self._summary(view, detail.receipts))
        left.add_widget(self._components(view))
        right.add_widget(self._timeline(detail.timeline))
        right.add_widget(self._handovers(view))
        columns.add_widget(scrolling(left))
        columns.add_widget(scrolling(right))
        self.page.add_widget(columns)
        self.action_area = BoxLayout(orientation="vertical", size_hint_y=None, spacing=4)
        self.action_area.bind(minimum_height=self.action_area.setter("height"))
        self.page.add_widget(self.action_area)
        self._actions()

    # --- panels ----------------------------------------------------------------------
    def _summary(self, view: DossierView, receipts: list[FeeReceipt]) -> Card:
        a = view.applicant
        card = Card()
        card.add_widget(heading(_("Applicant and appointment"), size=theme.FONT_LARGE))
        method = (
            _("At the counter")
            if view.return_method == "counter"
            else tr("By post to {address}", address=view.postal_address)
        )
        card.add_widget(
            pairs(
                [
                    (_("Applicant"), a.get("full_name", "")),
                    (_("Citizen ID"), a.get("id_number", "")),
                    (_("Phone"), a.get("phone", "")),
                    (_("Address"), a.get("address", "")),
                    (
                        _("Received"),
                        tr(
                            "{moment} by {user}",
                            moment=labels.moment(view.received_at),
                            user=view.received_by,
                        ),
                    ),
                    (_("Appointment"), labels.moment(view.due_at)),
                    (_("Now held by"), view.holder),
                    (_("Result returned"), method),
                    (_("Fees"), labels.money(view.fees_vnd)),
                ]
            )
        )
        for r in receipts:  # the fee receipts recorded against it (biên lai)
            line = labels.receipt_line(r.number, r.amount_vnd, r.method, r.at)
            card.add_widget(muted("• " + line))
        for line in labels.explanation(view.due_explanation):
            card.add_widget(muted("• " + line))
        return card

    def _components(self, view: DossierView) -> Card:
        card = Card()
        card.add_widget(heading(_("Documents"), size=theme.FONT_LARGE))
        self.page_slots = {}
        self.file_names: dict[str, str] = {}
        wanted: list[str] = []
        for comp in view.components:
            mark = _("received") if comp.get("supplied") else _("missing")
            files = comp.get("files", [])
            pages = sum(int(f.get("pages", 0)) for f in files)
            text = tr("{name} — {mark}, {pages} pages", name=comp["name"], mark=mark, pages=pages)
            line = Text(
                text,
                color=theme.TEXT if comp.get("supplied") else theme.WARNING,
                size=theme.FONT_SMALL,
            )
            key = str(comp["key"])
            add = McButton(
                _("Add pages…"),
                functools.partial(self.scans.ask, view, key),
                variant="secondary",
                font_size=theme.FONT_SMALL,
            )
            card.add_widget(_grows_with(row(line, fit_width(add)), line))
            for record in files:
                sha = str(record.get("sha256", ""))
                slot = BoxLayout(orientation="vertical", size_hint_y=None, height=24)
                slot.add_widget(muted(_("Loading pages…")))
                self.page_slots[sha] = slot
                self.file_names[sha] = str(comp["name"])
                wanted.append(sha)
                card.add_widget(slot)
                self._ocr_status(card, sha)
        if wanted:
            self.ops.read(lambda b: render_files(b, wanted), self._show_pages)
        return card

    def _ocr_status(self, card: Card, sha: str) -> None:
        """How far this scan's text recognition is (from the desk's OCR jobs)."""
        read = self.detail.texts.get(sha) if self.detail is not None else None
        line, colour = ocr_line(self.services.ocr.progress.get(sha), read)
        if line:
            card.add_widget(Text(line, color=colour, size=theme.FONT_SMALL))

    def _show_pages(self, rendered: dict[str, list[bytes] | str]) -> None:
        self.all_pages: list[tuple[str, int, str]] = [
            (sha, n, self.file_names.get(sha, ""))
            for sha, shots in rendered.items()
            if not isinstance(shots, str)
            for n in range(1, len(shots) + 1)
        ]
        for sha, shots in rendered.items():
            slot = self.page_slots.get(sha)
            if slot is None:
                continue
            slot.clear_widgets()
            if isinstance(shots, str):
                slot.height = 24
                slot.add_widget(muted(shots))
                continue
            first = self.all_pages.index((sha, 1, self.file_names.get(sha, "")))

            def open_page(index: int, first: int = first) -> None:
                self.view_page(first + index)

            strip = ThumbStrip(shots, on_open=open_page)
            slot.height = strip.height
            slot.add_widget(strip)

    def view_page(self, index: int) -> None:
        """A page full size; its neighbours (across documents) with ‹ › or ← →."""
        self.dialog = PageViewer(self.all_pages, index, self._render_page, self.size)
        self.dialog.bind(on_dismiss=self._closed)
        self.dialog.open()

    def _render_page(self, sha: str, number: int, show: Callable[[bytes], object]) -> None:
        self.ops.read(lambda b: pages.pdf_page(documents.read(b, sha), number), show)

    def _closed(self, *_args: Any) -> None:
        self.dialog = None

    def _timeline(self, timeline: list[dict[str, Any]]) -> Card:
        card = Card()
        card.add_widget(heading(_("Timeline"), size=theme.FONT_LARGE))
        for entry in timeline:
            line = tr(
                "{moment} · {what} · {who} (desk {device})",
                moment=labels.moment(entry["at"]),
                what=labels.event_label(entry["type"]),
                who=entry["actor"],
                device=entry["device"][-6:],
            )
            card.add_widget(Text(line, size=theme.FONT_SMALL))
            if entry.get("note"):
                card.add_widget(muted("    " + entry["note"]))
        return card

    def _handovers(self, view: DossierView) -> Card:
        card = Card()
        card.add_widget(heading(_("Control slip: hand-overs"), size=theme.FONT_LARGE))
        card.add_widget(
            row(
                *(
                    Cell(t, w, bold=True, color=theme.TEXT_MUTED, font_size=14)
                    for t, w in (
                        (_("Step"), 0.3),
                        (_("Time"), 0.25),
                        (_("Handed over by"), 0.2),  # not "From": the CLI's dates own it
                        (_("Taken over by"), 0.25),
                    )
                )
            )
        )
        if not view.handovers:
            card.add_widget(muted(_("No hand-over yet.")))
        for h in view.handovers:
            card.add_widget(
                row(
                    Cell(labels.action_label(h.action), 0.3, font_size=14),
                    Cell(labels.moment(h.at), 0.25, font_size=14),
                    Cell(h.giver, 0.2, font_size=14),
                    Cell(h.receiver or "—", 0.25, font_size=14),
                    height=30,
                )
            )
        return card

    # --- actions ---------------------------------------------------------------------
    def _actions(self) -> None:
        area = self.action_area
        area.clear_widgets()
        if self.detail is None or self.user is None:
            return
        view = self.detail.view
        if self.pending is not None:
            self._action_form(self.pending)
            return
        actions = ordered_actions(view.state, self.user.role)
        actions += transfers_ui.transfer_actions(view, self.user.role, self.detail.reply)
        # The buttons flow onto a second line rather than run off the screen's edge.
        bar = StackLayout(orientation="lr-tb", size_hint_y=None, spacing=theme.GAP)
        bar.bind(minimum_height=bar.setter("height"))
        if not actions:
            bar.add_widget(muted(_("No action for your role in this state."), size=theme.FONT_BODY))
        for index, action in enumerate(actions, start=1):
            label = f"{labels.action_label(action)}  (Alt+{index})" if index < 10 else ""
            button = fit_width(
                McButton(
                    label,
                    functools.partial(self.choose, action),
                    variant="primary" if index == 1 else "secondary",
                )
            )
            button.size_hint_y, button.height = None, theme.ROW
            bar.add_widget(button)
        area.add_widget(bar)

    def choose(self, action: Action) -> None:
        if action is Action.REAPPOINT and self.detail is not None:
            view = self.detail.view
            self.dialog = ReappointDialog(view.due_at, self.reappoint, view.reappointments)
            self.dialog.bind(on_dismiss=self._closed)
            self.dialog.open()
            return
        if action is Action.TAKE_BACK:
            self.transfer(action, "", {})
            return
        transition = TRANSITIONS[action]
        if transition.needs_note or action in DETAIL_FIELDS or action is Action.SEND_BACK:
            self.pending = action
            self._actions()
            return
        self.act(action, "", {})

    def _action_form(self, action: Action) -> None:
        area = self.action_area
        area.add_widget(Text(labels.action_label(action), bold=True))
        self.detail_field: Field | None = None
        if action in DETAIL_FIELDS:
            key, caption = DETAIL_FIELDS[action]
            hint = (
                ", ".join(u for u, _n, _r in self.detail.users)
                if key == "to" and self.detail
                else ""
            )
            self.detail_field = Field(_(caption), hint=hint)
            if key == "postal_address" and self.detail:
                self.detail_field.input.text = self.detail.view.postal_address
            area.add_widget(self.detail_field)
        self.return_there: Check | None = None
        if action is Action.SEND_OUT:  # where the citizen gets the result
            self.return_there = Check(False)
            caption = _("The citizen gets the result at the other unit")
            area.add_widget(row(self.return_there, Text(caption, size=theme.FONT_BODY)))
        needs = TRANSITIONS[action].needs_note
        self.note_field = Field(
            _("Reason (required)") if needs else _("Note (optional)"),
            on_enter=lambda: self.confirm(action),
        )
        area.add_widget(self.note_field)
        area.add_widget(
            row(
                Widget(),
                fit_width(McButton(_("Cancel") + "  (Esc)", self.cancel, variant="secondary")),
                fit_width(McButton(_("Confirm") + "  (Enter)", lambda: self.confirm(action))),
            )
        )
        target = self.detail_field or self.note_field
        target.input.focus = True

    def cancel(self) -> None:
        self.pending = None
        self._actions()

    def confirm(self, action: Action) -> None:
        details: dict[str, str] = {}
        if action in DETAIL_FIELDS and self.detail_field is not None:
            details[DETAIL_FIELDS[action][0]] = self.detail_field.value
        if action in TRANSFER_ACTIONS:
            there = self.return_there is not None and self.return_there.active
            details["return_at"] = "destination" if there else "origin"
            self.transfer(action, self.note_field.value, details)
            return
        self.act(action, self.note_field.value, details)

    def transfer(self, action: Action, note: str, details: dict[str, str]) -> None:
        """A step between units (``dossier_transfers``)."""
        assert self.detail is not None
        user, view, reply = self.user, self.detail.view, self.detail.reply
        assert user is not None
        unit, return_at = details.get("to_branch", ""), details.get("return_at", "origin")

        def done(new_view: DossierView) -> None:
            self.pending = None
            self.shell.report(
                tr(
                    "{action}: done — {code} is now {state}",
                    action=labels.action_label(action),
                    code=new_view.code,
                    state=labels.state_label(new_view.state),
                ),
                "ok",
            )

        self.ops.write(
            lambda b: transfers_ui.run(b, user, view, action, note, unit, reply, return_at), done
        )

    def act(self, action: Action, note: str, details: dict[str, str]) -> None:
        assert self.detail is not None
        user, code = self.user, self.detail.view.code

        def done(view: DossierView) -> None:
            self.pending = None
            self.shell.report(
                tr(
                    "{action}: done — {code} is now {state}",
                    action=labels.action_label(action),
                    code=view.code,
                    state=labels.state_label(view.state),
                ),
                "ok",
            )

        self.ops.write(
            lambda b: b.dossiers.act(user, code, action, note=note, details=details), done
        )

    # --- apology / new appointment (form 04) -------------------------------------------
    def reappoint(self, due_at: str, reason: str) -> None:
        assert self.detail is not None
        user, code, dialog = self.user, self.detail.view.code, self.dialog

        def recorded(view: DossierView) -> None:
            if dialog is not None:
                dialog.dismiss()
            self.shell.report(
                tr(
                    "New appointment {moment} recorded; printing the apology letter (form 04)…",
                    moment=labels.moment(view.due_at),
                ),
                "ok",
            )
            self.print_form(code, "04")

        def refused(err: BaseException) -> bool:
            if isinstance(dialog, ReappointDialog) and isinstance(err, MotcuaError):
                dialog.refused(describe(err))
                return True
            return False

        # A second re-appointment carries the leader's reason the dialog asked for.
        details = (
            dialog.details_for(due_at)
            if isinstance(dialog, ReappointDialog)
            else {"due_at": due_at}
        )
        self.ops.write(
            lambda b: b.dossiers.act(user, code, Action.REAPPOINT, note=reason, details=details),
            recorded,
            refused,
        )

    def print_form(self, code: str, form: str) -> None:
        """Render the form on the device thread, save it, print it when a printer is set."""
        services = self.services

        def work() -> tuple[str, str | None]:
            pdf = services.branch.slips.render(code, form)
            name = f"{code}-{form}.pdf"
            path = str(slips.save(services.data_dir, name, pdf))
            if not services.settings.document_printer:
                return path, None
            try:
                services.devices.print_pdf(pdf, name)
            except MotcuaError as err:  # the letter is saved: say why it did not print
                return path, describe(err)
            return path, ""

        def done(result: tuple[str, str | None]) -> None:
            path, problem = result
            self.last_form = path
            if problem is None:
                self.shell.report(tr("No printer configured: saved {path}", path=path), "ok")
            elif problem:
                self.shell.report(tr("{problem} — saved {path}", problem=problem, path=path))
            else:
                self.shell.report(tr("Sent to the printer; also saved {path}", path=path), "ok")

        self.ops.device(work, done)

    def on_key(self, key: str, modifiers: list[str]) -> bool:
        if self.dialog is not None:
            return self._dialog_key(key, modifiers)
        if key == "escape" and self.pending is not None:
            self.cancel()
            return True
        if "alt" in modifiers and key.isdigit() and self.detail and self.user:
            actions = ordered_actions(self.detail.view.state, self.user.role)
            index = int(key) - 1
            if 0 <= index < len(actions):
                self.choose(actions[index])
                return True
        return False

    def _dialog_key(self, key: str, modifiers: list[str]) -> bool:
        dialog = self.dialog
        if key == "escape" and dialog is not None:
            dialog.dismiss()
            return True
        if isinstance(dialog, PageViewer) and key in ("276", "275"):  # ← →
            dialog.turn(-1 if key == "276" else 1)
            return True
        # screen shortcuts wait until the dialog is closed; typing goes to its fields
        return (key.startswith("F") and len(key) > 1) or "alt" in modifiers
