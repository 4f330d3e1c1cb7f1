"""National forms: PDF/A, embedded Unicode font, Vietnamese text, the slip's QR."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pikepdf
import pytest
import zxingcpp
from PIL import Image

from core.documents.forms import render_form
from core.documents.forms.formatting import date_line, vn_date, vn_moment, vnd
from core.documents.pdfa import pdfa_status
from core.domain.errors import ValidationError
from core.domain.lookup import parse_slip_payload

from .samples import CODE, LOOKUP, RECEIVED, SAMPLES, refusal

TITLES = {
    "01": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "02": "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    "03": "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    "04": "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
    "06": "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
}


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return " ".join(done.stdout.decode().split())


@pytest.mark.parametrize("form_no", sorted(SAMPLES))
def test_each_form_is_pdfa_with_embedded_font_and_vietnamese_text(
    form_no: str, tmp_path: Path
) -> None:
    """GIVEN the sample input of a form
    WHEN it is rendered
    THEN the PDF declares PDF/A-2b, fits one page, embeds its fonts,
    and its text holds the national motto and the form title with their diacritics."""
    pdf = render_form(form_no, SAMPLES[form_no]())
    assert pdfa_status(pdf) == "2B"
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 1
        fonts = doc.pages[0].Resources.Font
        for name in fonts.keys():  # noqa: SIM118 - pikepdf dictionaries iterate keys()
            descriptor = fonts[name].DescendantFonts[0].FontDescriptor
            assert "/FontFile2" in descriptor
    text = text_of(pdf, tmp_path)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert TITLES[form_no] in text
    assert "Nguyễn Thị Ánh Tuyết" in text


def test_receipt_is_a5_with_its_facts_and_a_readable_lookup_qr(tmp_path: Path) -> None:
    """GIVEN a receipt slip for dossier CODE received 03/02/2027 09:00, due 15/02/2027
    WHEN rendered and rasterised at 150 dpi
    THEN the page is A5, shows the dates, fee and counts Vietnamese style, and its QR
    decodes with zxing-cpp to the dossier's lookup payload."""
    pdf = render_form("01", SAMPLES["01"]())
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        width, height = (round(float(v) / 72 * 25.4) for v in doc.pages[0].mediabox[2:])
    assert (width, height) == (148, 210)
    text = text_of(pdf, tmp_path)
    assert "09 giờ 00 phút, ngày 03/02/2027" in text
    assert "09 giờ 00 phút, ngày 15/02/2027" in text
    assert "50.000 đ" in text
    (tmp_path / "slip.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            str(tmp_path / "slip.pdf"),
            str(tmp_path / "slip"),
        ],
        check=True,
    )
    (found,) = zxingcpp.read_barcodes(Image.open(tmp_path / "slip.png"))
    assert found.text == LOOKUP.payload()
    assert parse_slip_payload(found.text).code == CODE


def test_wrong_form_number_or_input_is_refused() -> None:
    """GIVEN form 08 (no such form) and form 01 given a refusal
    WHEN rendering
    THEN both are refused with a ValidationError."""
    with pytest.raises(ValidationError, match="Unknown form 08"):
        render_form("08", refusal())
    with pytest.raises(ValidationError, match="Form 01 needs ReceiptSlip, not Refusal"):
        render_form("01", refusal())


def test_vietnamese_formats() -> None:
    """GIVEN amounts and moments
    WHEN formatted for a form
    THEN money groups thousands with dots and ends in đ, dates are dd/mm/yyyy, 24-hour."""
    assert vnd(50000) == "50.000 đ"
    assert vnd(1250000) == "1.250.000 đ"
    assert vnd(0) == "0 đ"
    assert vn_date(RECEIVED) == "03/02/2027"
    assert vn_moment(RECEIVED.replace(hour=14, minute=5)) == "14 giờ 05 phút, ngày 03/02/2027"
    assert date_line("Tân Lập", RECEIVED) == "Tân Lập, ngày 03 tháng 02 năm 2027"
