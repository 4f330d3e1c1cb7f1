"""Every national form rendered from a real dossier (forms 01–07): the agency block,
"Số:", the place on the date line, the numbers of the tracking book, the fees."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.documents.forms import book_numbers
from core.domain.errors import TransitionRefused, ValidationError
from core.domain.timeutil import parse_moment
from core.services.fees import FeeService
from core.services.online import OnlineService

from .conftest import World
from .test_cli import Motcua, as_user
from .test_cli import motcua as motcua  # the fixture, shared
from .test_online_dossiers import PORTAL
from .test_slips import pdf_text

UNIT = {"parent": "UBND thành phố Hà Nội", "place": "Tây Hồ", "hotline": "1900 1234"}


@pytest.fixture
def desk(world: World) -> World:
    world.branch.slips.set_unit(
        world.users["admin"], phone="024 3823 0000", **UNIT, **{"phone.minh": "0987 654 321"}
    )
    return world


def received(world: World, procedure: str = "HT-XNHN", **kwargs: object) -> str:
    return str(world.receive(procedure, **kwargs).code)


@pytest.mark.parametrize(
    ("code", "moment", "expected"),
    [
        # the code's day and number; the book is the year of receipt
        ("TAYHO-261123-0001", "2026-11-23T09:00", ("2026", "1123-0001")),
        # a second desk owns block 1 (500…999): its numbers never meet the first's
        ("TAYHO-261123-0500", "2026-11-23T09:00", ("2026", "1123-0500")),
        # an online dossier numbered at import (31/12), received in the new year
        ("TAYHO-261231-0007", "2027-01-02T08:00", ("2027", "1231-0007")),
        # a unit code with dots, as on the national system
        ("000.00.21.H56-270203-0007", "2027-02-03T09:00", ("2027", "0203-0007")),
    ],
)
def test_book_numbers(code: str, moment: str, expected: tuple[str, str]) -> None:
    assert book_numbers(code, parse_moment(moment)) == expected


def test_every_form_has_the_agency_block_number_and_place(desk: World) -> None:
    """GIVEN the branch's parent body and place set WHEN forms 01, 02, 03, 05, 06 are
    rendered THEN each shows the parent body, "Số:" and "Tây Hồ, ngày …"."""
    world = desk
    code = received(world)
    world.act("lan", code, "transfer", details={"to": "minh"})
    world.act("minh", code, "start")
    world.act("minh", code, "request-supplement", note="Thiếu giấy tờ", at="2026-11-23T14:00")
    refused = received(world)
    world.act("lan", refused, "refuse", note="Không thuộc thẩm quyền")
    stopped = received(world)
    world.act("lan", stopped, "withdraw", note="Công dân rút hồ sơ", at="2026-11-23T10:00")
    world.act("hung", stopped, "stop", note="Rút theo đề nghị", at="2026-11-23T11:00")
    for dossier, form, number in (
        (code, "01", "Số: 1123-0001/2026"),
        (code, "02", "Số: 1123-0001/2026/PYCBS"),
        (code, "06", "Số: 1123-0001/2026/PKS"),
        (refused, "03", "Số: 1123-0002/2026/PTC"),
        (stopped, "05", "Số: 1123-0003/2026/TB-DXL"),
    ):
        text = pdf_text(world.branch.slips.render(dossier, form))
        assert "UBND THÀNH PHỐ HÀ NỘI" in text, form
        assert "CHI NHÁNH TÂY HỒ" in text, form
        assert number in text, form
        assert "Tây Hồ, ngày 23 tháng 11 năm 2026" in text, form


def test_receipt_prints_book_numbers_fees_and_national_code(desk: World) -> None:
    """GIVEN certified copies of 1 and 3 pages (2,000 + 5,000 = 7,000 đ) THEN form 01 shows
    the fee lines and the book; HT-XNHN's form 01 shows its mã TTHC."""
    world = desk
    code = received(world, "CT-BSBC", fee_pages=(1, 3))
    text = pdf_text(world.branch.slips.render(code, "01"))
    assert "7. Phí, lệ phí: 7.000 đ" in text
    assert "bản 1: 1 trang, 2.000 đ; bản 2: 3 trang, 5.000 đ" in text
    assert "Quyển số: 2026, Số thứ tự: 1123-0001" in text
    assert "đường dây nóng 1900 1234" in text
    other = pdf_text(world.branch.slips.render(received(world), "01"))
    assert "Mã thủ tục hành chính: 1.004873" in other


def test_receipt_refused_for_refused_or_never_received(desk: World) -> None:
    world = desk
    refused = received(world)
    world.act("lan", refused, "refuse", note="Không thuộc thẩm quyền")
    online = OnlineService(world.branch).import_dossiers(world.users["lan"], PORTAL)[0][0].code
    for code in (refused, online):
        with pytest.raises(TransitionRefused, match="was not received"):
            world.branch.slips.render(code, "01")


def test_supplement_lists_only_missing_mandatory_with_the_contact(desk: World) -> None:
    """GIVEN a dossier received without its mandatory ID paper (override) and with an
    optional paper missing THEN form 02 lists the ID paper only, with the specialist who
    asked and her phone."""
    world = desk
    procedure = world.branch.procedures()["HT-XNHN"]
    mandatory = [c for c in procedure.components if c.mandatory]
    optional = [c for c in procedure.components if not c.mandatory]
    code = received(
        world, components=[c.key for c in mandatory[:-1]], override_incomplete="Nộp sau"
    )
    world.act("lan", code, "transfer", details={"to": "minh"})
    world.act("minh", code, "start")
    world.act("minh", code, "request-supplement", note="Thiếu giấy tờ tùy thân")
    text = pdf_text(world.branch.slips.render(code, "02"))
    assert mandatory[-1].name[:30] in text
    form = world.branch.slips.supplement(world.branch.dossiers.get(code))
    assert [row.name for row in form.missing] == [mandatory[-1].name]
    assert all(c.name not in {row.name for row in form.missing} for c in optional)
    assert "liên hệ với minh, số điện thoại 0987 654 321" in text


def test_control_slip_rows(desk: World) -> None:
    """GIVEN received Mon 23/11 09:00 (HT-XNHN, 3 working days → deadline Fri 27/11 09:00:
    6 h Monday, Tuesday 24/11 a holiday, 8 + 8 h, then 2 h Friday) WHEN it moves on and is
    returned on 30/11 THEN form 06 has one row per hand-over with giver and receiver, the
    steps before 27/11 early, the finish on 27/11 08:00 on time, the return late, last."""
    world = desk
    code = received(world)
    world.act("lan", code, "transfer", details={"to": "minh"}, at="2026-11-23T10:00")
    world.act("minh", code, "start", at="2026-11-23T10:30")
    world.act("minh", code, "submit", at="2026-11-25T09:00")
    world.act("hung", code, "approve", at="2026-11-26T09:00")
    world.act("minh", code, "finish", at="2026-11-27T08:00")
    world.act("lan", code, "return", at="2026-11-30T08:00")
    view = world.branch.dossiers.get(code)
    rows = world.branch.slips.control_rows(view, "UBND")
    cells = [(r.giver, r.receiver, r.result.value) for r in rows]
    assert cells == [
        ("Nguyễn Văn An", "lan", "early"),  # the citizen hands the dossier in
        ("lan", "minh", "early"),  # transfer
        ("minh", "minh", "early"),  # start: minh takes it, then submits it herself
        ("minh", "hung", "early"),  # submit → the leader approves
        ("hung", "minh", "early"),  # approve → minh finishes
        ("minh", "lan", "on_time"),  # finish, 27/11 08:00 ≤ 09:00 the same day
        ("lan", "Nguyễn Văn An", "late"),  # return, last row, 30/11 > 27/11 09:00
    ]


def test_tracking_book_pdf_and_xlsx(desk: World) -> None:
    """GIVEN three dossiers received and one refused in November THEN the book lists the
    three in sequence order, as PDF and as a workbook."""
    world = desk
    codes = [received(world) for _ in range(3)]
    world.act("lan", received(world), "refuse", note="Không thuộc thẩm quyền")
    start, end = parse_moment("2026-11-01T00:00"), parse_moment("2026-11-30T23:59:59")
    book = world.branch.slips.book(start, end)
    assert [e.dossier_code for e in book.entries] == codes
    text = pdf_text(world.branch.slips.render_book(start, end))
    assert "SỔ THEO DÕI HỒ SƠ" in text and "Tổng số: 3 hồ sơ." in text
    sheet = load_workbook(io.BytesIO(world.branch.slips.render_book(start, end, "xlsx"))).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[5][:2] == ["Số thứ tự", "Mã hồ sơ"]
    assert [row[1] for row in values[6:]] == codes
    assert values[6][0] == "1123-0001/2026"
    with pytest.raises(ValidationError):
        world.branch.slips.book(end, start)


def test_fee_receipt_recorded_against_the_dossier(desk: World) -> None:
    world = desk
    code = received(world)
    fees = FeeService(world.branch)
    fees.record_receipt(world.users["lan"], code, "BL-0001", 15000, "cash")
    (receipt,) = fees.receipts(code)
    assert (receipt.number, receipt.amount_vnd, receipt.actor) == ("BL-0001", 15000, "lan")
    with pytest.raises(ValidationError):
        fees.record_receipt(world.users["lan"], code, "", 15000)
    with pytest.raises(Exception, match=r"[Rr]ole"):
        fees.record_receipt(world.users["minh"], code, "BL-0002", 15000)


def test_import_by_command(motcua: Motcua, tmp_path: Path) -> None:
    """`motcua dossier import FILE.json` then `receive-online`, `print slip --form 01`."""
    path = tmp_path / "online.json"
    path.write_text(json.dumps({**PORTAL, "MaHoSo": "CLI-1"}, ensure_ascii=False), "utf-8")
    (imported,) = motcua.json("dossier", "import", str(path), **as_user("lan"))
    assert imported["status"] == 1
    done = motcua.json(
        "dossier", "receive-online", imported["code"], "--at", _now(), **as_user("lan")
    )
    assert done["status"] == 2
    out = tmp_path / "slip.pdf"
    motcua.json("print", "slip", imported["code"], "--form", "01", "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    paid = motcua.json(
        "dossier",
        "fee-receipt",
        imported["code"],
        "--number",
        "BL-9",
        "--amount",
        "15000",
        **as_user("lan"),
    )
    assert paid["receipts"][0]["number"] == "BL-9"


def _now() -> str:
    return datetime.now().replace(microsecond=0).isoformat()
