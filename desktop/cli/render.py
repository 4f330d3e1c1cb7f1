"""Turning core records into the JSON documents the `motcua` command prints."""

from __future__ import annotations

from typing import Any

from core.documents.steps import StepResult
from core.domain.catalogue import Procedure
from core.domain.dossier import DossierView
from core.domain.errors import N_
from core.domain.fees import FeePer, FeeRule
from core.i18n import tr
from desktop import labels as words


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


def procedure(p: Procedure) -> dict[str, Any]:
    """`catalog show` for people: codes in words, amounts in đồng, fee rules spelled out
    (``--json`` prints the catalogue's own form, ``procedure_to_dict``)."""
    return {
        "code": p.code,
        "version": p.version,
        "name": p.name,
        "national_code": p.national_code or None,
        "field": words.field_label(p.field),
        "level": words.level_label(p.level),
        "agency": p.agency,
        "processing_time": words.processing_time(p.processing_time, p.processing_unit),
        "cutoff": p.cutoff.strftime("%H:%M") if p.cutoff else None,
        "fees_vnd": format_vnd(p.total_fee_vnd),
        "result": p.result,
        "legal_basis": p.legal_basis,
        "effective_from": p.effective_from.isoformat(),
        "components": [vars(c) for c in p.components],
        "fees": [
            {
                "name": f.name,
                "amount_vnd": format_vnd(f.amount_vnd),
                "rule": fee_rule(f.rule),
                "note": f.note,
            }
            for f in p.fees
        ],
    }


def fee_rule(rule: FeeRule) -> str:
    """How a fee is charged, in words: by the copy or page (with its tiers and cap), its
    online amount, the cases it is waived for."""
    parts = []
    if rule.per is FeePer.COPY:
        parts.append(tr(N_("by the copy")))
    elif rule.per is FeePer.PAGE:
        tiers = "; ".join(
            tr(N_("from page {page}: {amount}"), page=start, amount=format_vnd(each))
            for start, each in sorted(rule.tiers)
        )
        parts.append(
            tr(N_("by the page ({tiers})"), tiers=tiers) if tiers else tr(N_("by the page"))
        )
    if rule.cap_vnd is not None:
        parts.append(tr(N_("at most {amount} a copy"), amount=format_vnd(rule.cap_vnd)))
    if rule.online_vnd is not None:
        parts.append(tr(N_("online: {amount}"), amount=format_vnd(rule.online_vnd)))
    if rule.exempt:
        parts.append(tr(N_("waived for: {cases}"), cases="; ".join(rule.exempt)))
    return "; ".join(parts) or tr(N_("by the dossier"))


def procedure_line(p: Procedure) -> dict[str, Any]:
    """One row of the catalogue table."""
    return {
        "code": p.code,
        "name": p.name,
        "field": words.field_label(p.field),
        "processing_time": words.processing_time(p.processing_time, p.processing_unit),
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
