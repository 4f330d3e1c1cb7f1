"""The national forms of a dossier (01, 02, 03, 04, 06), filled from its record and events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.documents.forms import (
    Apology,
    Applicant,
    ComponentRow,
    ControlSlip,
    HandOver,
    ReceiptSlip,
    Refusal,
    ReturnMethod,
    StepResult,
    SupplementRequest,
    Unit,
    render_form,
)
from core.domain.catalogue import ProcessingUnit
from core.domain.dossier import DossierView
from core.domain.errors import N_, TransitionRefused, ValidationError
from core.domain.lookup import SlipLookup
from core.domain.timeutil import parse_moment
from core.storage import schema as t

if TYPE_CHECKING:
    from .branch import Branch

FORMS = ("01", "02", "03", "04", "06")
FormData = ReceiptSlip | SupplementRequest | Refusal | Apology | ControlSlip
_UNIT_WORDS = {
    ProcessingUnit.WORKING_DAYS: "ngày làm việc",
    ProcessingUnit.WORKING_HOURS: "giờ làm việc",
    ProcessingUnit.CALENDAR_DAYS: "ngày",
}


def processing_time_text(amount: int, unit: ProcessingUnit) -> str:
    """As procedures state it: "03 ngày làm việc", or "Trong ngày làm việc"."""
    if unit is ProcessingUnit.WITHIN_DAY:
        return "Trong ngày làm việc"
    return f"{amount:02d} {_UNIT_WORDS[unit]}"


class SlipService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    def render(self, code: str, form: str) -> bytes:
        """The form as PDF/A bytes; refused when the dossier has no such step to print."""
        if form not in FORMS:
            raise ValidationError(N_("Unknown form {form}; choose 01, 02, 03, 04 or 06"), form=form)
        view = self.branch.dossiers.get(code)
        builder: dict[str, Callable[[DossierView], FormData]] = {
            "01": self.receipt,
            "02": self.supplement,
            "03": self.refusal,
            "04": self.apology,
            "06": self.control,
        }
        return render_form(form, builder[form](view))

    # --- the pieces every form shares ------------------------------------------------
    def _unit(self) -> Unit:
        return Unit(name=self.branch.branch_name)

    def _names(self) -> dict[str, str]:
        with self.branch.store.read() as conn:
            rows = conn.execute(select(t.users.c.username, t.users.c.full_name))
            return {r.username: r.full_name for r in rows}

    def _counter_staff(self) -> set[str]:
        """Users who work at the one-stop counter (the others sit in the deciding agency)."""
        with self.branch.store.read() as conn:
            rows = conn.execute(select(t.users.c.username).where(t.users.c.role == "officer"))
            return {r.username for r in rows}

    def _applicant(self, view: DossierView) -> Applicant:
        a = view.applicant
        return Applicant(
            a["full_name"], a.get("address", ""), a.get("phone", ""), a.get("email", "")
        )

    def _last(self, view: DossierView, action: str) -> Any:
        rows = [h for h in view.handovers if h.action == action]
        if not rows:
            raise TransitionRefused(
                N_("Dossier {code} has no '{action}' step to print"), code=view.code, action=action
            )
        return rows[-1]

    # --- the forms ---------------------------------------------------------------------
    def receipt(self, view: DossierView) -> ReceiptSlip:
        procedure = self.branch.procedures().get(view.procedure_code)
        unit = ProcessingUnit(view.extra.get("unit", ProcessingUnit.WORKING_DAYS.value))
        rows = tuple(
            ComponentRow(c["name"], c["originals"], c["certified_copies"], c["copies"])
            for c in view.components
            if c.get("supplied", True)
        )
        return ReceiptSlip(
            unit=self._unit(),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            components=rows,
            sets=procedure.sets if procedure else 1,
            processing_time=processing_time_text(procedure.processing_time, unit)
            if procedure
            else "",
            received_at=parse_moment(view.received_at),
            due_at=parse_moment(view.due_original),
            officer=self._names().get(view.received_by, view.received_by),
            qr_payload=SlipLookup(view.code, view.lookup_token).payload(),
            return_method=ReturnMethod(view.return_method),
            postal_address=view.postal_address,
            fee_vnd=view.fees_vnd,
        )

    def supplement(self, view: DossierView) -> SupplementRequest:
        step = self._last(view, "request-supplement")
        names = self._names()
        missing = tuple(
            ComponentRow(c["name"], c["originals"], c["certified_copies"], c["copies"])
            for c in view.components
            if not c.get("supplied", True)
        )
        officer = names.get(step.giver, step.giver)
        return SupplementRequest(
            unit=self._unit(),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            missing=missing,
            reasons=(step.note,),
            officer=officer,
            contact_officer=officer,
            contact_phone="",
            issued_at=parse_moment(step.at),
        )

    def refusal(self, view: DossierView) -> Refusal:
        step = self._last(view, "refuse")
        return Refusal(
            unit=self._unit(),
            applicant=self._applicant(view),
            request=view.procedure_name,
            reasons=(step.note,),
            officer=self._names().get(step.giver, step.giver),
            issued_at=parse_moment(step.at),
            dossier_code=view.code,
        )

    def apology(self, view: DossierView) -> Apology:
        step = self._last(view, "reappoint")
        previous = self._previous_due(view, step.at)
        return Apology(
            unit=self._unit(),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            received_at=parse_moment(view.received_at),
            due_at=previous,
            new_due_at=parse_moment(view.due_at),
            reasons=(step.note,),
            signer=self._names().get(step.giver, step.giver),
            issued_at=parse_moment(step.at),
        )

    def _previous_due(self, view: DossierView, at: str) -> datetime:
        for event in reversed(self.branch.dossiers.events(view.code)):
            if event.type == "dossier.reappoint" and event.payload.get("at") == at:
                return parse_moment(str(event.payload["previous_due_at"]))
        return parse_moment(view.due_original)

    def control(self, view: DossierView) -> ControlSlip:
        procedure = self.branch.procedures().get(view.procedure_code)
        agency = procedure.agency if procedure else ""
        names = self._names()
        counter = self._counter_staff()
        department = self._unit().department
        due = parse_moment(view.due_at)

        def unit_of(user: str) -> str:
            return department if user in counter else agency

        rows = tuple(
            HandOver(
                giver_unit=unit_of(h.giver),
                receiver_unit=unit_of(h.receiver) if h.receiver else agency,
                at=parse_moment(h.at),
                giver=names.get(h.giver, h.giver),
                receiver=names.get(h.receiver, h.receiver),
                result=_step_result(parse_moment(h.at), due),
                note=h.note,
            )
            for h in view.handovers
        )
        return ControlSlip(
            unit=self._unit(),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            received_at=parse_moment(view.received_at),
            due_at=due,
            handling_agency=agency,
            rows=rows,
        )


def _step_result(at: datetime, due: datetime) -> StepResult:
    if at > due:
        return StepResult.LATE
    return StepResult.EARLY if at.date() < due.date() else StepResult.ON_TIME
