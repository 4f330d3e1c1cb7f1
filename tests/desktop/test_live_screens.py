"""Live screens through the real app and a real sync server: a dossier received on another
desk appears on the open queue after one sync cycle, the open dossier follows a step made
there, and shows its scan once the scan arrives."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from core.domain.workflow import Action, State
from core.i18n import set_language
from core.services import documents
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.sync import agent_for, enroll
from core.sync.agent import SyncSummary
from desktop import labels
from desktop.harness import Harness
from desktop.settings import FILE_NAME
from desktop.ui.thumbs import ThumbStrip
from sync_server import identity
from tests.sync.live import LiveServer, live_server

from .conftest import PASSWORD
from .flows import APPLICANT, login


@dataclass
class Desks:
    server: LiveServer
    other: Branch  # desk B, driven by the test

    def receive_on_other(self) -> tuple[str, str]:
        """A dossier received on desk B and pushed to the centre: its code and id."""
        officer = self.other.login("officer", PASSWORD)
        papers = [c.key for c in self.other.procedures()["HT-KS"].components if c.mandatory]
        view, _ = self.other.dossiers.receive(officer, Intake("HT-KS", APPLICANT, papers))
        agent_for(self.other).sync_once()
        return view.code, view.id

    def scan_on_other(self, code: str) -> None:
        """B attaches a one-page scan to the dossier and pushes the event, not the scan."""
        officer = self.other.login("officer", PASSWORD)
        page = io.BytesIO()
        Image.new("RGB", (420, 594), "white").save(page, "PDF")
        documents.attach(self.other, officer, code, "to-khai", page.getvalue(), 1)
        agent_for(self.other).push()

    def upload_on_other(self) -> None:
        agent_for(self.other).upload_blobs(lambda _progress: None, SyncSummary())

    def transfer_on_other(self, code: str) -> None:
        officer = self.other.login("officer", PASSWORD)
        self.other.dossiers.act(officer, code, Action.TRANSFER, details={"to": "specialist"})
        agent_for(self.other).sync_once()


@pytest.fixture
def desks(store: Path, tmp_path: Path) -> Iterator[Desks]:
    """The template desk (A) and a second desk (B) of its branch, both enrolled with a
    live server; B holds A's clerks. A's folder is the one the app opens."""
    with live_server("sqlite", tmp_path / "server") as server:
        identity.add_branch(server.engine, "TAYHO", "Tây Hồ")
        first = Branch.open(store)
        try:
            enroll(first, server.url, identity_code(server), label="quầy 1")
            agent_for(first).sync_once()  # A's clerks go up
        finally:
            first.close()
        other = Branch.init(tmp_path / "b", "TAYHO", "Tây Hồ", ("admin", "admin-pass-1"))
        try:
            enroll(other, server.url, identity_code(server), label="quầy 2")
            agent_for(other).sync_once()  # and come down to B
            (store / FILE_NAME).write_text(json.dumps({"lan_peers": False}), encoding="utf-8")
            yield Desks(server, other)
        finally:
            other.close()


def identity_code(server: LiveServer) -> str:
    return str(identity.new_enrol_code(server.engine, "TAYHO", 600)["code"])


@pytest.fixture
def app(desks: Desks, store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("MOTCUA_LANG", "vi")
    h = Harness.start(store)
    try:
        yield h
    finally:
        h.close()
        set_language("en")


def test_the_open_queue_shows_a_dossier_received_on_another_desk_after_one_sync(
    app: Harness, desks: Desks
) -> None:
    """GIVEN the officer's queue of received dossiers open on desk A, empty
    WHEN desk B receives a dossier and pushes it, and A's agent runs one sync cycle
    THEN the open queue shows it without the clerk doing anything; and once the dossier
    is open on A, B's transfer of it shows there after the next cycle."""
    h = app
    login(h, "officer")
    h.key("F4")
    assert h.screen.route == "queues" and h.screen.queue == "received"
    assert not h.screen.table.rows
    code, _id = desks.receive_on_other()
    assert not h.shows(code)  # nothing moves before the sync cycle

    h.app.services.sync.trigger()
    h.pump(until=lambda: h.shows(code), timeout=30)
    assert h.screen.route == "queues"

    h.go("dossier", code=code)
    received_label = labels.state_label(State.RECEIVED)
    assert h.screen.detail.view.state is State.RECEIVED and h.shows(received_label)
    desks.transfer_on_other(code)
    h.app.services.sync.trigger()
    h.pump(until=lambda: h.screen.detail.view.state is State.TRANSFERRED, timeout=30)
    assert h.screen.route == "dossier"
    assert h.shows(f"{code} · {labels.state_label(State.TRANSFERRED)}")


def test_the_open_dossier_shows_its_scan_once_the_scan_arrives(app: Harness, desks: Desks) -> None:
    """GIVEN a dossier received on desk B with a scan whose event reached desk A before
    the scan itself, open on A without its pages
    WHEN B's scan reaches the centre and A's agent runs one sync cycle
    THEN the open dossier shows the scan's pages without the clerk doing anything."""
    h = app
    login(h, "officer")
    code, _id = desks.receive_on_other()
    desks.scan_on_other(code)
    h.app.services.sync.trigger()
    h.pump(until=lambda: attached(h, code), timeout=30)
    h.go("dossier", code=code)
    assert h.screen.page_slots and not thumbnails(h)
    desks.upload_on_other()
    h.app.services.sync.trigger()
    h.pump(until=lambda: thumbnails(h), timeout=30)
    assert h.screen.route == "dossier" and h.screen.detail.view.code == code


def attached(h: Harness, code: str) -> bool:
    files = documents.files(h.app.services.branch, code) if exists(h, code) else []
    return bool(files)


def exists(h: Harness, code: str) -> bool:
    return any(v.code == code for v in h.app.services.branch.dossiers.browse())


def thumbnails(h: Harness) -> list[ThumbStrip]:
    return [w for w in h.screen.walk(restrict=True) if isinstance(w, ThumbStrip)]
