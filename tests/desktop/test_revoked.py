"""A desk the centre has revoked, through the real app and a real sync server: once the
server answers that the device is revoked, every screen says so, receipts and steps are
refused (reads keep working), and branch IT exports the events the server never got."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.domain.errors import PermissionDenied
from core.domain.workflow import Action
from core.i18n import _, describe, set_language, tr
from core.services.branch import REVOKED, Branch
from core.services.dossiers import Intake
from core.services.sync import enroll
from core.sync.errors import Unauthorised
from desktop.harness import Harness
from desktop.settings import FILE_NAME
from desktop.sync_status import revoked_answer
from desktop.ui.widgets import texts_of
from sync_server import identity
from tests.sync.live import live_server

from .conftest import PASSWORD
from .flows import APPLICANT, fill_applicant, login, open_dossier, start_intake

BANNER = (
    "This desk has been revoked by the central server: new receipts and steps are refused; "
    "dossiers can still be read. Branch IT: Settings (F8) exports the events the server "
    "never received."
)


@pytest.fixture
def revoked_desk(store: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The template desk, enrolled with a live server that has then revoked it; yields
    its folder and device id while the server runs."""
    with live_server("sqlite", tmp_path / "server") as server:
        identity.add_branch(server.engine, "TAYHO", "Tây Hồ")
        code = str(identity.new_enrol_code(server.engine, "TAYHO", 600)["code"])
        branch = Branch.open(store)
        try:
            officer = branch.login("officer", PASSWORD)
            papers = [c.key for c in branch.procedures()["HT-KS"].components if c.mandatory]
            intake = Intake("HT-KS", APPLICANT, components=papers)
            branch.dossiers.receive(officer, intake)
            enroll(branch, server.url, code, label="quầy 1")
            device_id = branch.device_id
        finally:
            branch.close()
        key = identity.ensure_identity(server.engine, server.settings.key_file)
        identity.revoke(server.engine, key, device_id)
        (store / FILE_NAME).write_text(json.dumps({"lan_peers": False}), encoding="utf-8")
        yield store, device_id


@pytest.fixture
def revoked_app(
    revoked_desk: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    monkeypatch.setenv("MOTCUA_LANG", "vi")
    h = Harness.start(revoked_desk[0])
    try:
        yield h
    finally:
        h.close()
        set_language("en")


def test_a_revoked_desk_says_so_refuses_receipts_and_exports_what_never_left(
    revoked_app: Harness, revoked_desk: tuple[Path, str]
) -> None:
    """GIVEN a desk the centre has revoked, with events it never sent
    WHEN it starts and its sync agent meets the server
    THEN the banner shows on every screen; a receipt is refused in words and records
    nothing; the dashboard still reads; the branch admin exports the unsent events, each
    signed by this desk, in a file only its owner reads."""
    h, (_folder, device_id) = revoked_app, revoked_desk
    h.pump(until=lambda: h.shell.sync_state.revoked, timeout=30)
    banner = tr(BANNER)
    assert texts_of(h.shell.banner) == [banner]
    assert h.app.services.branch.revoked

    login(h, "officer")
    assert texts_of(h.shell.banner) == [banner]  # on the dashboard too: reads work
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    screen.components_page.check_all()
    h.press(screen.forward_button.text)
    h.press(screen.forward_button.text)
    screen.receive()
    h.pump(until=lambda: not screen.forward_button.disabled)
    assert h.status() == describe(PermissionDenied(REVOKED))
    assert screen.step == 4
    (received,) = h.app.services.branch.dossiers.browse()  # the one from before, no other
    assert open_dossier(h, received.code).detail.view.code == received.code  # reads work
    officer = h.app.services.branch.login("officer", PASSWORD)
    with pytest.raises(PermissionDenied):  # and steps are refused
        h.app.services.branch.dossiers.act(
            officer, received.code, Action.TRANSFER, details={"to": "specialist"}
        )
    with pytest.raises(PermissionDenied):
        h.app.services.branch.dossiers.note(officer, received.code, "Ghi chú")

    login(h, "admin")
    h.key("F8")
    assert h.shows(_("This desk has been revoked"))
    h.press(_("Export unsent events"))
    h.pump(until=lambda: "unsent-" in h.status())
    (export,) = (h.app.services.data_dir / "exports").glob("unsent-*.jsonl")
    assert export.stat().st_mode & 0o777 == 0o600
    events = [json.loads(line) for line in export.read_text("utf-8").splitlines()]
    mine = [e for e in events if e["origin_device"] == device_id]
    assert mine and [e["origin_seq"] for e in mine] == list(range(1, len(mine) + 1))
    assert {e["type"] for e in mine} >= {"user.added"}
    assert h.status() == tr(
        "{n} events the server never received: {path}", n=len(events), path=str(export)
    )


def test_only_the_servers_revoked_answer_counts() -> None:
    """A 401 for another reason (a stale clock, a bad signature) is not a revocation."""
    assert revoked_answer(Unauthorised(401, {"title": "revoked"}))
    assert not revoked_answer(Unauthorised(401, {"title": "stale"}))
    assert not revoked_answer(PermissionDenied(REVOKED))
