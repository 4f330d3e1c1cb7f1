"""`motcua dossier attach` runs the desktop's document pipeline: blank pages left out,
the checklist, PDF/A, the signature when the desk has a key, the file recorded once,
then the OCR, whose words find the dossier; a refused document records nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core.documents.ocr import ocr_available
from tests.documents.test_pdfa import text_page

from .test_cli import Motcua, as_user, new_branch
from .test_cli_operability import RECEIVE


@pytest.fixture(scope="module")
def motcua(tmp_path_factory: pytest.TempPathFactory) -> Motcua:
    return new_branch(tmp_path_factory.mktemp("cli-attach"))


LINES = ["Cộng hòa xã hội chủ nghĩa Việt Nam", "Tờ khai đăng ký thường trú"]


def received(motcua: Motcua) -> str:
    applicant = str(motcua.tmp / "applicant.json")
    view = motcua.json(*RECEIVE, "--applicant", applicant, **as_user("lan"))
    return str(view["code"])


def pages(folder: Path) -> tuple[Path, Path]:
    printed, blank = folder / "to-khai.png", folder / "trang-trang.png"
    text_page(LINES, dpi=300, size=(2480, 900)).save(printed, dpi=(300, 300))
    Image.new("L", (1240, 1754), 250).save(blank, dpi=(150, 150))
    return printed, blank


def events(motcua: Motcua, code: str) -> int:
    return len(motcua.json("dossier", "timeline", code, **as_user("lan")))


@pytest.mark.skipif(not ocr_available(), reason="tesseract is in scripts/apt-packages.txt")
def test_attach_runs_the_pipeline_and_its_words_find_the_dossier(
    motcua: Motcua, tmp_path: Path
) -> None:
    """GIVEN a received dossier, a page of printed Vietnamese and a blank page
    WHEN both are attached to a document from the command line
    THEN the blank page is left out, the file is a one-page PDF/A, the steps are listed
    (no key at this desk: the signature skipped), the OCR read the page, and the dossier
    is found by words of it typed without accents."""
    code = received(motcua)
    printed, blank = pages(tmp_path)
    out = motcua.json(
        "dossier", "attach", code, "giay-to-tuy-than", str(printed), str(blank), **as_user("lan")
    )
    steps = {step["step"]: step for step in out["steps"]}
    assert steps["blank"]["outcome"] == "done" and "1" in steps["blank"]["note"]
    assert steps["pdfa"]["outcome"] == "done"
    assert steps["sign"]["outcome"] == "skipped"
    assert steps["ocr"]["outcome"] == "done"
    (read,) = out["ocr"]
    assert read["words"] >= 8, read
    (document,) = [c for c in out["components"] if c["key"] == "giay-to-tuy-than"]
    (file,) = document["files"]
    assert file["pages"] == 1
    found = motcua.json("dossier", "search", "thuong tru", **as_user("lan"))
    assert [line["code"] for line in found] == [code]


def test_attach_without_ocr_and_a_blank_document_refused(motcua: Motcua, tmp_path: Path) -> None:
    """GIVEN a received dossier
    WHEN a document of blank pages only is attached, then a printed page with --no-ocr
    THEN the first is refused in one line naming the blank pages and records nothing;
    the second is attached with the OCR skipped and nothing read."""
    code = received(motcua)
    printed, blank = pages(tmp_path)
    before = events(motcua, code)
    refused = motcua.run("dossier", "attach", code, "1", str(blank), **as_user("lan"))
    assert refused.returncode == 2, refused.stderr
    assert "blank" in refused.stderr.lower() and len(refused.stderr.strip().splitlines()) == 1
    assert events(motcua, code) == before
    out = motcua.json("dossier", "attach", code, "1", str(printed), "--no-ocr", **as_user("lan"))
    assert {s["step"]: s["outcome"] for s in out["steps"]}["ocr"] == "skipped"
    assert out["ocr"] == []
    assert events(motcua, code) == before + 1
