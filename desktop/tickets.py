"""What the counter's printers print besides the national forms: the receipt ticket (the
ESC/POS variant of slip 01, with the same lookup QR) and the test pages of Settings.

Printed papers are in Vietnamese whatever the interface language, as the forms are.
"""

from __future__ import annotations

from datetime import datetime

from core.domain.dossier import DossierView
from core.domain.lookup import SlipLookup
from core.domain.timeutil import parse_moment, to_vietnam
from core.ports.printer import Ticket, TicketLine

TRIAL_QR = "MC1|TEST|TEST"


def receipt_ticket(view: DossierView, unit_name: str, hotline: str = "") -> Ticket:
    """Slip 01 in brief, for an 80 mm or 58 mm receipt printer."""
    applicant = str(view.applicant.get("full_name", ""))
    lines = (
        TicketLine(unit_name.upper(), bold=True, size=22, align="center"),
        TicketLine("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", bold=True, size=22, align="center"),
        TicketLine(f"Mã hồ sơ: {view.code}", bold=True, size=26),
        TicketLine(f"Người nộp: {applicant}"),
        TicketLine(f"Thủ tục: {view.procedure_name}"),
        TicketLine(f"Ngày nhận: {_moment(view.received_at)}"),
        TicketLine(f"Hẹn trả kết quả: {_moment(view.due_at)}", bold=True),
        TicketLine(f"Mã tra cứu: {view.lookup_token}"),
    )
    footer = [TicketLine("Quét mã QR để tra cứu tình trạng hồ sơ", size=20, align="center")]
    if hotline:
        footer.append(TicketLine(f"Đường dây nóng: {hotline}", size=20, align="center"))
    payload = SlipLookup(view.code, view.lookup_token).payload()
    return Ticket(lines=lines, qr=payload, footer=tuple(footer))


def trial_ticket(unit_name: str, when: datetime) -> Ticket:
    lines = (
        TicketLine(unit_name.upper(), bold=True, size=22, align="center"),
        TicketLine("MỘT CỬA — IN THỬ", bold=True, size=26, align="center"),
        TicketLine(f"Lúc {to_vietnam(when):%H:%M %d/%m/%Y}", align="center"),
        TicketLine("Chữ tiếng Việt: ăâđêôơư ẮẰẲẴẶ", align="center"),
    )
    return Ticket(lines=lines, qr=TRIAL_QR)


def trial_page_pdf(unit_name: str, when: datetime) -> bytes:
    """An A5 page for the office printer: the unit, the moment, Vietnamese letters, a QR."""
    from core.documents.forms.layout import FormPdf

    pdf = FormPdf(page="A5", base=11.0, margin=12.0)
    pdf.centered(unit_name.upper(), "B")
    pdf.gap(1)
    pdf.centered("MỘT CỬA — TRANG IN THỬ", "B", 1.4)
    pdf.centered(f"Lúc {to_vietnam(when):%H:%M ngày %d/%m/%Y}", "I")
    pdf.gap(1)
    pdf.centered("Chữ tiếng Việt: ăâđêôơư ẮẰẲẴẶ ỨỪỬỮỰ", "")
    pdf.qr(TRIAL_QR, (pdf.w - 30) / 2, pdf.get_y() + 4, 30)
    return bytes(pdf.output())


def _moment(value: str) -> str:
    return f"{to_vietnam(parse_moment(value)):%H:%M %d/%m/%Y}" if value else ""
