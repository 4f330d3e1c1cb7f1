"""A real conflict, made by two desktops of one branch, resolved on the Conflicts screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.domain.workflow import Action, Role, State
from core.i18n import _
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.sync import LocalReplica
from core.services.users import User
from core.storage import replication
from desktop import labels
from desktop.harness import Harness

from .flows import APPLICANT, login

OFFICER = User("officer", "Nguyễn Văn An", Role.OFFICER)


def exchange(source: Branch, target: Branch) -> None:
    """What the sync agent does between two replicas: send every event the target lacks."""
    here, there = LocalReplica(source), LocalReplica(target)
    with target.store.read() as conn:
        vector = replication.vector(conn)
    there.ingest(target.branch_code, here.events_above(vector, 100_000), 0)


def conflicting_pair(store: Path, tmp_path: Path) -> str:
    """Desk A receives a dossier; desk B gets it; while apart A transfers it and B refuses
    it; then B's events reach A. Returns the dossier code."""
    a = Branch.open(store)
    b = Branch.init(tmp_path / "desk-b", a.branch_code, "Quầy 2", ("admin", "admin-pass-2"))
    for one, other in ((a, b), (b, a)):
        one.store.write(
            lambda conn, o=other: replication.add_device(
                conn, o.device_id, o.branch_code, o.key.public_b64, "desk"
            )
        )
    intake = Intake("HT-KS", APPLICANT, [c.key for c in a.procedures()["HT-KS"].components])
    view, _changes = a.dossiers.receive(OFFICER, intake)
    exchange(a, b)
    a.dossiers.act(OFFICER, view.code, Action.TRANSFER, details={"to": "specialist"})
    b.dossiers.act(OFFICER, view.code, Action.REFUSE, note="thiếu chữ ký")
    exchange(b, a)
    assert a.dossiers.get(view.code).conflict
    a.close()
    b.close()
    return view.code


@pytest.fixture
def conflicted(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    code = conflicting_pair(store, tmp_path)
    monkeypatch.setenv("MOTCUA_LANG", "vi")
    h = Harness.start(store)
    yield h, code
    h.close()


def test_both_sides_shown_and_a_leader_keeps_one(conflicted: Any) -> None:
    h, code = conflicted
    login(h, "officer")
    h.key("F7")
    screen = h.screen
    h.settle()
    assert code in screen.cards
    # Left: what every desk shows now; right: the clashing step and who recorded it.
    assert h.shows(labels.state_label(State.TRANSFERRED), labels.action_label(Action.REFUSE))
    assert not h.shows(_("Keep this step"))  # an officer cannot resolve
    assert h.shows(_("Only a leader can record the resolution; keep working on other dossiers."))

    h.key("l", "ctrl")
    login(h, "leader")
    h.key("F7")
    h.settle()
    screen = h.screen
    card = screen.cards[code]
    buttons = {getattr(b, "text", ""): b for b in card.walk()}
    assert _("Keep this state") in buttons
    keep = buttons[_("Keep this step")]
    keep.dispatch("on_press")  # no reason yet: refused beside the field
    h.settle()
    assert screen.notes[code].error.text == _("Type the reason first")
    assert h.shell.services.branch.dossiers.get(code).conflict

    screen.notes[code].input.text = "Thiếu chữ ký người yêu cầu, không tiếp nhận"
    keep.dispatch("on_press")
    h.pump(until=lambda: h.shows(_("No dossier is in conflict.")))
    view = h.shell.services.branch.dossiers.get(code)
    assert not view.conflict and view.state is State.REFUSED
    resolution = h.shell.services.branch.dossiers.events(code)[-1]
    assert resolution.actor == "leader" and set(resolution.parents) >= {
        e.event_id for e in h.shell.services.branch.dossiers.events(code)[-3:-1]
    }
    assert code in h.status()
