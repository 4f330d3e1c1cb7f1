"""Devices chosen in Settings and used at the counter, through the real app: a feeder scan
on SANE's `test` backend, slip 01 on a private CUPS scheduler's cups-pdf queue, the
receipt ticket on an ESC/POS printer behind the recording USB backend."""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from core.domain.lookup import SlipLookup, parse_slip_payload
from core.i18n import _, tr
from core.ports.scanner import Source
from desktop.settings import FILE_NAME
from desktop.tickets import TRIAL_QR
from desktop.ui.widgets import McButton, texts_of
from hardware.codes.image_decode import decode_image
from hardware.printers.receipt import open_receipt_printer, receipt_printers
from tests.hardware.cups_env import CupsUnavailable, PrivateCups, private_cups
from tests.hardware.fake_usb import FakeDevice, FakeInterface, RecordingUsbBackend

from .flows import fill_applicant, login, receive, start_intake

SCANNER = "sane:test:1"  # tests/hardware drives test:0 (whose options outlive a scan)
FEEDER_SHEETS = 10  # the test backend's feeder empties after ten pages
QUEUE = f"motcua-desk-{os.getpid()}"


def use(h: Any, device_id: str) -> None:
    """Press *Use* on the Settings row that shows ``device_id``."""
    card = h.screen.devices_card
    h.pump(until=lambda: any(device_id in t for t in texts_of(card)))
    for child in card.walk(restrict=True):
        if getattr(child, "orientation", "") != "horizontal":
            continue
        texts = " ".join(texts_of(child))
        buttons = [b for b in child.children if isinstance(b, McButton)]
        if f"({device_id})" in texts and buttons:
            buttons[0].trigger_action(duration=0)
            h.settle()
            return
    raise LookupError(f"no row for {device_id}: {texts_of(card)}")


def scan(h: Any, screen: Any, key: str) -> None:
    """Press the Scan button on the row of the document ``key`` (not waiting: a feeder
    takes a while)."""
    page = screen.components_page
    name = next(c.name for c in screen.draft.procedure.components if c.key == key)
    for child in page.walk(restrict=True):
        if getattr(child, "orientation", "") == "horizontal" and name in texts_of(child):
            button = next(b for b in child.children if getattr(b, "text", "") == _("Scan"))
            button.trigger_action(duration=0)
            return
    raise LookupError(f"no row for {key}")


def saved(h: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((h.app.services.data_dir / FILE_NAME).read_text("utf-8"))
    return data


def test_feeder_scan_on_the_scanner_chosen_in_settings(harness: Any) -> None:
    """GIVEN SANE's test backend, and a clerk who chooses its second device in Settings
    with the feeder and 150 dpi as defaults
    WHEN a document is scanned in the intake and the dossier received
    THEN the feeder's ten sheets become ten pages of one PDF attached to the document."""
    h = harness
    login(h, "officer")
    h.key("F8")
    use(h, SCANNER)
    h.press(_("Feeder (ADF)"))
    h.press("150 dpi")
    chosen = {k: saved(h)[k] for k in ("scanner", "scan_source", "scan_resolution")}
    assert chosen == {"scanner": SCANNER, "scan_source": "feeder", "scan_resolution": 150}
    assert h.shows(SCANNER)

    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    assert screen.components_page.source is Source.FEEDER  # the default, changeable here
    key = screen.draft.procedure.components[0].key
    scan(h, screen, key)
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == FEEDER_SHEETS, timeout=60)
    assert h.status() == tr("{n} pages added", n=FEEDER_SHEETS)

    screen.components_page.choose_source(Source.FLATBED)  # the next document: one sheet
    second = screen.draft.procedure.components[1].key
    scan(h, screen, second)
    h.pump(until=lambda: len(screen.draft.pages.get(second, [])) == 1, timeout=60)

    receive(h, screen)
    view = screen.outcome
    files = {c["key"]: c.get("files", []) for c in view.components}
    assert [f["pages"] for f in files[key]] == [FEEDER_SHEETS]
    assert [f["pages"] for f in files[second]] == [1]


@pytest.fixture(scope="module")
def cups() -> Iterator[PrivateCups]:
    try:
        with private_cups(QUEUE) as running:
            yield running
    except CupsUnavailable as err:
        pytest.fail(f"cannot start the private CUPS scheduler: {err}", pytrace=False)


@pytest.fixture
def cups_server(cups: PrivateCups, monkeypatch: pytest.MonkeyPatch) -> PrivateCups:
    """The app's print clients talk to the private scheduler (set before the app starts)."""
    monkeypatch.setenv("CUPS_SERVER", str(cups.socket))
    return cups


def printed_qr(path: Path) -> list[str]:
    pixels = subprocess.run(
        ["pdftoppm", "-r", "150", "-gray", str(path)], capture_output=True, check=True
    ).stdout
    return [d.text for d in decode_image(Image.open(io.BytesIO(pixels)), path.name)]


def test_slip_01_prints_on_the_office_printer_chosen_in_settings(
    cups_server: PrivateCups, harness: Any
) -> None:
    """GIVEN a private CUPS scheduler with a cups-pdf queue, chosen in Settings
    WHEN the clerk prints a test page, then receives a dossier and prints its slip
    THEN both land in the queue's output folder, and the slip's QR opens that dossier."""
    h, cups = harness, cups_server
    login(h, "officer")
    h.key("F8")
    use(h, f"cups:{QUEUE}")
    assert saved(h)["document_printer"] == f"cups:{QUEUE}"
    h.press(_("Test printer"))
    h.pump(until=lambda: h.status() == tr("Test page sent to {device}", device=f"cups:{QUEUE}"))
    cups.wait_idle()
    (trial,) = cups.out.glob("*.pdf")
    assert printed_qr(trial) == [TRIAL_QR]

    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    receive(h, screen)
    code = screen.outcome.code
    h.press(_("Print slip"))
    sent = tr("Sent to the printer; also saved {path}", path="")
    h.pump(until=lambda: h.status().startswith(sent), timeout=30)
    cups.wait_idle()
    (slip,) = [p for p in cups.out.glob("*.pdf") if p != trial]
    (payload,) = printed_qr(slip)
    assert parse_slip_payload(payload).code == code


def test_receipt_ticket_prints_on_the_escpos_printer_chosen_in_settings(harness: Any) -> None:
    """GIVEN an Epson receipt printer on the USB bus (the recording backend, handed to the
    app's receipt-printer functions in place of libusb)
    WHEN the clerk chooses it in Settings, tests it, receives a dossier and prints the ticket
    THEN the printer gets the trial ticket, then the ESC/POS ticket with the slip's QR."""
    h = harness
    bus = RecordingUsbBackend()
    printer = bus.plug(
        FakeDevice(0x04B8, 0x0202, (FakeInterface(7, 1, 2),), ("EPSON", "TM-T82III", "X1"))
    )
    devices = h.app.services.devices
    devices.find_receipt_printers = lambda: receipt_printers(bus)
    devices.open_receipt_printer = lambda device, paper: open_receipt_printer(
        device, paper_mm=paper, usb_backend=bus
    )
    login(h, "officer")
    h.key("F8")
    use(h, "escpos:usb:04b8:0202")
    assert saved(h)["receipt_printer"] == "escpos:usb:04b8:0202"
    h.press(_("Test receipt printer"))
    h.pump(until=lambda: TRIAL_QR.encode() in bus.written(printer))
    printer.writes.clear()

    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    receive(h, screen)
    view = screen.outcome
    h.press(_("Print receipt ticket"))
    h.pump(until=lambda: bus.written(printer).endswith((b"\x1dVA\x00", b"\x1dV\x00")))
    sent = bus.written(printer)
    payload = SlipLookup(view.code, view.lookup_token).payload().encode()
    assert sent.startswith(b"\x1b@") and b"\x1dv0" in sent  # text as a raster image
    store = b"\x1d(k" + (len(payload) + 3).to_bytes(2, "little") + b"1P0" + payload
    assert store in sent  # the lookup QR, printed natively
    assert view.code.encode() not in sent.replace(store, b"")  # no text through code pages
    assert h.status() == tr("Receipt ticket printed on {device}", device="escpos:usb:04b8:0202")
