"""USB detection and ESC/POS printing against a recording pyusb backend."""

from __future__ import annotations

import pytest

from core.ports import (
    Change,
    DeviceGone,
    DeviceKind,
    DeviceNotFound,
    DevicePermissionDenied,
    Ticket,
    TicketLine,
)
from hardware.devices.usb import UsbWatcher
from hardware.printers.receipt import open_receipt_printer

from .fake_usb import FakeDevice, FakeInterface, RecordingUsbBackend

EPSON_RECEIPT = (0x04B8, 0x0202)
EPSON_USB = "escpos:usb:04b8:0202"


def receipt_printer() -> FakeDevice:
    return FakeDevice(*EPSON_RECEIPT, (FakeInterface(7, 1, 2),), ("EPSON", "TM-T82III", "X1"))


def ipp_usb_mfp() -> FakeDevice:
    interfaces = (FakeInterface(7, 1, 2), FakeInterface(7, 1, 4), FakeInterface(7, 1, 4))
    return FakeDevice(0x03F0, 0x2B17, interfaces, ("HP", "LaserJet MFP M236", "CN1"), address=3)


def honeywell_reader() -> FakeDevice:
    return FakeDevice(
        0x0C2E, 0x0B61, (FakeInterface(3, 1, 1),), ("Honeywell", "1900", "H1"), address=4
    )


def test_classifies_devices_and_notices_plug_and_unplug() -> None:
    """GIVEN a bus with a receipt printer, later an IPP-over-USB MFP and a code reader
    WHEN the watcher polls between the changes
    THEN it classifies each device and reports exactly what was added and removed."""
    bus = RecordingUsbBackend()
    printer = bus.plug(receipt_printer())
    watcher = UsbWatcher(bus)
    (first,) = watcher.poll()
    assert first.change is Change.ADDED
    assert first.device.kinds == {DeviceKind.RECEIPT_PRINTER}
    assert (first.device.manufacturer, first.device.product) == ("EPSON", "TM-T82III")
    assert first.device.id == "usb:04b8:0202@1.2"

    mfp, reader = bus.plug(ipp_usb_mfp()), bus.plug(honeywell_reader())
    added = {e.device.vid_pid: e.device for e in watcher.poll()}
    assert added["03f0:2b17"].kinds == {DeviceKind.PRINTER, DeviceKind.SCANNER}
    assert added["03f0:2b17"].ipp_usb
    assert added["0c2e:0b61"].kinds == {DeviceKind.CODE_READER}

    bus.unplug(printer)
    (removed,) = watcher.poll()
    assert (removed.change, removed.device.vid_pid) == (Change.REMOVED, "04b8:0202")
    assert watcher.poll() == []
    assert {d.vid_pid for d in watcher.snapshot()} == {mfp_id(mfp), mfp_id(reader)}


def mfp_id(device: FakeDevice) -> str:
    return f"{device.vendor_id:04x}:{device.product_id:04x}"


def test_device_without_permission_is_flagged_not_hidden() -> None:
    """GIVEN a scanner the OS refuses to open (no udev rule)
    WHEN the bus is enumerated
    THEN the scanner is listed, classified, and marked not accessible."""
    bus = RecordingUsbBackend()
    bus.plug(FakeDevice(0x04C5, 0x132B, (FakeInterface(0xFF, 0xFF, 0xFF),), denied=True))
    (info,) = UsbWatcher(bus).snapshot()
    assert info.kinds == {DeviceKind.SCANNER}
    assert not info.accessible


def test_ticket_bytes_are_exact_escpos() -> None:
    """GIVEN a receipt printer on the bus
    WHEN a ticket with Vietnamese lines and a QR is printed
    THEN the bulk-OUT bytes are: ESC @, a GS v 0 raster 576 dots wide, centre alignment,
    the native QR commands (model 2, size 6, level L, the payload, print), left alignment,
    feed and a full cut — in that order, with no text sent through a code page."""
    bus = RecordingUsbBackend()
    device = bus.plug(receipt_printer())
    payload = "MC1|000.00.21.H56-270203-0007|K7WQ2M9P"
    ticket = Ticket(lines=(TicketLine("Phiếu hẹn — Nguyễn Thị Ánh Tuyết", bold=True),), qr=payload)
    open_receipt_printer(EPSON_USB, usb_backend=bus).print_ticket(ticket)

    sent = bus.written(device)
    assert {ep for ep, _ in device.writes} == {0x01}
    assert sent.startswith(b"\x1b@")
    raster = sent.index(b"\x1dv0")
    width_bytes, height = (
        int.from_bytes(sent[raster + 4 : raster + 6], "little"),
        int.from_bytes(sent[raster + 6 : raster + 8], "little"),
    )
    assert (raster, width_bytes) == (2, 576 // 8)
    assert 20 < height < 80
    qr_at = raster + 8 + width_bytes * height
    data = payload.encode()
    store = b"\x1d(k" + (len(data) + 3).to_bytes(2, "little") + b"1P0" + data
    expected_qr = (
        b"\x1ba\x01"  # centre
        + b"\x1d(k\x04\x001A2\x00"  # model 2
        + b"\x1d(k\x03\x001C\x06"  # module size 6
        + b"\x1d(k\x03\x001E0"  # error correction L
        + store
        + b"\x1d(k\x03\x001Q0"  # print
    )
    assert sent[qr_at : qr_at + len(expected_qr)] == expected_qr
    tail = sent[qr_at + len(expected_qr) :]
    assert tail.endswith(b"\x1dVA\x00") or tail.endswith(b"\x1dV\x00")
    assert b"Nguy" not in sent


def test_printer_errors_are_clear() -> None:
    """GIVEN no printer, then a printer that is unplugged, then one without permission
    WHEN printing
    THEN DeviceNotFound, DeviceGone and DevicePermissionDenied are raised."""
    bus = RecordingUsbBackend()
    ticket = Ticket(lines=(TicketLine("Xin chào"),))
    with pytest.raises(DeviceNotFound):
        open_receipt_printer(EPSON_USB, usb_backend=bus).print_ticket(ticket)
    device = bus.plug(receipt_printer())
    device.gone = True
    with pytest.raises(DeviceGone):
        open_receipt_printer(EPSON_USB, usb_backend=bus).print_ticket(ticket)
    bus.unplug(device)
    denied = receipt_printer()
    denied.denied = True
    bus.plug(denied)
    with pytest.raises(DevicePermissionDenied):
        open_receipt_printer(EPSON_USB, usb_backend=bus).print_ticket(ticket)
