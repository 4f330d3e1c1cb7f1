"""Code readers at the counter: a serial reader (pyserial's ``loop://`` transport, opened by
the composition root from the port chosen in settings) and keyboard-wedge bursts fed to
the real window as key events."""

from __future__ import annotations

import time
from typing import Any

from kivy.core.window import Window

from core.domain.lookup import SlipLookup
from core.i18n import _, tr

from .flows import login, receive_complete, start_intake

CARD = (
    "001190012345|012345678|Nguyễn Văn Đặng|01021990|Nam|"
    "Số 1 phố Huế, phường Hai Bà Trưng, Hà Nội|15082021"
)


def use_loop_reader(h: Any) -> Any:
    """Settings → Code reader: type ``loop://`` and use it; returns the open transport."""
    h.key("F8")
    h.pump(until=lambda: hasattr(h.screen, "port_field"))
    h.screen.port_field.input.text = "loop://"
    h.press(_("Use this port"))
    codes = h.app.services.codes
    h.pump(until=lambda: codes.listening)
    assert h.app.services.settings.code_reader == "serial:loop://"
    assert h.shows(tr("{device} — listening", device="serial:loop://"))
    return codes.reader._serial  # the loopback: what is written here is read back


def slip_payload(h: Any, code: str) -> str:
    view = h.app.services.branch.dossiers.get(code)
    return SlipLookup(view.code, view.lookup_token).payload()


def test_serial_reader_fills_the_applicant_and_opens_slips(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    port = use_loop_reader(h)

    h.press(_("Test reader"))
    port.write(CARD.encode() + b"\r\n")
    h.pump(until=lambda: "Nguyễn Văn Đặng" in h.screen.reader_result.text)
    assert h.shell.manager.current == "settings"  # a test read is shown, not acted on

    screen = start_intake(h, "khai sinh")
    port.write(CARD.encode() + b"\r")
    fields = screen.applicant_page.fields
    h.pump(until=lambda: fields["full_name"].value == "Nguyễn Văn Đặng")
    assert fields["id_number"].value == "001190012345"
    assert fields["date_of_birth"].value == "1990-02-01"
    assert fields["address"].value.startswith("Số 1 phố Huế")
    assert fields["phone"].input.focus  # the card has no phone: the clerk types it next

    for route in ("F1", "F5", "F3"):
        h.key(route)
        before = h.shell.manager.current
        port.write(slip_payload(h, code).encode() + b"\r\n")
        h.pump(until=lambda: h.shell.manager.current == "dossier")
        h.pump(until=lambda: h.screen.detail is not None and h.screen.detail.view.code == code)
        assert before != "dossier"

    h.shell.report("")
    port.write(b"MC1|NO-SUCH|CODE\r\n")  # a slip of no dossier here: said, nothing opens
    h.pump(until=lambda: h.status() != "")
    assert h.screen.detail.view.code == code

    # Form 01's QR when the branch has a public address: a link to the lookup page.
    h.key("F1")
    port.write(f"https://motcua.example.vn/tra-cuu?code={code}\r\n".encode())
    h.pump(until=lambda: h.shell.manager.current == "dossier")
    assert h.screen.detail.view.code == code

    h.key("F8")
    h.press(_("No serial reader"))
    h.pump(until=lambda: not h.app.services.codes.listening)
    assert h.app.services.settings.code_reader == ""


def type_keys(text: str, gap: float = 0.0) -> None:
    """Key events as SDL sends them: the text, then Enter as a key press."""
    for char in text:
        Window.dispatch("on_textinput", char)
        if gap:
            time.sleep(gap)
    Window.dispatch("on_key_down", 13, 40, None, [])


def test_wedge_burst_opens_the_slip_and_typing_stays_typing(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)

    h.key("F3")
    query = h.screen.query.input
    query.focus = True
    h.settle()
    type_keys("Hoa", gap=0.08)  # a clerk typing: the field keeps it and Enter searches
    h.settle()
    assert query.text == "Hoa"
    assert h.shell.manager.current == "lookup"
    assert h.screen.table.rows

    query.text = ""
    type_keys(slip_payload(h, code))  # a reader's burst: milliseconds apart
    h.pump(until=lambda: h.shell.manager.current == "dossier")
    h.pump(until=lambda: h.screen.detail is not None)
    assert h.screen.detail.view.code == code
    assert query.text == ""  # the burst was taken back from the field it landed in

    h.key("F1")
    type_keys(slip_payload(h, code))
    h.pump(until=lambda: h.shell.manager.current == "dossier")

    screen = start_intake(h, "khai sinh")
    screen.applicant_page.qr.input.focus = True
    h.settle()
    type_keys("001190012345|012345678|Tran Van Binh|01021990|Nam|So 2 Hang Bai|15082021")
    h.settle()
    assert screen.applicant_page.fields["full_name"].value == "Tran Van Binh"
    assert screen.applicant_page.qr.value == ""
