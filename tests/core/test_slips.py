"""The national forms of a dossier, filled from its record: what the citizen takes home."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
import zxingcpp
from PIL import Image

from core.domain.errors import TransitionRefused, ValidationError
from core.domain.lookup import code_from_link

from .conftest import World


def pdf_text(pdf: bytes) -> str:
    """The text in drawing order (table cells whole), on single spaces."""
    command = ["pdftotext", "-raw", "-", "-"]
    result = subprocess.run(command, input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode().split())


def is_pdfa(pdf: bytes) -> bool:
    with pikepdf.open(BytesIO(pdf)) as doc:
        return doc.open_metadata().pdfa_status == "2B"


@pytest.fixture
def journey(world: World) -> tuple[World, str, str]:
    """One dossier that went through a supplement, a re-appointment and a return; one refused."""
    code = world.receive().code
    world.act("lan", code, "transfer", details={"to": "minh"})
    world.act("minh", code, "start")
    world.act(
        "minh", code, "request-supplement", note="Thiếu giấy xác nhận cư trú", at="2026-11-23T14:00"
    )
    world.act("lan", code, "supplement", at="2026-11-25T09:00")
    world.act(
        "hung",
        code,
        "reappoint",
        note="Cần xác minh tại nơi cư trú cũ",
        details={"due_at": "2026-12-04T16:00"},
    )
    refused = world.receive().code
    world.act("lan", refused, "refuse", note="Không thuộc thẩm quyền giải quyết")
    return world, code, refused


def test_receipt_slip(journey: tuple[World, str, str]) -> None:
    """GIVEN a received dossier THEN form 01 is PDF/A with its code, applicant, procedure and
    the appointment first promised (27/11/2026 09:00, the 24th being a holiday)."""
    world, code, _ = journey
    pdf = world.branch.slips.render(code, "01")
    text = pdf_text(pdf)
    assert is_pdfa(pdf)
    for expected in (
        code,
        "Nguyễn Văn An",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "27/11/2026",
        "03 ngày làm việc",
    ):
        assert expected in text


def test_supplement_refusal_apology_and_control_slip(journey: tuple[World, str, str]) -> None:
    world, code, refused = journey
    texts = {form: pdf_text(world.branch.slips.render(code, form)) for form in ("02", "04", "06")}
    assert "Thiếu giấy xác nhận cư trú" in texts["02"]
    assert "Cần xác minh tại nơi cư trú cũ" in texts["04"] and "04/12/2026" in texts["04"]
    assert "1. Giao: Tổ chức, cá nhân" in texts["06"]
    assert "2. Giao: Bộ phận tiếp nhận" in texts["06"]
    assert "Thiếu giấy xác nhận cư trú" in texts["06"]
    refusal = pdf_text(world.branch.slips.render(refused, "03"))
    assert "Không thuộc thẩm quyền giải quyết" in refusal


def test_a_form_without_its_step_is_refused(journey: tuple[World, str, str]) -> None:
    world, code, refused = journey
    with pytest.raises(TransitionRefused, match="no 'refuse' step"):
        world.branch.slips.render(code, "03")
    with pytest.raises(TransitionRefused, match="no 'reappoint' step"):
        world.branch.slips.render(refused, "04")
    with pytest.raises(ValidationError):
        world.branch.slips.render(code, "07")


def qr_text(pdf: bytes, folder: Path) -> str:
    """The QR code of the PDF's first page, rasterised at 150 dpi (pdftoppm) and decoded
    with zxing-cpp."""
    (folder / "form.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", folder / "form.pdf", folder / "form"],
        check=True,
    )
    (found,) = zxingcpp.read_barcodes(Image.open(folder / "form.png"))
    return str(found.text)


def test_receipt_qr_links_to_the_public_lookup_when_the_branch_has_an_address(
    world: World, tmp_path: Path
) -> None:
    """GIVEN a received dossier, first with no public address, then with the centre's
    (``print unit --lookup-url``, written with a trailing slash)
    WHEN form 01 is rendered, rasterised and its QR decoded
    THEN without an address the QR is the kiosk's MC1|code|key; with one it is the lookup
    page with the code alone (the key is never in the link), which the kiosk reads back
    to the code, and the slip tells the citizen to give her ID number."""
    view = world.receive()
    slips = world.branch.slips
    assert qr_text(slips.render(view.code, "01"), tmp_path) == (
        f"MC1|{view.code}|{view.lookup_token}"
    )
    slips.set_unit(world.users["admin"], lookup_url=" https://dichvucong.example.vn/mot-cua/ ")
    pdf = slips.render(view.code, "01")
    link = qr_text(pdf, tmp_path)
    assert link == f"https://dichvucong.example.vn/mot-cua/tra-cuu?code={view.code}"
    assert view.lookup_token not in link
    assert code_from_link(link) == view.code
    assert "nhập số định danh cá nhân" in pdf_text(pdf)


@pytest.mark.parametrize("address", ["dichvucong.example.vn", "ftp://x.vn", "https://", "x?y=1"])
def test_a_lookup_address_that_is_not_a_web_address_is_refused(world: World, address: str) -> None:
    """GIVEN a branch admin WHEN she sets a public lookup address without http(s) and a
    host, or with a query THEN it is refused and no setting is recorded, not even the
    hotline given with it."""
    slips = world.branch.slips
    before = slips.settings()
    with pytest.raises(ValidationError, match="Not a web address"):
        slips.set_unit(world.users["admin"], hotline="1900 1234", lookup_url=address)
    assert slips.settings() == before
