"""Code readers: keyboard-wedge bursts, serial lines, images; citizen ID and slip QR."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import segno
import serial
from PIL import Image

from core.domain.errors import ValidationError
from core.domain.lookup import SlipLookup, parse_slip_payload
from core.ports import DecodeFailed
from hardware.codes.citizen_id import parse_citizen_qr
from hardware.codes.image_decode import decode_file, decode_image
from hardware.codes.serial_reader import SerialCodeReader
from hardware.codes.wedge import WedgeAssembler

CARD = (
    "001190012345|012345678|Nguyễn Văn Đặng|01021990|Nam|"
    "Số 1 phố Huế, phường Hai Bà Trưng, Hà Nội|15082021"
)


def qr_image(text: str) -> Image.Image:
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=6, border=4)
    out.seek(0)
    return Image.open(out)


def test_wedge_burst_is_a_code_and_typing_is_not() -> None:
    """GIVEN a reader typing "MC1|X|T" 5 ms a key then Enter, and a clerk typing 150 ms a key
    WHEN both are fed to the assembler
    THEN the burst yields the code and the typing yields nothing."""
    wedge = WedgeAssembler()
    burst = [wedge.feed(ch, i * 0.005) for i, ch in enumerate("MC1|X|T\r")]
    assert burst[-1] is not None
    assert burst[-1].text == "MC1|X|T"
    assert not any(burst[:-1])
    typed = [wedge.feed(ch, 10 + i * 0.15) for i, ch in enumerate("hello\r")]
    assert typed == [None] * 6


def test_serial_reader_reads_utf8_lines() -> None:
    """GIVEN a serial reader (pyserial loopback) that sends a citizen ID QR then a slip code
    WHEN read twice
    THEN both texts arrive whole, Vietnamese letters intact, and a third read times out."""
    port = serial.serial_for_url("loop://", timeout=0.1)
    reader = SerialCodeReader("loop", connection=port)
    port.write(CARD.encode() + b"\r\nMC1|ABC-270203-0001|K7WQ2M9P\r\n")
    first, second = reader.read(0.5), reader.read(0.5)
    assert first is not None
    assert second is not None
    assert parse_citizen_qr(first.text).full_name == "Nguyễn Văn Đặng"
    assert second.text == "MC1|ABC-270203-0001|K7WQ2M9P"
    assert reader.read(0.1) is None
    reader.close()


def test_citizen_id_qr_from_an_image_fills_applicant_fields() -> None:
    """GIVEN a picture of a citizen ID card QR
    WHEN decoded with zxing-cpp and parsed
    THEN every field is read with its diacritics and dates."""
    (decoded,) = decode_image(qr_image(CARD))
    person = parse_citizen_qr(decoded.text)
    assert decoded.symbology == "QRCode"
    assert person.id_number == "001190012345"
    assert person.old_id_number == "012345678"
    assert person.date_of_birth == date(1990, 2, 1)
    assert person.issued_on == date(2021, 8, 15)
    assert person.address.startswith("Số 1 phố Huế")


def test_slip_qr_from_a_file_and_refusals(tmp_path: Path) -> None:
    """GIVEN an image file of a slip QR, a blank image, and a non-ID text
    WHEN decoded and parsed
    THEN the slip payload round-trips, the blank image is DecodeFailed,
    and the wrong text is refused as a citizen ID."""
    lookup = SlipLookup("000.00.21.H56-270203-0007", "K7WQ2M9P")
    qr_image(lookup.payload()).save(tmp_path / "slip.png")
    Image.new("L", (200, 200), 255).save(tmp_path / "blank.png")
    (decoded,) = decode_file(tmp_path / "slip.png")
    assert parse_slip_payload(decoded.text) == lookup
    with pytest.raises(DecodeFailed):
        decode_file(tmp_path / "blank.png")
    with pytest.raises(ValidationError):
        parse_citizen_qr("hello|world")
