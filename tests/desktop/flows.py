"""Steps the UI tests share: what a clerk does with the keyboard and the screens."""

from __future__ import annotations

from typing import Any

from core.domain.workflow import Action
from desktop import labels

from .conftest import PASSWORD

APPLICANT = {
    "full_name": "Nguyễn Thị Hoa",
    "id_number": "001190012345",
    "date_of_birth": "1990-05-17",
    "phone": "0912345678",
    "address": "12 Xuân Diệu, phường Tây Hồ, Hà Nội",
}


def login(h: Any, username: str) -> None:
    h.login(username, PASSWORD)
    assert h.shell.user is not None and h.shell.user.username == username
    assert h.shell.manager.current == "dashboard"


def start_intake(h: Any, query: str) -> Any:
    h.key("F2")
    screen = h.screen
    assert screen.route == "intake"
    screen.new_intake()
    h.settle()
    screen.search.input.text = query
    h.settle()
    screen.search.input.dispatch("on_text_validate")  # Enter picks the first match
    h.settle()
    assert screen.step == 1
    return screen


def fill_applicant(h: Any, screen: Any, values: dict[str, str] = APPLICANT) -> None:
    for name, value in values.items():
        screen.applicant_page.fields[name].input.text = value
    h.press(screen.forward_button.text)


def receive(h: Any, screen: Any, all_documents: bool = True) -> None:
    assert screen.step == 2
    if all_documents:
        screen.components_page.check_all()
    h.press(screen.forward_button.text)  # → fees and return
    h.press(screen.forward_button.text)  # → review
    assert screen.step == 4
    h.press(screen.forward_button.text)  # receive
    h.pump(until=lambda: screen.step == 5)


def receive_complete(h: Any, query: str = "khai sinh") -> str:
    screen = start_intake(h, query)
    fill_applicant(h, screen)
    receive(h, screen)
    return str(screen.outcome.code)


def open_dossier(h: Any, code: str) -> Any:
    h.key("F3")
    h.screen.query.input.text = code
    h.screen.query.input.dispatch("on_text_validate")
    h.settle()
    h.screen.table.rows[0].dispatch("on_press")
    h.settle()
    assert h.screen.route == "dossier" and h.screen.detail.view.code == code
    return h.screen


def act(h: Any, code: str, action: Action, note: str = "", detail: str = "") -> Any:
    screen = open_dossier(h, code)
    h.press(labels.action_label(action))
    if screen.pending is not None:
        if detail:
            screen.detail_field.input.text = detail
        screen.note_field.input.text = note
        screen.note_field.input.dispatch("on_text_validate")  # Enter confirms
        h.settle()
    h.pump(until=lambda: screen.detail is not None and screen.pending is None)
    return screen.detail.view
