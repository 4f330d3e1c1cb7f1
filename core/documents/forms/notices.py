"""Forms 02 (supplement request), 03 (refusal) and 04 (apology, new appointment), A4."""

from __future__ import annotations

from .formatting import vn_date, vn_moment
from .layout import FormPdf
from .model import Apology, Refusal, StopNotice, SupplementRequest
from .receipt import component_table


def draw_supplement(form: SupplementRequest) -> FormPdf:
    pdf = FormPdf()
    pdf.national_header(form.unit, form.number or form.dossier_code, form.issued_at)
    pdf.form_title("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", f"Mã hồ sơ: {form.dossier_code}")
    _applicant(pdf, form.applicant.name, form, label="Hồ sơ của")
    pdf.text_block("Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:", "B")
    component_table(pdf, form.missing)
    _reasons(pdf, "Lý do", form.reasons)
    pdf.text_block(
        "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ với "
        f"{form.contact_officer}, số điện thoại {form.contact_phone} để được hướng dẫn."
    )
    pdf.gap()
    pdf.signatures([("", "", ""), ("NGƯỜI HƯỚNG DẪN", "(Ký và ghi rõ họ tên)", form.officer)])
    return pdf


def draw_refusal(form: Refusal) -> FormPdf:
    pdf = FormPdf()
    pdf.national_header(form.unit, form.number or form.dossier_code, form.issued_at)
    pdf.form_title("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ")
    pdf.field(f"{form.unit.department} {form.unit.name} tiếp nhận hồ sơ của", form.applicant.name)
    _applicant(pdf, "", form)
    pdf.text_block(
        f"Qua xem xét, {form.unit.department} thông báo không tiếp nhận, giải quyết hồ sơ "
        "này với lý do cụ thể như sau:"
    )
    _reasons(pdf, "", form.reasons)
    pdf.text_block("Xin thông báo cho Ông/Bà được biết và thực hiện./.")
    pdf.gap()
    pdf.signatures([("", "", ""), ("NGƯỜI TIẾP NHẬN HỒ SƠ", "(Ký và ghi rõ họ tên)", form.officer)])
    return pdf


def draw_apology(form: Apology) -> FormPdf:
    pdf = FormPdf()
    pdf.national_header(form.unit, form.number, form.issued_at or form.new_due_at)
    pdf.form_title("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ")
    pdf.field(f"{form.unit.name} xin gửi lời xin lỗi tới Ông/Bà", form.applicant.name)
    pdf.text_block(
        f"Ngày {form.received_at.strftime('%d/%m/%Y')}, {form.unit.name} tiếp nhận giải quyết "
        f"hồ sơ của Ông/Bà, mã hồ sơ {form.dossier_code}."
    )
    pdf.field("Nội dung yêu cầu giải quyết", form.request)
    pdf.field("Thời hẹn trả kết quả giải quyết hồ sơ", vn_moment(form.due_at))
    pdf.text_block(
        f"Tuy nhiên đến nay, {form.unit.name} chưa trả kết quả giải quyết hồ sơ cho Ông/Bà."
    )
    _reasons(pdf, "Lý do", form.reasons)
    pdf.text_block(
        "Sự chậm trễ này đã gây phiền hà, tốn kém chi phí, công sức của Ông/Bà. "
        f"{form.unit.name} xin gửi lời xin lỗi tới Ông/Bà và hẹn lại thời gian trả kết quả "
        "giải quyết hồ sơ vào:"
    )
    pdf.text_block(vn_moment(form.new_due_at), "B", align="C")
    pdf.text_block("Chúng tôi rất mong nhận được sự thông cảm của Ông/Bà./.")
    pdf.gap()
    pdf.signatures(
        [("", "", ""), (form.signer_title, "(Ký, ghi rõ họ tên, đóng dấu)", form.signer)]
    )
    return pdf


def draw_stop(form: StopNotice) -> FormPdf:
    """Form 05: the agency tells the citizen it stopped processing the dossier."""
    pdf = FormPdf()
    pdf.national_header(form.unit, form.number, form.issued_at)
    pdf.form_title("THÔNG BÁO", "Về việc dừng xử lý hồ sơ")
    pdf.field("Kính gửi", form.applicant.name)
    pdf.text_block(
        f"Ngày {vn_date(form.received_at)}, {form.unit.name} tiếp nhận hồ sơ của Ông/Bà, "
        f"mã hồ sơ {form.dossier_code}."
    )
    pdf.field("Nội dung yêu cầu giải quyết", form.request)
    if form.national_code:
        pdf.field("Mã thủ tục hành chính", form.national_code)
    if form.withdrawn_at is not None:
        pdf.text_block(
            f"Theo đề nghị rút hồ sơ của Ông/Bà ngày {vn_date(form.withdrawn_at)}, "
            f"{form.unit.name} thông báo dừng xử lý hồ sơ nêu trên."
        )
    else:
        pdf.text_block(f"{form.unit.name} thông báo dừng xử lý hồ sơ nêu trên.")
    _reasons(pdf, "Lý do", form.reasons)
    pdf.text_block(
        f"Hồ sơ (nếu còn) được trả lại cho Ông/Bà tại {form.unit.department}, {form.unit.name}."
    )
    pdf.text_block("Xin thông báo để Ông/Bà được biết./.")
    pdf.gap()
    pdf.signatures(
        [("", "", ""), (form.signer_title, "(Ký, ghi rõ họ tên, đóng dấu)", form.signer)]
    )
    return pdf


def _applicant(pdf: FormPdf, name: str, form: SupplementRequest | Refusal, label: str = "") -> None:
    if label:
        pdf.field(label, name)
    pdf.field("Nội dung yêu cầu giải quyết", form.request)
    pdf.field("Địa chỉ", form.applicant.address)
    pdf.field("Số điện thoại", form.applicant.phone or "—")
    pdf.field("Email", form.applicant.email or "—")
    pdf.gap(0.3)


def _reasons(pdf: FormPdf, label: str, reasons: tuple[str, ...]) -> None:
    if label:
        pdf.text_block(f"{label}:", "B")
    for number, reason in enumerate(reasons, start=1):
        pdf.text_block(f"{number}. {reason}")
    pdf.gap(0.3)
