"""What each national form needs, as plain values (the dossier side fills them in).

Numbering of Circular 03/2025/TT-VPCP Annex I (01–04 as in Circular 01/2018/TT-VPCP;
docs/forms.md): 01 receipt and appointment slip, 02 supplement request, 03 refusal, 04
apology and new appointment, 05 notice of stopped processing, 06 processing control slip,
07 dossier tracking book. Moments are aware datetimes (shown in Vietnam time); amounts are
whole đồng.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Unit:
    """The issuing unit as printed at the top-left of a form."""

    name: str  # e.g. "Trung tâm Phục vụ hành chính công xã Tân Lập"
    parent: str = ""  # e.g. "UBND tỉnh Thái Nguyên"
    place: str = ""  # place name on the date line: "Tân Lập, ngày … tháng … năm …"
    department: str = "Bộ phận tiếp nhận và trả kết quả"


@dataclass(frozen=True)
class Applicant:
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class ComponentRow:
    """A paper in the dossier and how many of each form were handed in (or are missing)."""

    name: str
    originals: int = 0
    certified_copies: int = 0
    copies: int = 0
    note: str = ""


class ReturnMethod(StrEnum):
    COUNTER = "counter"
    POSTAL = "postal"


@dataclass(frozen=True)
class FeeRow:
    """A fee as charged at receipt, with how it was computed."""

    name: str
    amount_vnd: int
    detail: str = ""


@dataclass(frozen=True)
class ReceiptSlip:
    """Form 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả (A5, with the lookup QR)."""

    unit: Unit
    dossier_code: str
    applicant: Applicant
    request: str  # the procedure's name: "nội dung yêu cầu giải quyết"
    components: tuple[ComponentRow, ...]
    sets: int
    processing_time: str  # as the procedure states it: "05 ngày làm việc"
    received_at: datetime
    due_at: datetime
    officer: str
    qr_payload: str  # SlipLookup(...).payload(), or the lookup page's link (slips.slip_qr)
    return_method: ReturnMethod = ReturnMethod.COUNTER
    postal_address: str = ""
    tracking_book: str = ""  # "Quyển số"
    tracking_number: str = ""  # "Số thứ tự" in the tracking book
    hotline: str = ""
    fee_vnd: int | None = None
    fees: tuple[FeeRow, ...] = ()  # the lines of ``fee_vnd``, when the receipt kept them
    national_code: str = ""  # mã TTHC


@dataclass(frozen=True)
class SupplementRequest:
    """Form 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ."""

    unit: Unit
    dossier_code: str
    applicant: Applicant
    request: str
    missing: tuple[ComponentRow, ...]
    reasons: tuple[str, ...]
    officer: str  # the guiding officer who signs
    contact_officer: str
    contact_phone: str
    issued_at: datetime
    number: str = ""  # "Số:" of the form


@dataclass(frozen=True)
class Refusal:
    """Form 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ."""

    unit: Unit
    applicant: Applicant
    request: str
    reasons: tuple[str, ...]
    officer: str
    issued_at: datetime
    dossier_code: str = ""
    number: str = ""


@dataclass(frozen=True)
class Apology:
    """Form 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả (from the agency at fault)."""

    unit: Unit
    dossier_code: str
    applicant: Applicant
    request: str
    received_at: datetime
    due_at: datetime
    new_due_at: datetime
    reasons: tuple[str, ...]
    signer: str  # head of the agency
    signer_title: str = "THỦ TRƯỞNG CƠ QUAN"
    issued_at: datetime | None = None
    number: str = ""


class StepResult(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    PENDING = ""


@dataclass(frozen=True)
class HandOver:
    """One row of form 06: a hand-over of the dossier between two steps."""

    giver_unit: str
    receiver_unit: str
    at: datetime
    giver: str = ""
    receiver: str = ""
    result: StepResult = StepResult.PENDING
    note: str = ""


@dataclass(frozen=True)
class ControlSlip:
    """Form 06: Phiếu kiểm soát quá trình giải quyết hồ sơ."""

    unit: Unit
    dossier_code: str
    applicant: Applicant
    request: str
    received_at: datetime
    due_at: datetime
    handling_agency: str
    rows: tuple[HandOver, ...]
    coordinating_agencies: str = ""
    number: str = ""
    issued_at: datetime | None = None
    deadline_at: datetime | None = None  # the appointment steps are judged on


@dataclass(frozen=True)
class StopNotice:
    """Form 05: Thông báo về việc dừng xử lý hồ sơ."""

    unit: Unit
    dossier_code: str
    applicant: Applicant
    request: str
    received_at: datetime
    reasons: tuple[str, ...]
    signer: str
    issued_at: datetime
    withdrawn_at: datetime | None = None  # at the citizen's request (status 7)
    number: str = ""
    national_code: str = ""
    signer_title: str = "THỦ TRƯỞNG CƠ QUAN"


@dataclass(frozen=True)
class BookEntry:
    """One dossier in the tracking book (form 07)."""

    book: str
    sequence: str
    dossier_code: str
    procedure: str
    sets: int
    applicant: str
    address: str
    phone: str
    agency: str
    received_at: datetime
    due_at: datetime
    transferred_at: datetime | None = None
    result_at: datetime | None = None
    returned_at: datetime | None = None
    note: str = ""
    national_code: str = ""


@dataclass(frozen=True)
class TrackingBook:
    """Form 07: Sổ theo dõi hồ sơ, the entries received in a period."""

    unit: Unit
    period_from: datetime
    period_to: datetime
    entries: tuple[BookEntry, ...]
    issued_at: datetime
    dossier_code: str = ""  # (the book is not one dossier's; kept for the PDF title)


FormData = (
    ReceiptSlip | SupplementRequest | Refusal | Apology | StopNotice | ControlSlip | TrackingBook
)
