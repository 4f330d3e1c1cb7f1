"""Transfers between units through the real app and a real sync server: a dossier another
unit sent shows on the dashboard's "From other units" card; the officer accepts it there
and its dossier opens, same code and appointment; sent back declined from the dossier
screen, the other unit can take it back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.domain.workflow import Action, State
from core.i18n import set_language
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.sync import agent_for, enroll
from core.services.transfers import TransferService
from desktop import labels
from desktop.harness import Harness
from desktop.settings import FILE_NAME
from sync_server import identity
from tests.sync.live import live_server

from .conftest import PASSWORD
from .flows import APPLICANT, login, open_dossier, receive_complete


@dataclass
class Other:
    desk: Branch  # a desk of unit BADINH, driven by the test

    def send_here(self) -> tuple[str, str]:
        """A dossier received at BADINH and sent to TAYHO for processing: code, due."""
        officer = self.desk.login("officer", PASSWORD)
        papers = [c.key for c in self.desk.procedures()["HT-KS"].components if c.mandatory]
        view, _ = self.desk.dossiers.receive(officer, Intake("HT-KS", APPLICANT, papers))
        TransferService(self.desk).send_out(officer, view.code, "TAYHO", note="liên thông")
        agent_for(self.desk).sync_once()
        return view.code, view.due_at


def _code(server_engine: object) -> str:
    return str(identity.new_enrol_code(server_engine, "TAYHO", 600)["code"])  # type: ignore[arg-type]


@pytest.fixture
def other(store: Path, tmp_path: Path) -> Iterator[Other]:
    with live_server("sqlite", tmp_path / "server") as server:
        identity.add_branch(server.engine, "TAYHO", "Tây Hồ")
        identity.add_branch(server.engine, "BADINH", "Ba Đình")
        here = Branch.open(store)
        try:
            enroll(here, server.url, _code(server.engine), label="quầy 1")
            agent_for(here).sync_once()
        finally:
            here.close()
        desk = Branch.init(tmp_path / "b", "BADINH", "Ba Đình", ("admin", PASSWORD))
        try:
            admin = desk.login("admin", PASSWORD)
            desk.admin.add_user(admin, "officer", "officer", PASSWORD, "Trần Văn Bình")
            code = str(identity.new_enrol_code(server.engine, "BADINH", 600)["code"])
            enroll(desk, server.url, code, label="Ba Đình 1")
            agent_for(desk).sync_once()
            (store / FILE_NAME).write_text(json.dumps({"lan_peers": False}), encoding="utf-8")
            yield Other(desk)
        finally:
            desk.close()


@pytest.fixture
def app(other: Other, store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("MOTCUA_LANG", "vi")
    h = Harness.start(store)
    try:
        yield h
    finally:
        h.close()
        set_language("en")


def test_an_offer_is_accepted_from_the_dashboard_and_sent_back_from_the_dossier(
    app: Harness, other: Other, tmp_path: Path
) -> None:
    h = app
    login(h, "officer")
    code, due = other.send_here()
    h.app.services.sync.trigger()
    card = h.screen.transfers_card
    h.pump(until=lambda: h.shows(f"{code} từ BADINH"), timeout=30)
    h.screenshot(Path("/tmp/shots/dashboard-transfer.png"))
    h.press("Tiếp nhận", card)
    h.pump(until=lambda: h.screen.route == "dossier" and h.screen.detail is not None, timeout=30)
    view = h.screen.detail.view
    assert (view.code, view.due_at, view.received_unit) == (code, due, "BADINH")
    assert h.shows(f"{code} · {labels.state_label(State.RECEIVED)}")

    h.press(labels.action_label(Action.SEND_BACK))
    h.screen.note_field.input.text = "Không thuộc thẩm quyền giải quyết"
    h.press("Xác nhận  (Enter)")
    h.pump(until=lambda: h.screen.detail.view.state is State.SENT_BACK, timeout=30)
    h.screenshot(Path("/tmp/shots/dossier-sent-back.png"))
    h.app.services.sync.trigger()

    def replied() -> bool:
        agent_for(other.desk).sync_once()
        return bool(TransferService(other.desk).messages())

    h.pump(until=replied, timeout=30)
    (reply,) = TransferService(other.desk).messages()
    officer = other.desk.login("officer", PASSWORD)
    taken, _ = TransferService(other.desk).take_back(officer, reply.event_id)
    assert taken.state is State.RECEIVED and taken.processing_unit == ""


def test_a_dossier_is_sent_to_another_unit_from_the_dossier_screen(
    app: Harness, other: Other
) -> None:
    """The officer sends a dossier received here to BADINH, the result to be given there:
    the dossier is away, no step is offered on it, and BADINH's desk gets the offer."""
    h = app
    login(h, "officer")
    code = receive_complete(h)
    open_dossier(h, code)
    h.press(labels.action_label(Action.SEND_OUT))
    h.screen.detail_field.input.text = "badinh"
    h.screen.return_there.on_press()
    h.screen.note_field.input.text = "Liên thông theo yêu cầu của công dân"
    h.press("Xác nhận")
    h.pump(until=lambda: h.screen.detail.view.state is State.AWAY, timeout=30)
    view = h.screen.detail.view
    assert (view.holder, view.processing_unit) == ("BADINH", "BADINH")
    assert h.shows("Vai trò của bạn không có thao tác nào ở trạng thái này.")
    h.app.services.sync.trigger()

    def offered() -> bool:
        agent_for(other.desk).sync_once()
        return bool(TransferService(other.desk).messages())

    h.pump(until=offered, timeout=30)
    (offer,) = TransferService(other.desk).messages()
    assert (offer.code, offer.summary["return_at"]) == (code, "destination")
