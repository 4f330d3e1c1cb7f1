"""The intake's document steps without the UI: per-step results, skips and refusals,
and a scan's OCR text making its dossier findable."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from core.documents.pdfa import pdfa_status
from core.documents.steps import NO_SIGNING_KEY, Outcome, Step, StepFailed, StepSettings
from core.ports.scanner import ColorMode, PixelFormat, ScannedPage
from core.services import documents, intake_pipeline
from core.services.dossiers import Intake

from .conftest import APPLICANT, World


def page(ink: bool = True) -> ScannedPage:
    image = Image.new("L", (600, 800), 255)
    if ink:
        ImageDraw.Draw(image).rectangle((60, 60, 540, 200), fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return ScannedPage(1, out.getvalue(), PixelFormat.PNG, 100, ColorMode.GRAY, 600, 800)


def test_each_step_says_what_it_did(world: World) -> None:
    """GIVEN a document of a printed page and a blank back, and a desk with no key
    WHEN the steps run
    THEN the blank back is left out, the file is PDF/A of one page, the signature is
    skipped saying why, and the OCR reads the unsigned file."""
    procedure = world.branch.procedures()["HT-XNHN"]
    key = procedure.components[0].key
    officer = world.users["lan"]
    prepared = intake_pipeline.prepare(
        officer, "HT-XNHN", procedure.components, {key: [page(), page(ink=False)]}, StepSettings()
    )
    (file,) = prepared.files
    assert file.pages == 1 and pdfa_status(file.pdf) == "2B"
    results = {r.step: r for r in prepared.results()[key]}
    assert results[Step.BLANK].params == {"n": 1}
    assert (
        results[Step.SIGN].outcome is Outcome.SKIPPED and results[Step.SIGN].note == NO_SIGNING_KEY
    )
    assert prepared.ocr == {file.sha256: file.pdf}


def test_a_document_filed_under_an_unknown_component_is_refused(world: World) -> None:
    procedure = world.branch.procedures()["HT-XNHN"]
    officer = world.users["lan"]
    with pytest.raises(StepFailed) as refused:
        intake_pipeline.prepare(
            officer, "HT-XNHN", procedure.components, {"no-such": [page()]}, StepSettings()
        )
    assert refused.value.step is Step.CHECKLIST


def test_ocr_text_finds_the_dossier_accents_optional(world: World) -> None:
    """GIVEN a received dossier whose scan was read as "Giấy chứng nhận quyền sử dụng đất"
    WHEN the clerk searches "quyen su dung dat" or "ĐẤT"
    THEN the dossier is found; a word of no scan finds nothing."""
    procedure = world.branch.procedures()["HT-XNHN"]
    supplied = [c.key for c in procedure.components if c.mandatory]
    officer = world.users["lan"]
    view, _changes = world.branch.dossiers.receive(officer, Intake("HT-XNHN", APPLICANT, supplied))
    changes = documents.record_text(
        world.branch, view.id, "ab" * 32, "Giấy chứng nhận quyền sử dụng đất"
    )
    assert changes.dossiers == {view.id}
    assert [v.code for v in world.branch.dossiers.search("quyen su dung dat")] == [view.code]
    assert [v.code for v in world.branch.dossiers.search("ĐẤT")] == [view.code]
    assert world.branch.dossiers.search("khongco") == []
    assert documents.texts(world.branch, ["ab" * 32])["ab" * 32].startswith("giay chung nhan")
