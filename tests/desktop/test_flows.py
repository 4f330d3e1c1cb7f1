"""The clerk's day through the real app: intake to result return, incomplete dossiers,
supplement requests — asserting on what the screens show."""

from __future__ import annotations

from typing import Any

from core.domain.workflow import Action, State
from core.i18n import _, tr
from desktop import labels

from .flows import (
    APPLICANT,
    act,
    fill_applicant,
    login,
    open_dossier,
    receive,
    receive_complete,
    start_intake,
)


def test_complete_dossier_from_intake_to_return(harness: Any) -> None:
    """GIVEN an officer at the counter WHEN a complete dossier goes through every step
    THEN each screen shows the state in plain words and the citizen gets the result."""
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    assert h.shows(tr("Dossier {code} received", code=code), "MC1|" + code + "|")
    h.key("F1")
    h.pump(until=lambda: h.screen.tiles["received_today"].number.text == "1")

    view = act(h, code, Action.TRANSFER, detail="specialist")
    assert view.state is State.TRANSFERRED and view.holder == "specialist"
    assert h.shows(labels.state_label(State.TRANSFERRED), _("Control slip: hand-overs"))

    login(h, "specialist")
    h.key("F4")
    assert code in h.screen.table.keys  # "To start" is the specialist's first queue
    assert act(h, code, Action.START).state is State.PROCESSING
    assert act(h, code, Action.SUBMIT).state is State.AWAITING_APPROVAL

    login(h, "leader")
    h.key("F4")
    assert code in h.screen.table.keys
    assert act(h, code, Action.APPROVE).state is State.APPROVED

    login(h, "specialist")
    assert act(h, code, Action.FINISH).state is State.FINISHED

    login(h, "officer")
    h.key("F5")
    assert code in h.screen.table.keys
    h.screen.table.rows[0].dispatch("on_press")
    h.settle()
    h.screen.identity.input.text = "001190099999"
    h.press(_("Return result"))
    assert h.shows(
        _("The citizen ID does not match the applicant's: ask for the ID card or an authorisation.")
    )
    h.screen.identity.input.text = APPLICANT["id_number"]
    h.screen.identity.input.dispatch("on_text_validate")
    h.settle()
    assert h.shell.services.branch.dossiers.get(code).state is State.RETURNED
    screen = open_dossier(h, code)
    assert h.shows(f"{code} · {labels.state_label(State.RETURNED)}")
    assert [r.action for r in screen.detail.view.handovers] == [
        "transfer",
        "start",
        "submit",
        "approve",
        "finish",
        "return",
    ]


def test_incomplete_dossier_gives_supplement_guidance(harness: Any) -> None:
    """GIVEN mandatory documents missing WHEN the officer receives
    THEN the guidance lists them and nothing is recorded."""
    h = harness
    login(h, "officer")
    screen = start_intake(h, "ket hon")
    fill_applicant(h, screen)
    assert h.shows(tr("{n} mandatory missing", n=len(screen.draft.mandatory_missing)))
    missing = list(screen.draft.mandatory_missing)
    receive(h, screen, all_documents=False)
    assert h.shows(_("Dossier not received: documents missing"), *missing)
    assert h.shell.services.branch.dossiers.browse() == []
    h.press(_("Back to documents"))
    assert screen.step == 2
    receive(h, screen)
    assert h.shows(tr("Dossier {code} received", code=screen.outcome.code))


def test_supplement_request_pauses_and_resumes(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    view = act(h, code, Action.REQUEST_SUPPLEMENT, note="Thiếu bản sao giấy khai sinh")
    assert view.state is State.SUPPLEMENT_REQUESTED
    assert h.shows(labels.state_label(State.SUPPLEMENT_REQUESTED), "Thiếu bản sao giấy khai sinh")
    h.key("F1")
    h.pump(until=lambda: h.screen.tiles["waiting_supplement"].number.text == "1")
    view = act(h, code, Action.SUPPLEMENT)
    assert view.state is State.RECEIVED and view.supplement_count == 1
    assert h.shows(labels.state_label(State.RECEIVED))


def test_action_needing_a_reason_refuses_an_empty_one(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    screen = open_dossier(h, code)
    h.press(labels.action_label(Action.REQUEST_SUPPLEMENT))
    screen.note_field.input.dispatch("on_text_validate")
    h.settle()
    assert screen.pending is Action.REQUEST_SUPPLEMENT  # the form stays open
    assert h.status()  # the core's refusal is shown in words
    assert h.shell.services.branch.dossiers.get(code).state is State.RECEIVED
    h.key("escape")
    assert screen.pending is None
