"""Updates in the real app offscreen, against a real sync server's TUF repository: the
desk's first sync finds a new release, downloads and stages it in the background; the
status line says so once and Settings → Updates shows it. A staged version held by old
unsynced events waits for the branch admin, who confirms it in the card."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.i18n import _, set_language, tr
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.sync import enroll
from core.update import client, guard, repository
from core.update import state as st
from desktop.harness import Harness
from desktop.settings import FILE_NAME
from desktop.shell import Shell
from sync_server import identity
from tests.sync.live import live_server
from tests.update.apps import make_app

from .conftest import PASSWORD
from .flows import APPLICANT, login

RELEASE = "9.0.0"


@pytest.fixture
def updating_app(store: Path, tmp_path: Path) -> Iterator[Harness]:
    """The template desk enrolled with a live server whose repository offers 9.0.0."""
    with live_server("sqlite", tmp_path / "server") as server:
        identity.add_branch(server.engine, "TAYHO", "Tây Hồ")
        code = str(identity.new_enrol_code(server.engine, "TAYHO", 600)["code"])
        repo, keys = server.settings.data_dir / "updates", tmp_path / "keys"
        repository.init(repo, keys)
        repository.publish(repo, make_app(tmp_path / "v9", RELEASE), RELEASE, keys)
        branch = Branch.open(store)
        try:
            enroll(branch, server.url, code, label="quầy 1")
        finally:
            branch.close()
        client.trust(store, repo / "metadata" / "1.root.json")
        (store / FILE_NAME).write_text(json.dumps({"lan_peers": False}), encoding="utf-8")
        set_language("en")
        h = Harness.start(store)
        try:
            yield h
        finally:
            h.close()


def test_a_release_is_staged_after_a_sync_and_a_held_one_waits_for_the_admin(
    updating_app: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GIVEN an enrolled desk and a newer release on the centre
    WHEN its sync agent meets the server THEN the release is downloaded, verified and
    staged off the window's thread; the status line announces it; the Updates card lists
    it with the running version. WHEN the desk then holds an event unsynced for four
    days and the admin checks again THEN the card says the version waits and why; an
    officer cannot release it; the admin confirms and it is released for the next start."""
    h = updating_app
    watcher = h.app.services.updates
    assert watcher is not None
    ready = tr(
        "Version {version} is ready: it starts the next time Một Cửa starts", version=RELEASE
    )
    # The outcome is set on the check's thread and told to the window on a later frame:
    # wait for what the clerk sees, not for the watcher's field.
    h.pump(until=lambda: h.status() == ready, timeout=60)
    assert watcher.outcome.get("staged") == RELEASE
    assert st.load(h.app.services.data_dir).staged == RELEASE
    # A window built after the release was staged (the first sync can end while the
    # screens are built) says so too: it was told nothing, and the clerk saw nothing.
    late = Shell(h.app.services)
    try:
        assert late.status.text == ready
    finally:
        late.unbind_keys()

    login(h, "admin")
    h.key("F8")
    assert h.shows(_("Updates"), _("Downloaded and verified"), RELEASE)
    assert not h.shows(_("Install at the next start anyway…"))

    # The agent stops; a dossier received now is still unsynced four days later.
    h.app.services.sync.stop()
    branch = h.app.services.branch
    officer = branch.login("officer", PASSWORD)
    papers = [c.key for c in branch.procedures()["HT-KS"].components if c.mandatory]
    branch.dossiers.receive(officer, Intake("HT-KS", APPLICANT, components=papers))
    later = time.time() + 4 * 86_400
    monkeypatch.setattr(guard, "time", SimpleNamespace(time=lambda: later))

    h.press(_("Check now"))
    waits = tr("Version {version} waits: see Updates in Settings", version=RELEASE)
    h.pump(until=lambda: not watcher.checking and h.status() == waits, timeout=60)
    assert watcher.outcome.get("held")
    held = tr("unsynced events older than {days} days", days="3")
    assert st.load(h.app.services.data_dir).held
    assert h.shows(
        tr("Version {version} waits: this desk has {reason}.", version=RELEASE, reason=held)[:40]
    )
    h.screenshot(tmp_path / "updates-held.png")

    login(h, "officer")
    h.key("F8")
    assert h.shows(_("Only the branch admin can install it anyway."))

    login(h, "admin")
    h.key("F8")
    h.press(_("Install at the next start anyway…"))
    assert h.shows(_("Yes, install at the next start"))
    h.press(_("Yes, install at the next start"))
    h.pump(until=lambda: not st.load(h.app.services.data_dir).held)
    assert h.status() == tr("Version {version} starts at the next start", version=RELEASE)
    assert not h.shows(_("Install at the next start anyway…"))
