"""Realistic form inputs shared by the document tests and the benchmark."""

from __future__ import annotations

from datetime import datetime

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from core.documents.fonts import font_file
from core.documents.forms import (
    Apology,
    Applicant,
    ComponentRow,
    ControlSlip,
    HandOver,
    ReceiptSlip,
    Refusal,
    ReturnMethod,
    StepResult,
    SupplementRequest,
    Unit,
)
from core.domain.lookup import SlipLookup
from core.domain.timeutil import VIETNAM

UNIT = Unit(
    name="Trung tâm Phục vụ hành chính công xã Tân Lập",
    parent="UBND tỉnh Thái Nguyên",
    place="Tân Lập",
)
APPLICANT = Applicant(
    name="Nguyễn Thị Ánh Tuyết",
    address="Số 12, ngõ 34 đường Hoàng Văn Thụ, phường Phan Đình Phùng, tỉnh Thái Nguyên",
    phone="0912 345 678",
    email="anhtuyet@example.vn",
)
CODE = "000.00.21.H56-270203-0007"
LOOKUP = SlipLookup(code=CODE, token="K7WQ2M9P")
RECEIVED = datetime(2027, 2, 3, 9, 0, tzinfo=VIETNAM)
DUE = datetime(2027, 2, 15, 9, 0, tzinfo=VIETNAM)
REQUEST = "Cấp bản sao trích lục khai sinh và xác nhận thông tin hộ tịch"
COMPONENTS = (
    ComponentRow("Tờ khai đề nghị cấp bản sao trích lục hộ tịch (mẫu TK-01)", originals=1),
    ComponentRow("Giấy khai sinh", certified_copies=1, note="Đối chiếu bản chính"),
    ComponentRow("Căn cước của người yêu cầu", copies=1),
    ComponentRow("Văn bản ủy quyền (nếu có)", originals=1, copies=2, note="Có chứng thực chữ ký"),
)


def receipt(**changes: object) -> ReceiptSlip:
    base = {
        "unit": UNIT,
        "dossier_code": CODE,
        "applicant": APPLICANT,
        "request": REQUEST,
        "components": COMPONENTS,
        "sets": 1,
        "processing_time": "03 ngày làm việc",
        "received_at": RECEIVED,
        "due_at": DUE,
        "officer": "Trần Văn Đức",
        "qr_payload": LOOKUP.payload(),
        "return_method": ReturnMethod.COUNTER,
        "tracking_book": "02/2027",
        "tracking_number": "0007",
        "hotline": "1900 1234",
        "fee_vnd": 50000,
    }
    base.update(changes)
    return ReceiptSlip(**base)  # type: ignore[arg-type]


def supplement() -> SupplementRequest:
    return SupplementRequest(
        unit=UNIT,
        dossier_code=CODE,
        applicant=APPLICANT,
        request=REQUEST,
        missing=(ComponentRow("Giấy khai sinh", certified_copies=1, note="Bản sao chưa rõ nét"),),
        reasons=("Bản sao giấy khai sinh bị mờ, không đọc được ngày đăng ký.",),
        officer="Trần Văn Đức",
        contact_officer="ông Trần Văn Đức",
        contact_phone="0208 3856 123",
        issued_at=RECEIVED,
    )


def refusal() -> Refusal:
    return Refusal(
        unit=UNIT,
        applicant=APPLICANT,
        request=REQUEST,
        reasons=(
            "Yêu cầu không thuộc thẩm quyền giải quyết của Ủy ban nhân dân xã.",
            "Người yêu cầu đề nghị liên hệ Sở Tư pháp tỉnh Thái Nguyên.",
        ),
        officer="Trần Văn Đức",
        issued_at=RECEIVED,
    )


def apology() -> Apology:
    return Apology(
        unit=UNIT,
        dossier_code=CODE,
        applicant=APPLICANT,
        request=REQUEST,
        received_at=RECEIVED,
        due_at=DUE,
        new_due_at=datetime(2027, 2, 18, 14, 30, tzinfo=VIETNAM),
        reasons=("Cần xác minh thêm thông tin tại Ủy ban nhân dân xã nơi đăng ký khai sinh.",),
        signer="Lê Thị Hồng Nhung",
        issued_at=datetime(2027, 2, 12, 10, 0, tzinfo=VIETNAM),
    )


def control() -> ControlSlip:
    at = [datetime(2027, 2, d, h, m, tzinfo=VIETNAM) for d, h, m in ((3, 9, 5), (11, 16, 20))]
    return ControlSlip(
        unit=UNIT,
        dossier_code=CODE,
        applicant=APPLICANT,
        request=REQUEST,
        received_at=RECEIVED,
        due_at=DUE,
        handling_agency="Công chức Tư pháp - Hộ tịch xã Tân Lập",
        rows=(
            HandOver(
                "Bộ phận tiếp nhận và trả kết quả",
                "Công chức Tư pháp - Hộ tịch",
                at[0],
                "Trần Văn Đức",
                "Phạm Quốc Hưng",
                StepResult.ON_TIME,
            ),
            HandOver(
                "Công chức Tư pháp - Hộ tịch",
                "Lãnh đạo UBND xã",
                at[1],
                "Phạm Quốc Hưng",
                "Lê Thị Hồng Nhung",
                StepResult.EARLY,
                "Trình ký",
            ),
        ),
    )


SAMPLES = {"01": receipt, "02": supplement, "03": refusal, "04": apology, "06": control}


def real_gray_page(lines: int = 14, dpi: int = 300) -> Image.Image:
    """An A4 gray scan with real tones: Vietnamese text in dark ink on off-white paper,
    a gray photo, a half-tone stamp, and sensor noise (σ 5 levels) over everything.

    Not black-on-white, so it is never stored as G4; the noise is what makes JPEG large.
    """
    width, height = round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)
    page = Image.new("L", (width, height), 232)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(font_file()), dpi // 7)
    words = GRAY_PAGE_WORDS
    for row in range(lines):
        line = " ".join(words[(row * 5 + i) % len(words)] for i in range(8))
        draw.text((dpi, dpi + row * dpi // 4), line, font=font, fill=40)
    top = dpi + lines * dpi // 4 + dpi // 3
    photo = Image.linear_gradient("L").resize((dpi * 3, dpi * 2)).filter(ImageFilter.BLUR)
    page.paste(photo, (dpi, top))
    draw.ellipse((dpi * 5, top, dpi * 7, top + dpi * 2), outline=110, width=dpi // 20)
    draw.text((dpi * 5 + dpi // 3, top + dpi), "ĐÃ KÝ", font=font, fill=110)
    return ImageChops.add(page, Image.effect_noise((width, height), 5), 1.0, -128)


GRAY_PAGE_TEXT = (
    "Cộng hòa xã hội chủ nghĩa Việt Nam Đơn đề nghị cấp giấy khai sinh "
    "Nguyễn Thị Ánh Tuyết Ủy ban nhân dân xã Tân Lập tỉnh Thái Nguyên"
)
GRAY_PAGE_WORDS = tuple(GRAY_PAGE_TEXT.split(" "))
