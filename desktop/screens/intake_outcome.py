"""The intake's last step: the slip card or the supplement guidance, and their printing.

A form is rendered off the UI thread and always saved as PDF first (``desktop.slips``),
then sent to the office printer chosen in Settings; the receipt ticket goes to the
receipt printer. Every device call runs on the device thread.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.documents.steps import STEP_NAMES, Outcome, StepResult
from core.domain.dossier import DossierView
from core.domain.errors import N_, IncompleteDossier, MotcuaError
from core.domain.lookup import SlipLookup
from core.i18n import _, describe, tr
from desktop import labels, slips, theme, tickets
from desktop.intake_model import IntakeDraft
from desktop.ui.widgets import Card, Text, heading, muted
from desktop.ui.widgets import labels as pairs

if TYPE_CHECKING:
    from core.services.branch import Branch
    from core.services.users import User
    from desktop.shell import Shell


def slip_card(view: DossierView) -> Card:
    card = Card()
    card.add_widget(heading(tr("Dossier {code} received", code=view.code)))
    card.add_widget(
        pairs(
            [
                (_("Procedure"), view.procedure_name),
                (_("Applicant"), view.applicant["full_name"]),
                (_("Appointment"), labels.moment(view.due_at)),
                (_("Lookup key"), view.lookup_token),
                (_("Slip QR code"), SlipLookup(view.code, view.lookup_token).payload()),
            ]
        )
    )
    card.add_widget(
        muted(
            _(
                "Give the citizen the receipt and appointment slip (form 01). "
                "The QR code opens the dossier's status at the kiosk."
            )
        )
    )
    return card


OUTCOMES = {Outcome.DONE: N_("done"), Outcome.SKIPPED: N_("skipped"), Outcome.FAILED: N_("failed")}


def step_line(result: StepResult) -> str:
    """ "PDF/A: done (PDF/A-2b)", in the clerk's language."""
    name, outcome = _(STEP_NAMES[result.step]), _(OUTCOMES[result.outcome])
    if not result.note:
        return tr("{step}: {outcome}", step=name, outcome=outcome)
    note = tr(result.note, **result.params)
    return tr("{step}: {outcome} ({note})", step=name, outcome=outcome, note=note)


def steps_card(view: DossierView, results: dict[str, list[StepResult]]) -> Card:
    """What the intake's steps did to each scanned document."""
    names = {str(c["key"]): str(c["name"]) for c in view.components}
    card = Card()
    card.add_widget(heading(_("The scanned documents"), size=theme.FONT_LARGE))
    for key, steps in results.items():
        card.add_widget(Text(names.get(key, key), bold=True, size=theme.FONT_SMALL))
        card.add_widget(muted(" · ".join(step_line(result) for result in steps)))
    return card


def guidance_card(err: IncompleteDossier) -> Card:
    card = Card()
    card.add_widget(heading(_("Dossier not received: documents missing")))
    card.add_widget(
        Text(
            _(
                "Give the citizen the supplement guidance (form 02) listing "
                "what to bring; nothing was recorded."
            )
        )
    )
    for name in err.missing:
        card.add_widget(Text("• " + name, bold=True))
    return card


class Printing:
    """Slip 01, the receipt ticket and the guidance (form 02), from the intake."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    def slip(self, view: DossierView) -> None:
        services = self.shell.services

        def work(branch: Branch) -> tuple[bytes, str, Path]:
            pdf = slips.receipt_pdf(branch, view, services.settings.hotline)
            name = f"{view.code}-01.pdf"
            return pdf, name, slips.save(services.data_dir, name, pdf)

        self.shell.ops.read(work, lambda made: self._deliver(*made))

    def ticket(self, view: DossierView) -> None:
        """The receipt ticket (slip 01 in brief, with its QR) on the receipt printer."""
        services = self.shell.services
        ticket = tickets.receipt_ticket(
            view, services.branch.branch_name, services.settings.hotline
        )
        device = services.settings.receipt_printer
        self.shell.ops.device(
            lambda: services.devices.print_ticket(ticket),
            lambda _none: self.shell.report(
                tr("Receipt ticket printed on {device}", device=device), "ok"
            ),
        )

    def guidance(self, err: IncompleteDossier, draft: IntakeDraft, user: User | None) -> None:
        services = self.shell.services
        assert draft.procedure is not None and user is not None
        procedure, applicant, officer = draft.procedure, dict(draft.applicant), user.full_name

        def work(branch: Branch) -> tuple[bytes, str, Path]:
            pdf = slips.guidance_pdf(
                branch, procedure, applicant, err.missing, officer, branch.clock()
            )
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            name = f"{procedure.code}-{stamp}-02.pdf"
            return pdf, name, slips.save(services.data_dir, name, pdf)

        self.shell.ops.read(work, lambda made: self._deliver(*made))

    def _deliver(self, pdf: bytes, name: str, path: Path) -> None:
        """The PDF is saved; the chosen office printer gets it on the device thread."""
        services, report = self.shell.services, self.shell.report
        if not services.settings.document_printer:
            report(tr("No printer configured: saved {path}", path=str(path)), "ok")
            return

        def failed(err: BaseException) -> bool:
            if not isinstance(err, MotcuaError):
                return False
            report(tr("{problem} — saved {path}", problem=describe(err), path=str(path)))
            return True

        self.shell.ops.device(
            lambda: services.devices.print_pdf(pdf, name),
            lambda _job: report(tr("Sent to the printer; also saved {path}", path=str(path)), "ok"),
            failed,
        )
