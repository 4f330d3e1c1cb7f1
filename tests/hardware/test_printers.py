"""Finding printers (``available_printers``) and ESC/POS receipt printers on each link:
USB (the recording backend), the network and a serial port (a pyserial URL)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.ports import DeviceNotFound, NoBackendAvailable, Ticket, TicketLine
from hardware.printers import PrinterHub, available_printers
from hardware.printers.receipt import open_receipt_printer, receipt_printers
from hardware.printers.system import CupsPrinters

from .fake_usb import FakeDevice, FakeInterface, RecordingUsbBackend

PAYLOAD = "MC1|TAYHO-270203-0007|K7WQ2M9P"
TICKET = Ticket(lines=(TicketLine("Phiếu hẹn — Nguyễn Thị Ánh Tuyết", bold=True),), qr=PAYLOAD)


def qr_store(payload: str) -> bytes:
    """The ESC/POS command that stores a QR payload (``GS ( k`` … ``1P0``)."""
    data = payload.encode()
    return b"\x1d(k" + (len(data) + 3).to_bytes(2, "little") + b"1P0" + data


@contextmanager
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP port that keeps every byte its one client sends."""
    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            while chunk := connection.recv(65536):
                received.append(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, received
    finally:
        thread.join(10)
        server.close()


def test_network_receipt_printer_gets_the_ticket() -> None:
    """GIVEN an ESC/POS printer on the network (a loopback port standing for :9100)
    WHEN a ticket is printed to escpos:net:HOST:PORT
    THEN the printer receives ESC @, the raster, the native QR with the payload and a cut."""
    with listener() as (port, received):
        open_receipt_printer(f"escpos:net:127.0.0.1:{port}").print_ticket(TICKET)
    sent = b"".join(received)
    assert sent.startswith(b"\x1b@") and b"\x1dv0" in sent
    assert qr_store(PAYLOAD) in sent
    assert sent.endswith(b"\x1dVA\x00") or sent.endswith(b"\x1dV\x00")


def test_serial_receipt_printer_through_a_pyserial_url() -> None:
    """GIVEN a serial receipt printer reached through pyserial (socket:// stands for
    /dev/ttyUSB0 or COM3)
    WHEN a ticket is printed to escpos:serial:socket://HOST:PORT
    THEN the same ESC/POS bytes arrive."""
    with listener() as (port, received):
        open_receipt_printer(f"escpos:serial:socket://127.0.0.1:{port}").print_ticket(TICKET)
    sent = b"".join(received)
    assert sent.startswith(b"\x1b@") and qr_store(PAYLOAD) in sent


def test_unreachable_and_malformed_receipt_printers_are_not_found() -> None:
    """GIVEN a network address where nothing listens, and ids naming no link
    WHEN printing or opening
    THEN DeviceNotFound names the printer."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(DeviceNotFound, match=f"escpos:net:127.0.0.1:{port}"):
        open_receipt_printer(f"escpos:net:127.0.0.1:{port}").print_ticket(TICKET)
    for bad in ("escpos:usb:nothex", "escpos:pigeon:1", "cups:office", "escpos:usb:"):
        with pytest.raises(DeviceNotFound):
            open_receipt_printer(bad)


def test_usb_receipt_printers_are_listed_by_the_id_that_opens_them() -> None:
    """GIVEN a bus with an Epson receipt printer and a code reader
    WHEN the receipt printers are listed
    THEN only the printer appears, with the id that prints to it."""
    bus = RecordingUsbBackend()
    printer = bus.plug(
        FakeDevice(0x04B8, 0x0202, (FakeInterface(7, 1, 2),), ("EPSON", "TM-T82III", "X1"))
    )
    bus.plug(FakeDevice(0x0C2E, 0x0B61, (FakeInterface(3, 1, 1),), address=4))
    (found,) = receipt_printers(bus)
    assert (found.id, found.name, found.connection) == (
        "escpos:usb:04b8:0202",
        "EPSON TM-T82III",
        "usb",
    )
    open_receipt_printer(found.id, paper_mm=58, usb_backend=bus).print_ticket(TICKET)
    raster = bus.written(printer).index(b"\x1dv0")
    width_bytes = int.from_bytes(bus.written(printer)[raster + 4 : raster + 6], "little")
    assert width_bytes == 384 // 8  # 58 mm paper: 384 dots


def test_no_print_system_is_a_loud_no_backend(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GIVEN a computer without the CUPS clients (lp, lpstat)
    WHEN printers are looked for
    THEN NoBackendAvailable says which backend was tried — never an empty list."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NoBackendAvailable, match="cups"):
        available_printers()


def test_the_hub_routes_by_prefix_and_refuses_an_unusable_backend() -> None:
    """GIVEN a hub over CUPS, with the Windows spooler tried and not usable
    WHEN a windows: printer is asked for
    THEN the refusal names the missing backend, not an unknown printer."""
    hub = PrinterHub([CupsPrinters(server="/nonexistent.sock")], unusable=["windows"])
    with pytest.raises(NoBackendAvailable, match="windows"):
        hub.print_pdf("windows:HP LaserJet", b"%PDF-1.7\n")
