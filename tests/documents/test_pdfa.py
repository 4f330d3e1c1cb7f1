"""Scanned pages → PDF/A-2b: conformance, page order and size, compression, blank pages."""

from __future__ import annotations

import io

import pikepdf
from PIL import Image, ImageDraw, ImageFont

from core.documents.checklist import PageIssue, PageIssueKind, check_pages
from core.documents.fonts import font_file
from core.documents.images import is_blank, to_image
from core.documents.pdfa import (
    DocumentInfo,
    content_address,
    page_images,
    pages_to_pdfa,
    pdfa_status,
)
from core.domain.catalogue import Component
from core.ports import ColorMode, PixelFormat, ScannedPage


def text_page(
    lines: list[str], dpi: int = 150, size: tuple[int, int] = (1240, 1754)
) -> Image.Image:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(font_file()), dpi // 4)
    for row, line in enumerate(lines):
        draw.text((dpi, dpi + row * dpi // 2), line, font=font, fill=0)
    return image


def page_of(image: Image.Image, number: int, mode: ColorMode, dpi: int = 150) -> ScannedPage:
    raw = image.convert("RGB" if mode is ColorMode.COLOR else "L")
    fmt = PixelFormat.RAW_RGB if raw.mode == "RGB" else PixelFormat.RAW_GRAY
    return ScannedPage(number, raw.tobytes(), fmt, dpi, mode, raw.width, raw.height)


def photo(size: tuple[int, int] = (600, 800)) -> Image.Image:
    """A smooth gradient: real gray tones, not black ink on white."""
    return Image.linear_gradient("L").resize(size)


def test_pages_become_one_pdfa_2b_in_order_with_real_sizes() -> None:
    """GIVEN three pages of different widths scanned at 150 dpi
    WHEN they are made into one PDF
    THEN it declares PDF/A-2b, keeps the order, and each page is width/dpi inches wide."""
    widths = [600, 900, 1200]
    pages = [page_of(photo((w, 800)), i + 1, ColorMode.GRAY) for i, w in enumerate(widths)]
    pdf = pages_to_pdfa(pages, DocumentInfo(title="Hồ sơ 0007", author="Trần Văn Đức"))
    assert pdfa_status(pdf) == "2B"
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        got = [round(float(p.mediabox[2])) for p in doc.pages]
        meta = doc.open_metadata()
        assert meta["dc:title"] == "Hồ sơ 0007"
        assert "/OutputIntents" in doc.Root
    assert got == [round(w / 150 * 72) for w in widths]


def test_compression_follows_the_colour_mode() -> None:
    """GIVEN a text page in gray, a photo in gray, a colour page and a line-art page
    WHEN each becomes a PDF
    THEN black-on-white text and line art are CCITT G4, gray tones JPEG 2000, colour JPEG."""
    text = text_page(["Giấy khai sinh", "Nguyễn Thị Ánh Tuyết"])
    cases = [
        (text, ColorMode.GRAY, "/CCITTFaxDecode"),
        (photo(), ColorMode.GRAY, "/JPXDecode"),
        (photo().convert("RGB"), ColorMode.COLOR, "/DCTDecode"),
        (photo(), ColorMode.LINEART, "/CCITTFaxDecode"),
    ]
    for image, mode, expected in cases:
        pdf = pages_to_pdfa([page_of(image, 1, mode)])
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            (raw,) = page_images(doc.pages[0])
            filters = raw.Filter if isinstance(raw.Filter, pikepdf.Array) else [raw.Filter]
            assert [str(f) for f in filters] == [expected], (mode, expected)


def test_blank_page_detection() -> None:
    """GIVEN a white page with dust specks and an edge shadow, and a page with two text lines
    WHEN checked for blankness
    THEN only the first is blank."""
    blank = Image.new("L", (1240, 1754), 250)
    draw = ImageDraw.Draw(blank)
    for x in range(100, 1200, 97):
        draw.point((x, x), fill=0)
    draw.rectangle((0, 0, 30, 1754), fill=40)
    written = text_page(["Đơn đề nghị", "Kính gửi: Ủy ban nhân dân xã"])
    assert is_blank(blank)
    assert not is_blank(written)
    assert not is_blank(to_image(page_of(written, 1, ColorMode.COLOR)))


def test_page_counts_against_the_checklist() -> None:
    """GIVEN a procedure with two mandatory components and one optional
    WHEN the scanned page counts miss one, exceed one, and name an unknown one
    THEN each problem is reported once, and a correct count reports nothing."""
    comps = (
        Component("form", "Tờ khai"),
        Component("birth", "Giấy khai sinh"),
        Component("proxy", "Giấy ủy quyền", mandatory=False),
    )
    issues = check_pages(comps, {"form": 3, "other": 1}, expected_pages={"form": 2})
    assert issues == [
        PageIssue(PageIssueKind.TOO_MANY, "form", 2, 3),
        PageIssue(PageIssueKind.MISSING, "birth", 1, 0),
        PageIssue(PageIssueKind.UNKNOWN, "other", 0, 1),
    ]
    assert check_pages(comps, {"form": 2, "birth": 1}, {"form": 2}) == []


def test_content_address_is_the_sha256() -> None:
    """GIVEN some bytes WHEN addressed THEN the key is their SHA-256 in hex."""
    assert content_address(b"abc").startswith("ba7816bf8f01cfea")
