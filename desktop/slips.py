"""The national forms for a dossier: receipt slip (01), supplement guidance (02), control
slip (06), rendered by ``core.documents`` and kept as PDF files (beside a plain store; for
the session only when the store is encrypted: ``core.services.printouts``).

Rendering runs on a worker; printing goes to the configured printer, and when there is
none the PDF file is what the clerk gets (never a silent fake printer).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.domain.catalogue import Procedure
from core.domain.dossier import DossierView
from core.domain.timeutil import parse_moment
from core.services import printouts
from core.services.branch import Branch

from . import labels

if TYPE_CHECKING:
    from core.documents.forms import Applicant, Unit


def _unit(branch: Branch, parent: str = "") -> Unit:
    from core.documents import forms  # loads the PDF stack: only when printing

    return forms.Unit(name=branch.branch_name, parent=parent)


def receipt_pdf(branch: Branch, view: DossierView, hotline: str = "") -> bytes:
    from core.documents import forms
    from core.services.slips import slip_qr  # loads the forms: only when printing

    procedure = branch.procedures().get(view.procedure_code)
    rows = tuple(
        forms.ComponentRow(
            name=c["name"],
            originals=c.get("originals", 0),
            certified_copies=c.get("certified_copies", 0),
            copies=c.get("copies", 0),
        )
        for c in view.components
        if c.get("supplied")
    )
    time_text = (
        labels.processing_time(procedure.processing_time, procedure.processing_unit)
        if procedure
        else ""
    )
    slip = forms.ReceiptSlip(
        unit=_unit(branch),
        dossier_code=view.code,
        applicant=_applicant(view),
        request=view.procedure_name,
        components=rows,
        sets=procedure.sets if procedure else 1,
        processing_time=time_text,
        received_at=parse_moment(view.received_at),
        due_at=parse_moment(view.due_at),
        officer=view.received_by,
        qr_payload=slip_qr(view, branch.slips.settings()),
        return_method=forms.ReturnMethod(view.return_method),
        postal_address=view.postal_address,
        hotline=hotline,
        fee_vnd=view.fees_vnd or None,
    )
    return bytes(forms.render_form("01", slip))


def guidance_pdf(
    branch: Branch,
    procedure: Procedure,
    applicant: dict[str, str],
    missing: list[str],
    officer: str,
    at: datetime,
) -> bytes:
    from core.documents import forms

    wanted = {c.name: c for c in procedure.components}
    rows = tuple(
        forms.ComponentRow(
            name=name,
            originals=wanted[name].originals if name in wanted else 0,
            certified_copies=wanted[name].certified_copies if name in wanted else 0,
            copies=wanted[name].copies if name in wanted else 0,
        )
        for name in missing
    )
    request = forms.SupplementRequest(
        unit=_unit(branch),
        dossier_code="",
        applicant=forms.Applicant(
            name=applicant.get("full_name", ""),
            address=applicant.get("address", ""),
            phone=applicant.get("phone", ""),
            email=applicant.get("email", ""),
        ),
        request=procedure.name,
        missing=rows,
        reasons=("Thiếu thành phần hồ sơ bắt buộc",),
        officer=officer,
        contact_officer=officer,
        contact_phone="",
        issued_at=at,
    )
    return bytes(forms.render_form("02", request))


def _applicant(view: DossierView) -> Applicant:
    from core.documents import forms

    a = view.applicant
    return forms.Applicant(
        name=a.get("full_name", ""),
        address=a.get("address", ""),
        phone=a.get("phone", ""),
        email=a.get("email", ""),
    )


def save(data_dir: Path, name: str, pdf: bytes) -> Path:
    """The form kept as a file: beside a plain store, in the session folder of an
    encrypted one (``core.services.printouts``)."""
    return printouts.save(data_dir, name, pdf)
