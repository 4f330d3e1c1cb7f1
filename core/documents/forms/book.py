"""Form 07 — Sổ theo dõi hồ sơ (the dossier tracking book), as PDF and as a spreadsheet.

Book and sequence numbers come from the dossier code, so they are fixed at receipt by the
receiving desk alone and agree on every desk (docs/forms.md):

- the **book** (quyển số) is the year of receipt: one book a year per receiving unit;
- the **sequence** (số thứ tự) is the code's day and number, ``MMdd-NNNN``: unique in the
  year because the desk owns its block of daily numbers (``core.domain.codes``), printed
  on form 01 the moment the dossier is received, and never renumbered by a later sync.

The book lists its entries in sequence order (by day, then number).
"""

from __future__ import annotations

import io
import re
from datetime import datetime

from core.domain.timeutil import to_vietnam

from .formatting import date_line, vn_date, vn_time
from .layout import FormPdf, nfc
from .model import BookEntry, TrackingBook

_CODE_TAIL = re.compile(r"-(?P<day>\d{6})-(?P<n>\d{4})$")
HEADINGS = (
    "Số thứ tự",
    "Mã hồ sơ",
    "Tên thủ tục hành chính",
    "Số lượng hồ sơ (bộ)",
    "Tên cá nhân, tổ chức",
    "Địa chỉ, số điện thoại",
    "Cơ quan chủ trì giải quyết",
    "Nhận hồ sơ",
    "Hẹn trả kết quả",
    "Chuyển hồ sơ đến cơ quan giải quyết",
    "Nhận kết quả từ cơ quan giải quyết",
    "Trả kết quả cho cá nhân, tổ chức",
    "Ghi chú",
)


def book_numbers(code: str, received_at: datetime) -> tuple[str, str]:
    """(book, sequence) of a dossier: ("2026", "1123-0001") for ``TAYHO-261123-0001``."""
    match = _CODE_TAIL.search(code)
    year = f"{to_vietnam(received_at):%Y}"
    if match is None:  # a code from before the national form: its own text
        return year, code
    return year, f"{match['day'][2:]}-{match['n']}"


def _moment(value: datetime | None) -> str:
    return f"{vn_time(value)} {vn_date(value)}" if value is not None else ""


def entry_cells(entry: BookEntry) -> list[str]:
    procedure = entry.procedure + (f" (mã {entry.national_code})" if entry.national_code else "")
    return [
        f"{entry.sequence}/{entry.book}",
        entry.dossier_code,
        procedure,
        f"{entry.sets:02d}",
        entry.applicant,
        ", ".join(filter(None, (entry.address, entry.phone))),
        entry.agency,
        _moment(entry.received_at),
        _moment(entry.due_at),
        _moment(entry.transferred_at),
        _moment(entry.result_at),
        _moment(entry.returned_at),
        entry.note,
    ]


def draw_book(book: TrackingBook) -> FormPdf:
    pdf = FormPdf(base=9.0, margin=10.0, landscape=True)
    pdf.national_header(book.unit, "", book.issued_at)
    pdf.form_title(
        "SỔ THEO DÕI HỒ SƠ",
        f"Từ ngày {vn_date(book.period_from)} đến ngày {vn_date(book.period_to)}",
    )
    pdf.grid(
        HEADINGS,
        [entry_cells(e) for e in book.entries],
        widths=(15, 29, 30, 10, 22, 27, 21, 16, 16, 16, 16, 16, 17),
        align=("C", "L", "L", "C", "L", "L", "L", "C", "C", "C", "C", "C", "L"),
        scale=0.8,
    )
    pdf.text_block(f"Tổng số: {len(book.entries)} hồ sơ.", "I", 0.95)
    return pdf


def book_xlsx(book: TrackingBook) -> bytes:
    """The same book as an .xlsx workbook (one sheet; moments as dates Excel can sort)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "So theo doi ho so"
    unit = book.unit
    sheet.append([nfc(unit.parent.upper())] if unit.parent else [])
    sheet.append([nfc(unit.name.upper())])
    sheet.append([nfc(date_line(unit.place, book.issued_at))])
    sheet.append([nfc("SỔ THEO DÕI HỒ SƠ")])
    sheet.append([nfc(f"Từ ngày {vn_date(book.period_from)} đến ngày {vn_date(book.period_to)}")])
    sheet.append([nfc(h) for h in HEADINGS])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for entry in book.entries:
        sheet.append([nfc(text) for text in entry_cells(entry)])
    sheet["A4"].font = Font(bold=True, size=13)
    for column, width in zip(
        "ABCDEFGHIJKLM", (12, 24, 40, 8, 24, 40, 26, 16, 16, 16, 16, 16, 20), strict=True
    ):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
