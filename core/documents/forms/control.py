"""Form 06 — Phiếu kiểm soát quá trình giải quyết hồ sơ: one row per hand-over."""

from __future__ import annotations

from .formatting import vn_moment
from .layout import FormPdf
from .model import ControlSlip, HandOver, StepResult

RESULT_TEXT = {
    StepResult.EARLY: "Trước hạn",
    StepResult.ON_TIME: "Đúng hạn",
    StepResult.LATE: "Quá hạn",
    StepResult.PENDING: "",
}


def draw_control(form: ControlSlip) -> FormPdf:
    pdf = FormPdf(margin=14.0, base=11.0)
    pdf.national_header(form.unit, form.number, form.issued_at)
    pdf.form_title(
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        f"Kèm theo hồ sơ của: {form.applicant.name} — Mã hồ sơ: {form.dossier_code}",
    )
    pdf.field("Nội dung yêu cầu giải quyết", form.request)
    pdf.field("Ngày, giờ nhận", vn_moment(form.received_at))
    pdf.field("Ngày, giờ hẹn trả", vn_moment(form.due_at))
    if form.deadline_at is not None and form.deadline_at != form.due_at:
        pdf.field("Hạn giải quyết (đánh giá từng bước)", vn_moment(form.deadline_at))
    pdf.field("Cơ quan (bộ phận) giải quyết hồ sơ", form.handling_agency)
    pdf.field("Cơ quan phối hợp giải quyết hồ sơ", form.coordinating_agencies or "—")
    pdf.gap(0.5)
    pdf.grid(
        [
            "TÊN CƠ QUAN",
            "THỜI GIAN GIAO, NHẬN HỒ SƠ",
            "NGƯỜI GIAO",
            "NGƯỜI NHẬN",
            "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/ đúng hạn/ quá hạn)",
            "GHI CHÚ",
        ],
        [_row(number, row) for number, row in enumerate(form.rows, start=1)],
        widths=(42, 30, 24, 24, 25, 23),
        align=("L", "C", "C", "C", "C", "L"),
        scale=0.85,
    )
    return pdf


def _row(number: int, row: HandOver) -> list[str]:
    return [
        f"{number}. Giao: {row.giver_unit}\nNhận: {row.receiver_unit}",
        vn_moment(row.at).replace(", ngày", "\nngày"),
        row.giver,
        row.receiver,
        RESULT_TEXT[row.result],
        row.note,
    ]
