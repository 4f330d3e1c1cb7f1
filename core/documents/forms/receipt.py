"""Form 01 — Giấy tiếp nhận hồ sơ và hẹn trả kết quả (A5, QR for the citizen's lookup)."""

from __future__ import annotations

from .formatting import count, vn_moment, vnd
from .layout import FormPdf
from .model import ComponentRow, ReceiptSlip, ReturnMethod

QR_SIZE = 24.0  # mm: reads from 30 cm with a kiosk camera


def draw_receipt(slip: ReceiptSlip) -> FormPdf:
    pdf = FormPdf(page="A5", base=9.0, margin=10.0, leading=1.38)
    number = "/".join(filter(None, (slip.tracking_number, slip.tracking_book)))
    pdf.national_header(slip.unit, number, slip.received_at)
    pdf.form_title("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", f"Mã hồ sơ: {slip.dossier_code}")
    _applicant_beside_qr(pdf, slip)
    pdf.text_block("1. Thành phần hồ sơ nộp gồm:", "B")
    component_table(pdf, slip.components)
    pdf.field("2. Số lượng hồ sơ", f"{slip.sets:02d} (bộ)")
    pdf.field("3. Thời gian giải quyết hồ sơ theo quy định", slip.processing_time)
    pdf.field("4. Thời gian nhận hồ sơ", vn_moment(slip.received_at))
    pdf.field("5. Thời gian trả kết quả giải quyết hồ sơ", vn_moment(slip.due_at))
    pdf.field("6. Đăng ký nhận kết quả tại", _where(slip))
    if slip.fee_vnd is not None:
        pdf.field("7. Phí, lệ phí", vnd(slip.fee_vnd))
        for fee in slip.fees:
            detail = f" ({fee.detail})" if fee.detail else ""
            pdf.text_block(f"- {fee.name}: {vnd(fee.amount_vnd)}{detail}", scale=0.9)
    book = f"Quyển số: {slip.tracking_book or '……'}, Số thứ tự: {slip.tracking_number or '……'}"
    pdf.text_block(f"Vào Sổ theo dõi hồ sơ, {book}", "I", 0.95)
    _lookup_note(pdf, slip)
    pdf.gap(0.3)
    pdf.signatures(
        [
            ("NGƯỜI NỘP HỒ SƠ", "(Ký và ghi rõ họ tên)", slip.applicant.name),
            ("NGƯỜI TIẾP NHẬN HỒ SƠ", "(Ký và ghi rõ họ tên)", slip.officer),
        ],
        space=3.0,
    )
    return pdf


def _applicant_beside_qr(pdf: FormPdf, slip: ReceiptSlip) -> None:
    top = pdf.get_y()
    left = pdf.w - pdf.r_margin - QR_SIZE
    pdf.qr(slip.qr_payload, left, top, QR_SIZE)
    pdf.set_xy(left, top + QR_SIZE)
    pdf.font("I", 0.75)
    pdf.cell(QR_SIZE, pdf.line_h * 0.8, "Quét mã để tra cứu", align="C")
    pdf.set_xy(pdf.l_margin, top)
    narrow = pdf.content_w - QR_SIZE - 3
    unit = slip.unit
    pdf.field(unit.department, unit.name, w=narrow)
    pdf.field("Tiếp nhận hồ sơ của", slip.applicant.name, w=narrow)
    pdf.field("Địa chỉ", slip.applicant.address, w=narrow)
    pdf.field("Số điện thoại", slip.applicant.phone or "—", w=narrow)
    pdf.field("Email", slip.applicant.email or "—", w=narrow)
    pdf.set_y(max(pdf.get_y(), top + QR_SIZE + 4))
    pdf.field("Nội dung yêu cầu giải quyết", slip.request)
    if slip.national_code:
        pdf.field("Mã thủ tục hành chính", slip.national_code)


def component_table(pdf: FormPdf, rows: tuple[ComponentRow, ...]) -> None:
    pdf.grid(
        ["TT", "Tên giấy tờ", "Bản chính", "Bản sao chứng thực", "Bản sao/ chụp", "Ghi chú"],
        [
            [
                str(number),
                row.name,
                count(row.originals),
                count(row.certified_copies),
                count(row.copies),
                row.note,
            ]
            for number, row in enumerate(rows, start=1)
        ],
        widths=(7, 52, 13, 16, 13, 17),
        align=("C", "L", "C", "C", "C", "L"),
    )


def _where(slip: ReceiptSlip) -> str:
    if slip.return_method is ReturnMethod.POSTAL:
        return f"Qua dịch vụ bưu chính công ích, địa chỉ: {slip.postal_address}"
    return f"{slip.unit.department}, {slip.unit.name}"


def _lookup_note(pdf: FormPdf, slip: ReceiptSlip) -> None:
    note = "Tra cứu tình trạng hồ sơ: quét mã QR tại ki-ốt hoặc bằng điện thoại"
    if slip.qr_payload.startswith(("https://", "http://")):
        # The link fills in the code only: the page asks for the second factor.
        note += ", rồi nhập số định danh cá nhân của người nộp"
    if slip.hotline:
        note += f"; đường dây nóng {slip.hotline}"
    pdf.text_block(note + ".", "I", 0.85)
