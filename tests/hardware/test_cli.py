"""`motcua scan` and `motcua decode` end to end, on the SANE test backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import segno

from core.documents.pdfa import page_count, pdfa_status
from desktop.cli.main import main


def test_scan_feeder_to_pdfa_and_decode_a_slip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN the SANE test scanner's feeder and a picture of a slip QR
    WHEN `motcua --json scan --source feeder` and `motcua --json decode` run
    THEN a 10-page PDF/A-2b is written and described, and the slip code is read back."""
    out = tmp_path / "scan.pdf"
    argv = ["--json", "scan", "--device", "sane:test:0", "--source", "feeder"]
    assert main([*argv, "--resolution", "75", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    data = out.read_bytes()
    assert (summary["pages"], page_count(data), pdfa_status(data)) == (10, 10, "2B")
    segno.make_qr("MC1|ABC-270203-0001|K7WQ2M9P").save(tmp_path / "qr.png", scale=5)
    assert main(["--json", "decode", str(tmp_path / "qr.png")]) == 0
    (found,) = json.loads(capsys.readouterr().out)
    assert (found["kind"], found["dossier_code"], found["token"]) == (
        "slip",
        "ABC-270203-0001",
        "K7WQ2M9P",
    )


def test_scan_from_an_unknown_device_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a device id no backend knows
    WHEN `motcua scan` runs
    THEN it exits with the hardware error code, one line on stderr, and writes no file."""
    out = tmp_path / "none.pdf"
    assert main(["scan", "--device", "sane:nosuch:9", "--out", str(out)]) == 10
    assert "sane:nosuch:9" in capsys.readouterr().err
    assert not out.exists()
