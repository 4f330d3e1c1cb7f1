"""The national one-stop forms as PDF/A-2b with an embedded Unicode font.

``render_form(form_no, data)`` is the one entry point: ``form_no`` is "01" to "07" and
``data`` the matching input record from :mod:`.model`; ``book_xlsx`` gives the tracking
book (07) as a spreadsheet. Numbering: Circular 03/2025/TT-VPCP Annex I (docs/forms.md).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pikepdf

from core.domain.errors import N_, ValidationError

from ..pdfa import DocumentInfo, finish_pdfa
from .book import book_numbers, book_xlsx, draw_book
from .control import draw_control
from .layout import FormPdf
from .model import (
    Apology,
    Applicant,
    BookEntry,
    ComponentRow,
    ControlSlip,
    FeeRow,
    FormData,
    HandOver,
    ReceiptSlip,
    Refusal,
    ReturnMethod,
    StepResult,
    StopNotice,
    SupplementRequest,
    TrackingBook,
    Unit,
)
from .notices import draw_apology, draw_refusal, draw_stop, draw_supplement
from .receipt import draw_receipt

__all__ = [
    "FORMS",
    "Apology",
    "Applicant",
    "BookEntry",
    "ComponentRow",
    "ControlSlip",
    "FeeRow",
    "FormData",
    "HandOver",
    "ReceiptSlip",
    "Refusal",
    "ReturnMethod",
    "StepResult",
    "StopNotice",
    "SupplementRequest",
    "TrackingBook",
    "Unit",
    "book_numbers",
    "book_xlsx",
    "render_form",
]

# form number → (input type, drawing function, document title)
FORMS: dict[str, tuple[type[Any], Callable[[Any], FormPdf], str]] = {
    "01": (ReceiptSlip, draw_receipt, "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
    "02": (SupplementRequest, draw_supplement, "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
    "03": (Refusal, draw_refusal, "Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
    "04": (Apology, draw_apology, "Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
    "05": (StopNotice, draw_stop, "Thông báo về việc dừng xử lý hồ sơ"),
    "06": (ControlSlip, draw_control, "Phiếu kiểm soát quá trình giải quyết hồ sơ"),
    "07": (TrackingBook, draw_book, "Sổ theo dõi hồ sơ"),
}


def render_form(form_no: str, data: FormData) -> bytes:
    """The form as PDF/A-2b bytes; refuses an unknown number or mismatched data."""
    entry = FORMS.get(form_no.zfill(2))
    if entry is None:
        raise ValidationError(
            N_("Unknown form {form}; choose 01, 02, 03, 04, 05, 06 or 07"), form=form_no
        )
    kind, draw, title = entry
    if not isinstance(data, kind):
        raise ValidationError(
            N_("Form {form} needs {expected}, not {actual}"),
            form=form_no,
            expected=kind.__name__,
            actual=type(data).__name__,
        )
    raw = bytes(draw(data).output())
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        return finish_pdfa(pdf, DocumentInfo(title=f"{title} — {data.dossier_code}"))
