"""Turning core records into the JSON documents the `motcua` command prints."""

from __future__ import annotations

from typing import Any

from core.documents.steps import StepResult
from core.domain.catalogue import Procedure
from core.domain.dossier import DossierView
from core.domain.errors import N_
from core.i18n import tr


def dossier(view: DossierView) -> dict[str, Any]:
    return {
        "id": view.id,
        "code": view.code,
        "state": view.state.value,
        "national_status": view.national_status,
        "procedure": view.procedure_code,
        "procedure_name": view.procedure_name,
        "field": view.field,
        "applicant": view.applicant,
        "received_at": view.received_at,
        "received_by": view.received_by,
        "due_at": view.due_at,
        "due_explanation": [tr(s["message"], **s["params"]) for s in view.due_explanation],
        "end_at": view.end_at or None,
        "supplement_count": view.supplement_count,
        "holder": view.holder,
        "components": list(view.components),
        "fees_vnd": view.fees_vnd,
        "return_method": view.return_method,
        "postal_address": view.postal_address,
        "lookup_token": view.lookup_token,
        "conflict": view.conflict,
        "received_unit": view.received_unit or view.branch,
        "processing_unit": view.processing_unit or view.branch,
    }


def dossier_line(view: DossierView) -> dict[str, Any]:
    return {
        "code": view.code,
        "state": view.state.value,
        "national_status": view.national_status,
        "applicant": view.applicant.get("full_name", ""),
        "procedure": view.procedure_code,
        "received_at": view.received_at,
        "due_at": view.due_at,
    }


def procedure(p: Procedure, full: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": p.code,
        "version": p.version,
        "name": p.name,
        "field": p.field.value,
        "level": p.level.value,
        "agency": p.agency,
        "processing_time": p.processing_time,
        "processing_unit": p.processing_unit.value,
        "cutoff": p.cutoff.strftime("%H:%M") if p.cutoff else None,
        "components": [
            {"key": c.key, "name": c.name, "mandatory": c.mandatory} for c in p.components
        ],
        "fees_vnd": p.total_fee_vnd,
    }
    if full:
        doc["components"] = [vars(c) for c in p.components]
        doc["fees"] = [vars(f) for f in p.fees]
        doc["result"] = p.result
        doc["legal_basis"] = p.legal_basis
    return doc


def procedure_line(p: Procedure) -> dict[str, Any]:
    """One row of the catalogue table."""
    unit = {
        "working_days": N_("{n} working days"),
        "working_hours": N_("{n} working hours"),
        "calendar_days": N_("{n} calendar days"),
        "within_day": N_("within the working day"),
    }.get(p.processing_unit.value, N_("{n} ({unit})"))
    return {
        "code": p.code,
        "name": p.name,
        "field": p.field.value,
        "processing_time": tr(unit, n=p.processing_time, unit=p.processing_unit.value),
        "fees_vnd": format_vnd(p.total_fee_vnd),
    }


def format_vnd(amount: int) -> str:
    """An amount as Vietnamese write it: 1.200.000 đ."""
    return f"{amount:,}".replace(",", ".") + " đ"


def step(result: StepResult) -> dict[str, str]:
    """What one intake step did to a document, its note in the current language."""
    return {
        "step": result.step.value,
        "outcome": result.outcome.value,
        "note": tr(result.note, **result.params) if result.note else "",
    }
