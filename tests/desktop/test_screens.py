"""Login, keyboard, language, kiosk, lookup and the settings screen, driven for real."""

from __future__ import annotations

from typing import Any

from core.domain.lookup import SlipLookup
from core.domain.workflow import Action, State
from core.i18n import _, percent, tr
from core.services.users import MAX_FAILURES
from desktop import labels, theme
from desktop.ui.chart import Bar

from .conftest import PASSWORD
from .flows import APPLICANT, login, receive_complete, start_intake


def test_wrong_password_then_lockout(harness: Any) -> None:
    h = harness
    for _attempt in range(MAX_FAILURES):
        h.login("officer", "wrong-password")
        assert h.shell.user is None
    h.login("officer", PASSWORD)
    assert h.shell.user is None  # locked even with the right password
    assert "officer" in h.screen.message.text


def test_wrong_password_message(harness: Any) -> None:
    h = harness
    h.login("officer", "wrong-password")
    assert h.shell.user is None
    assert h.screen.message.text == _("Wrong user name or password")


def test_keyboard_shortcuts_and_escape(harness: Any) -> None:
    h = harness
    login(h, "officer")
    for key, route in (
        ("F2", "intake"),
        ("F3", "lookup"),
        ("F4", "queues"),
        ("F6", "reports"),
        ("F8", "settings"),
    ):
        h.key(key)
        assert h.shell.manager.current == route
    h.key("escape")
    assert h.shell.manager.current == "reports"
    h.key("l", "ctrl")
    assert h.shell.user is None and h.shell.manager.current == "login"


def test_applicant_problems_show_beside_the_field(harness: Any) -> None:
    h = harness
    login(h, "officer")
    screen = start_intake(h, "khai sinh")
    page = screen.applicant_page
    for name, value in {**APPLICANT, "id_number": "12345"}.items():
        page.fields[name].input.text = value
    h.press(screen.forward_button.text)
    assert screen.step == 1
    assert "12345" in page.fields["id_number"].error.text
    page.fields["id_number"].input.text = APPLICANT["id_number"]
    page.fields["phone"].input.text = "12"
    h.press(screen.forward_button.text)
    assert screen.step == 1 and page.fields["phone"].error.text
    assert not page.fields["id_number"].error.text


def test_procedure_search_ignores_diacritics(harness: Any) -> None:
    h = harness
    login(h, "officer")
    h.key("F2")
    screen = h.screen
    screen.search.input.text = "dang ky ket hon"
    h.settle()
    assert screen.table.keys == ["HT-KH"]
    assert h.shows("Đăng ký kết hôn")


def test_language_switches_live(harness: Any) -> None:
    h = harness
    login(h, "officer")
    assert h.shows("Tổng quan")
    h.shell.switch_language("en")
    h.settle()
    assert h.shows("Dashboard", "Received today") and not h.shows("Tổng quan")
    assert "Receive dossier   F2" in h.texts(h.shell.nav)
    h.shell.switch_language("vi")
    h.settle()
    assert h.shows("Tổng quan", "Tiếp nhận hôm nay")


def test_lookup_by_name_and_by_slip_code(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    h.key("F3")
    h.screen.query.input.text = "nguyen thi hoa"
    h.screen.search()
    h.settle()
    assert h.screen.table.keys == [code]
    view = h.shell.services.branch.dossiers.get(code)
    h.screen.query.input.text = SlipLookup(code, view.lookup_token).payload()
    h.screen.search()
    h.settle()
    assert h.shell.manager.current == "dossier"
    assert h.shows(f"{code} · {labels.state_label(State.RECEIVED)}")


def test_kiosk_shows_status_and_takes_a_rating(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    h.shell.logout()
    h.shell.kiosk = True
    h.go("kiosk")
    kiosk = h.screen
    kiosk.code.input.text = code
    kiosk.secret.input.text = "001190099999"
    kiosk.look_up()
    h.settle()
    assert kiosk.view is None and kiosk.message.text
    kiosk.secret.input.text = APPLICANT["id_number"]
    kiosk.look_up()
    h.settle()
    assert h.shows(
        tr("Status: {state}", state=labels.state_label(State.RECEIVED)),
        _(labels.NEXT_STEP[State.RECEIVED]),
    )
    h.press("4 ·")
    assert h.shows(_("Thank you for your rating."))
    assert h.shell.services.branch.dossiers.get(code).rating == 4


def test_kiosk_reads_form_01_link_and_still_asks_for_the_id(harness: Any) -> None:
    """GIVEN the kiosk WHEN its reader reads form 01's link to the public lookup page (or
    types it into the code field) THEN the code is filled in and nothing is shown until
    the citizen types her ID."""
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    h.shell.logout()
    h.shell.kiosk = True
    h.go("kiosk")
    kiosk = h.screen
    link = f"https://dichvucong.example.vn/tra-cuu?code={code.lower()}"
    assert kiosk.on_code(link)
    h.settle()
    assert kiosk.code.value == code and kiosk.view is None
    assert not kiosk.on_code("https://example.vn/tra-cuu?code=not-a-code")
    kiosk.code.input.text = link  # a keyboard-wedge reader types it into the field
    kiosk.secret.input.text = APPLICANT["id_number"]
    kiosk.look_up()
    h.settle()
    assert kiosk.view is not None and kiosk.view.code == code


def test_settings_lists_users_and_admin_adds_one(harness: Any) -> None:
    h = harness
    login(h, "admin")
    h.key("F8")
    assert h.shows("specialist — Trần Thị Bình", _("About and diagnostics"))
    screen = h.screen
    screen.new_name.input.text = "canbo2"
    screen.new_full.input.text = "Phạm Thị Dung"
    screen.new_password.input.text = "long-enough-1"
    h.press(_("Add user"))
    h.pump(until=lambda: h.shows("canbo2 — Phạm Thị Dung"))
    assert h.shows(tr("User {name} added", name="canbo2"))


def test_reports_draw_a_bar_per_field(harness: Any) -> None:
    h = harness
    login(h, "officer")
    receive_complete(h)
    receive_complete(h, "chung thuc ban sao")
    h.key("F6")
    assert h.shows(labels.field_label("civil_status"), labels.field_label("certification"))
    assert len(h.screen.chart.children) == 2


def test_reports_keep_withdrawn_dossiers_outside_the_rate(harness: Any) -> None:
    """GIVEN two dossiers received today, one withdrawn at the citizen's request and
    stopped by the leader WHEN the reports open THEN the withdrawn one has its own row and
    its own bar segment, and the on-time rate is over the other alone (100 %, not 50 %)."""
    h = harness
    login(h, "officer")
    kept, withdrawn = receive_complete(h), receive_complete(h)
    dossiers = h.shell.services.branch.dossiers
    dossiers.act(h.shell.user, withdrawn, Action.WITHDRAW, note="Công dân xin rút")
    login(h, "leader")
    dossiers.act(h.shell.user, withdrawn, Action.STOP, note="Theo đề nghị của công dân")
    h.key("F6")
    assert h.shows(
        _("Withdrawn by the citizen (outside the rates)"),
        _("Withdrawn by the citizen"),
        percent(100.0, 1),
    )
    assert not h.shows(percent(50.0, 1))
    (line,) = h.screen.chart.children
    (bar,) = [w for w in line.children if isinstance(w, Bar)]
    assert bar.segments[-1] == (0.5, theme.TEXT_MUTED)
    assert kept != withdrawn


def test_print_slip_without_printer_saves_the_form_01_pdf(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    h.press(_("Print slip"))
    h.pump(until=lambda: code in h.status(), timeout=30)
    pdf = h.shell.services.data_dir / "slips" / f"{code}-01.pdf"
    assert h.status() == tr("No printer configured: saved {path}", path=str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
