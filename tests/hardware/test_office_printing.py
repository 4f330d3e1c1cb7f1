"""`motcua print slip --printer` through a real CUPS scheduler to a cups-pdf queue."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.domain.lookup import parse_slip_payload
from core.ports import PrinterProblem
from desktop.cli.main import main
from hardware.codes.image_decode import decode_image
from hardware.printers.system import CupsPrinters

from .cups_env import CupsUnavailable, PrivateCups, private_cups

QUEUE = f"motcua-test-{os.getpid()}"
APPLICANT = {
    "full_name": "Nguyễn Văn An",
    "id_number": "001090012345",
    "date_of_birth": "1990-05-12",
    "phone": "0912345678",
    "address": "12 Xuân Diệu, phường Tây Hồ, Hà Nội",
    "email": "an@example.vn",
}


@pytest.fixture(scope="module")
def cups() -> Iterator[PrivateCups]:
    try:
        with private_cups(QUEUE) as running:
            yield running
    except CupsUnavailable as err:
        pytest.fail(f"cannot start the private CUPS scheduler: {err}", pytrace=False)


@pytest.fixture
def branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """A branch with one received dossier; returns its code."""
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MOTCUA_USER", "admin")
    monkeypatch.setenv("MOTCUA_PASSWORD", "admin-pass-1")
    assert main(["--json", "init", "--unit-code", "TAYHO", "--branch-name", "Tây Hồ"]) == 0
    monkeypatch.setenv("MOTCUA_NEW_PASSWORD", "lan-password")
    assert main(["--json", "user", "add", "lan", "--role", "officer"]) == 0
    monkeypatch.setenv("MOTCUA_USER", "lan")
    monkeypatch.setenv("MOTCUA_PASSWORD", "lan-password")
    applicant = tmp_path / "applicant.json"
    applicant.write_text(json.dumps(APPLICANT, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    receive = ["--json", "dossier", "receive", "--procedure", "HT-XNHN"]
    receive += ["--applicant", str(applicant)]
    assert main([*receive, "--component", "1", "--component", "giay-to-tuy-than"]) == 0
    code: str = json.loads(capsys.readouterr().out)["code"]
    return code


def test_slip_printed_through_cups_lands_as_pdf_in_the_cups_pdf_folder(
    cups: PrivateCups,
    branch: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GIVEN a private CUPS scheduler with a cups-pdf queue, and a received dossier
    WHEN `motcua print slip CODE --form 01 --printer <queue>` runs
    THEN CUPS takes the job, cups-pdf writes one PDF, and its text is our slip for CODE."""
    monkeypatch.setenv("CUPS_SERVER", str(cups.socket))
    assert CupsPrinters().printers()[0].name == QUEUE
    argv = ["--json", "print", "slip", branch, "--form", "01", "--printer", f"cups:{QUEUE}"]
    assert main(argv) == 0, capsys.readouterr().err
    answer = json.loads(capsys.readouterr().out)
    assert answer["job"].startswith(f"{QUEUE}-")
    cups.wait_idle()
    (printed,) = cups.out.glob("*.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(printed), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f": {branch}" in text  # "Mã hồ sơ: CODE" (diacritics do not survive PostScript)
    pixels = subprocess.run(
        ["pdftoppm", "-r", "150", "-gray", str(printed)], capture_output=True, check=True
    ).stdout
    payloads = [d.text for d in decode_image(Image.open(io.BytesIO(pixels)), "printed")]
    assert [parse_slip_payload(p).code for p in payloads] == [branch]


def test_unknown_queue_is_one_clear_error_line(
    cups: PrivateCups,
    branch: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GIVEN the same scheduler, which has no queue named `no-such-queue`
    WHEN a slip is printed to it
    THEN the command exits non-zero with one line naming the printer and the known ones."""
    monkeypatch.setenv("CUPS_SERVER", str(cups.socket))
    assert main(["print", "slip", branch, "--form", "01", "--printer", "no-such-queue"]) == 10
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("motcua: ")
    assert "no-such-queue" in line
    assert QUEUE in line
    assert captured.out == ""


def test_scheduler_down_is_a_printer_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the real `lp` client pointed at a socket where no scheduler listens
    WHEN a PDF is printed
    THEN a PrinterProblem names the printer and carries the client's explanation."""
    monkeypatch.setenv("CUPS_SERVER", "/nonexistent/motcua-cups.sock")
    with pytest.raises(PrinterProblem, match=r"Printer cups:office failed: \S"):
        CupsPrinters().print_pdf("cups:office", b"%PDF-1.7\n%%EOF\n", title="test")
