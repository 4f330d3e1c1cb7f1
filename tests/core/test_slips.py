"""The national forms of a dossier, filled from its record: what the citizen takes home."""

from __future__ import annotations

import subprocess
from io import BytesIO

import pikepdf
import pytest

from core.domain.errors import TransitionRefused, ValidationError

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
