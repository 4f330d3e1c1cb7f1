"""The intake wizard: procedure → applicant → documents → fees and return → review →
receive (slip) or, when mandatory documents are missing, the supplement guidance.

Keys: Enter goes on (or confirms on the review page), Esc goes back one step,
Ctrl+Enter receives from any page once the applicant is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.documents.ocr import ocr_available
from core.documents.steps import StepResult
from core.domain.dossier import DossierView
from core.domain.errors import N_, IncompleteDossier, MotcuaError
from core.domain.lookup import PREFIX
from core.i18n import _, describe, tr
from core.services import intake_pipeline
from core.services.intake_pipeline import Prepared
from desktop import pages, theme
from desktop.documents import step_settings
from desktop.intake_model import IntakeDraft, applicant_from_card, search_procedures
from desktop.pages import Page
from desktop.ui.files import FileDialog
from desktop.ui.table import Table
from desktop.ui.widgets import (
    Field,
    McButton,
    Text,
    fit_width,
    scrolling,
)

from . import intake_outcome as outcome
from . import intake_steps as steps
from .base import BaseScreen

if TYPE_CHECKING:
    from desktop.shell import Shell

STEPS = (
    N_("Procedure"),
    N_("Applicant"),
    N_("Documents"),
    N_("Fees and return"),
    N_("Review"),
    N_("Done"),
)


class IntakeScreen(BaseScreen):
    route = "intake"
    title = N_("Receive a dossier")

    def __init__(self, shell: Shell) -> None:
        self.draft = IntakeDraft()
        self.step = 0
        self.outcome: DossierView | IncompleteDossier | None = None
        self.step_results: dict[str, list[StepResult]] = {}
        self.dialog: FileDialog | None = None
        self.printing = outcome.Printing(shell)
        super().__init__(shell)

    # --- frame -----------------------------------------------------------------------
    def compose(self) -> Widget:
        page = BoxLayout(orientation="vertical", spacing=theme.GAP)
        self.stepbar = BoxLayout(size_hint_y=None, height=theme.ROW - 6, spacing=4)
        page.add_widget(self.stepbar)
        self.body = BoxLayout(orientation="vertical")
        page.add_widget(self.body)
        self.buttons = BoxLayout(size_hint_y=None, height=theme.ROW, spacing=theme.GAP)
        page.add_widget(self.buttons)
        self.show_step()
        return page

    def show_step(self) -> None:
        self.stepbar.clear_widgets()
        for index, name in enumerate(STEPS):
            variant = "primary" if index == self.step else "secondary"
            label = f"{index + 1}. {_(name)}"
            self.stepbar.add_widget(
                McButton(
                    label,
                    None,
                    variant=variant,
                    font_size=14,
                    height=theme.ROW - 6,
                    is_focusable=False,
                )
            )
        self.body.clear_widgets()
        self.buttons.clear_widgets()
        builder = (
            self._procedure,
            self._applicant,
            self._components,
            self._return,
            self._review,
            self._outcome,
        )[self.step]
        builder()
        for button in self.buttons.children:
            if isinstance(button, McButton):
                fit_width(button)

    def _nav(
        self, forward: str = "", on_forward: Callable[[], object] | None = None, back: bool = True
    ) -> None:
        if back and self.step > 0:
            self.buttons.add_widget(
                McButton(
                    _("Back") + "  (Esc)", self.back_step, variant="secondary", size_hint_x=0.25
                )
            )
        self.buttons.add_widget(Widget())
        if forward:
            self.forward_button = fit_width(McButton(forward, on_forward))
            self.buttons.add_widget(self.forward_button)

    def go_step(self, step: int) -> None:
        self.step = step
        self.show_step()
        self.on_enter()

    def back_step(self) -> None:
        if 0 < self.step < 5:
            self._collect()
            self.go_step(self.step - 1)

    def on_key(self, key: str, modifiers: list[str]) -> bool:
        if key == "escape" and self.dialog is not None:
            self.dialog.dismiss()
            self.dialog = None
            return True
        if key == "escape" and 0 < self.step < 5:
            self.back_step()
            return True
        return False

    def first_focus(self) -> Widget | None:
        return getattr(self, "focus_target", None)

    def new_intake(self) -> None:
        self.draft = IntakeDraft()
        self.outcome = None
        self.step_results = {}
        self.go_step(0)

    # --- 1. procedure ----------------------------------------------------------------
    def _procedure(self) -> None:
        self.search = Field(
            _("Type the procedure's name or code (accents optional)"), on_enter=self._pick_first
        )
        self.search.input.bind(text=lambda *_: self._filter())
        self.table = Table(
            [(_("Code"), 0.13), (_("Procedure"), 0.57), (_("Field"), 0.15), (_("Time"), 0.15)],
            on_open=self._pick,
            empty=_("No procedure matches."),
        )
        self.body.add_widget(self.search)
        self.body.add_widget(self.table)
        self.focus_target: Widget | None = self.search.input
        self._filter()
        self._nav()

    def _filter(self) -> None:
        found = search_procedures(self.services.branch.procedures(), self.search.value)
        self.table.set_rows(steps.procedure_rows(found))

    def _pick_first(self) -> None:
        if self.table.keys:
            self._pick(self.table.keys[0])

    def _pick(self, code: str) -> None:
        self.draft.choose(self.services.branch.procedures()[code])
        self.go_step(1)

    # --- 2. applicant ----------------------------------------------------------------
    def _applicant(self) -> None:
        assert self.draft.procedure is not None
        self.body.add_widget(Text(self.draft.procedure.name, bold=True))
        self.applicant_page = steps.ApplicantPage(self.draft, self._read_qr, self._applicant_next)
        self.body.add_widget(scrolling(self.applicant_page))
        self.focus_target = self.applicant_page.fields["full_name"].input
        self._nav(_("Next: documents") + "  (Enter)", self._applicant_next)

    def _read_qr(self, text: str) -> None:
        try:
            self.applicant_page.fill(applicant_from_card(self.services.citizen_card(text)))
        except MotcuaError as err:
            self.shell.report(describe(err))
            return
        self.shell.report(_("Filled from the ID card."), "ok")
        self.applicant_page.qr.input.text = ""
        self.applicant_page.fields["phone"].input.focus = True

    def on_code(self, text: str) -> bool:
        """A code reader's code: on the applicant step, an ID card QR fills the form."""
        if self.step != 1 or text.startswith(PREFIX + "|"):
            return False
        self._read_qr(text)
        return True

    def _applicant_next(self) -> None:
        self.applicant_page.collect()
        problems = self.draft.check_applicant(self.services.branch.clock().date())
        self.applicant_page.show_errors(problems)
        if problems:
            first = next(iter(problems))
            self.applicant_page.fields[first].input.focus = True
            self.shell.report(next(iter(problems.values())))
            return
        self.shell.report("")
        self.go_step(2)

    # --- 3. documents ----------------------------------------------------------------
    def _components(self) -> None:
        self.components_page = steps.ComponentsPage(
            self.draft, self._scan, self.ask_import, self.services.settings.scan_settings()
        )
        self.body.add_widget(scrolling(self.components_page))
        first = next(iter(self.components_page.checks.values()), None)
        self.focus_target = first
        self.buttons.add_widget(
            McButton(
                _("All received"),
                self.components_page.check_all,
                variant="secondary",
                size_hint_x=0.2,
            )
        )
        self._nav(_("Next: fees and return"), lambda: self.go_step(3))

    def _scan(self, key: str) -> None:
        devices, source, duplex = (
            self.services.devices,
            self.draft.scan_source,
            self.draft.scan_duplex,
        )

        def work() -> tuple[list[Page], str]:
            result = devices.scan(source, duplex)  # on the device thread, as every driver call
            problem = describe(result.problem) if result.problem is not None else ""
            return pages.with_thumbnails(result.pages), problem

        self.shell.report(_("Scanning…"), "info")
        self.ops.device(work, lambda got: self._add_pages(key, *got))

    def ask_import(self, key: str) -> None:
        start = Path(self.services.settings.extra.get("import_folder", "") or Path.home())
        self.dialog = FileDialog(
            _("Import pages from files"),
            start,
            pages.FILE_PATTERNS,
            lambda paths: self.import_files(key, paths),
        )
        self.dialog.open()

    def import_files(self, key: str, paths: list[Path]) -> None:
        """Read the files on the device thread (disk I/O, decoding), then show them."""
        self.dialog = None
        self.services.settings.extra["import_folder"] = str(paths[0].parent)
        self.shell.report(_("Reading files…"), "info")
        self.ops.device(
            lambda: (pages.import_files(paths), ""), lambda got: self._add_pages(key, *got)
        )

    def _add_pages(self, key: str, new: list[Page], problem: str) -> None:
        self.draft.add_pages(key, new)
        if problem:
            self.shell.report(
                tr("Scanner: {problem} — the pages read so far are kept", problem=problem)
            )
        else:
            self.shell.report(tr("{n} pages added", n=len(new)), "ok")
        if self.step == 2:
            self.components_page.show_pages(key)

    # --- 4. fees and return ----------------------------------------------------------
    def _return(self) -> None:
        self.return_page = steps.ReturnPage(self.draft)
        self.body.add_widget(scrolling(self.return_page))
        self.focus_target = None
        self._nav(_("Next: review"), self._return_next)

    def _return_next(self) -> None:
        self.return_page.collect()
        if self.draft.return_method == "postal" and not self.draft.postal_address:
            self.return_page.address.show_error(_("Type the postal address"))
            return
        self.go_step(4)

    def _collect(self) -> None:
        if self.step == 1:
            self.applicant_page.collect()
        elif self.step == 3:
            self.return_page.collect()

    # --- 5. review -------------------------------------------------------------------
    def _review(self) -> None:
        branch = self.services.branch
        due = self.draft.due(branch.calendar(), branch.clock())
        self.body.add_widget(scrolling(steps.review_page(self.draft, due)))
        self._nav(_("Receive and print slip") + "  (Enter)", self.receive)
        self.focus_target = self.forward_button

    def receive(self) -> None:
        """The documents go through the intake's steps first (blank pages, checklist,
        PDF/A, signature: on the documents worker, off the writer), then the receipt and
        its files are recorded in one transaction; the form's key makes a second click or
        a retry return the same dossier. OCR of the files follows in the background."""
        user = self.user
        assert user is not None and self.draft.procedure is not None
        intake = self.draft.intake()
        scans = {k: v for k, v in self.draft.scans().items() if k in intake.components}
        components = self.draft.procedure.components
        settings = step_settings(self.services.settings, self.services.secrets)
        self.forward_button.disabled = True

        def record(prepared: Prepared) -> None:
            self.ops.write(
                lambda b: b.dossiers.receive(user, intake, prepared.files),
                lambda view: self._received(view, prepared),
                self._refused,
            )

        if not scans:
            record(Prepared([], []))
            return
        self.shell.report(_("Checking the pages and making the documents' files…"), "info")
        self.ops.documents(
            lambda: intake_pipeline.prepare(
                user, intake.procedure_code, components, scans, settings
            ),
            record,
            self._refused,
        )

    def _received(self, view: DossierView, prepared: Prepared) -> None:
        self.outcome = view
        prepared.recorded(ocr_available())
        self.step_results = prepared.results()
        recorded = {str(f.get("sha256")) for c in view.components for f in c.get("files", [])}
        for sha, pdf in prepared.ocr.items():
            if sha in recorded:  # a retry's files are not the ones the dossier holds
                self.ops.recognise(view.id, sha, pdf)
        self.shell.report(tr("Dossier {code} received", code=view.code), "ok")
        self.go_step(5)

    def _refused(self, err: BaseException) -> bool:
        self.forward_button.disabled = False
        if isinstance(err, IncompleteDossier):
            self.outcome = err
            self.go_step(5)
            return True
        return False

    # --- 6. slip or guidance ---------------------------------------------------------
    def _outcome(self) -> None:
        if isinstance(self.outcome, DossierView):
            self._slip(self.outcome)
        elif isinstance(self.outcome, IncompleteDossier):
            self._guidance(self.outcome)
        self.buttons.add_widget(Widget())
        new = McButton(_("Receive another dossier"), self.new_intake, size_hint_x=0.3)
        self.buttons.add_widget(new)
        self.focus_target = new

    def _slip(self, view: DossierView) -> None:
        self.body.add_widget(outcome.slip_card(view))
        if self.step_results:
            self.body.add_widget(outcome.steps_card(view, self.step_results))
        self.body.add_widget(Widget())
        printing = self.printing
        buttons = [(_("Print slip"), lambda: printing.slip(view))]
        if self.services.settings.receipt_printer:
            buttons.append((_("Print receipt ticket"), lambda: printing.ticket(view)))
        buttons.append((_("Open dossier"), lambda: self.shell.go("dossier", code=view.code)))
        for text, action in buttons:
            self.buttons.add_widget(McButton(text, action, variant="secondary", size_hint_x=0.2))

    def _guidance(self, err: IncompleteDossier) -> None:
        self.body.add_widget(outcome.guidance_card(err))
        self.body.add_widget(Widget())
        self.buttons.add_widget(
            McButton(
                _("Back to documents"),
                lambda: self.go_step(2),
                variant="secondary",
                size_hint_x=0.22,
            )
        )
        draft, user = self.draft, self.user
        self.buttons.add_widget(
            McButton(
                _("Print guidance"),
                lambda: self.printing.guidance(err, draft, user),
                variant="secondary",
                size_hint_x=0.2,
            )
        )
