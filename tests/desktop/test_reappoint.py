"""Apology and new appointment (form 04): a leader's dialog from the dossier detail."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.domain.errors import ValidationError
from core.domain.timeutil import iso, parse_moment, to_vietnam
from core.domain.workflow import Action
from core.i18n import _
from desktop import labels
from desktop.screens.dossier_dialogs import ReappointDialog

from .flows import login, open_dossier, receive_complete


def test_a_leader_sets_a_later_appointment_and_form_04_is_saved(harness: Any) -> None:
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    login(h, "leader")
    screen = open_dossier(h, code)
    due = to_vietnam(parse_moment(screen.detail.view.due_at))
    events = len(screen.detail.timeline)

    h.press(labels.action_label(Action.REAPPOINT))
    dialog = screen.dialog
    assert dialog is not None and h.shows(labels.moment(due))

    earlier = due - timedelta(days=1)
    dialog.day.input.text = earlier.strftime("%d/%m/%Y")
    dialog.time.input.text = earlier.strftime("%H:%M")
    dialog.reason.input.text = ""
    dialog.confirm()
    h.settle()
    assert dialog.day.error.text  # not later than the current appointment
    assert dialog.reason.error.text  # and the reason is required
    dialog.day.input.text = "31/02/2030"
    dialog.confirm()
    assert dialog.day.error.text == _("Write the date as dd/mm/yyyy and the time as hh:mm")
    assert len(h.app.services.branch.dossiers.timeline(code)) == events  # nothing recorded

    later = due + timedelta(days=3)
    dialog.day.input.text = later.strftime("%d/%m/%Y")
    dialog.time.input.text = "15:30"
    dialog.reason.input.text = "Chờ xác minh của Sở Tư pháp"
    dialog.reason.input.dispatch("on_text_validate")  # Enter confirms
    h.pump(until=lambda: getattr(screen, "last_form", None))
    h.settle()
    assert screen.dialog is None
    view = screen.detail.view
    assert to_vietnam(parse_moment(view.due_at)).strftime("%d/%m/%Y %H:%M") == (
        later.strftime("%d/%m/%Y") + " 15:30"
    )
    assert screen.detail.timeline[-1]["type"] == "dossier.reappoint"
    pdf = Path(screen.last_form)
    assert pdf.name == f"{code}-04.pdf" and pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Chờ xác minh của Sở Tư pháp" in " ".join(text.split())
    assert later.strftime("%d/%m/%Y") in text
    assert str(pdf) in h.status()


def test_a_second_new_appointment_asks_for_the_leaders_reason(harness: Any) -> None:
    """GIVEN a dossier re-appointed once
    WHEN the leader opens the dialog for another new appointment and confirms without the
    leader's reason, then with it
    THEN the first is refused beside the field and nothing is confirmed; the second gives
    details the core accepts (it refuses the same appointment without the reason); a
    first re-appointment's dialog asks nothing more."""
    h = harness
    login(h, "officer")
    code = receive_complete(h)
    login(h, "leader")
    branch, leader = h.app.services.branch, h.shell.user
    due = to_vietnam(parse_moment(branch.dossiers.get(code).due_at))
    first = iso(due + timedelta(days=2))
    branch.dossiers.act(
        leader, code, Action.REAPPOINT, note="Chờ xác minh", details={"due_at": first}
    )
    view = branch.dossiers.get(code)
    assert view.reappointments == 1
    assert ReappointDialog(first, lambda *_: None).leader_reason is None

    confirmed: list[tuple[str, str]] = []
    dialog = ReappointDialog(
        view.due_at, lambda d, r: confirmed.append((d, r)), view.reappointments
    )
    later = due + timedelta(days=5)
    dialog.day.input.text = later.strftime("%d/%m/%Y")
    dialog.time.input.text = "10:00"
    dialog.reason.input.text = "Chờ kết quả giám định"
    dialog.confirm()
    assert dialog.leader_reason is not None and dialog.leader_reason.error.text
    assert confirmed == []
    with pytest.raises(ValidationError, match="leader's reason"):
        branch.dossiers.act(
            leader, code, Action.REAPPOINT, note="x", details={"due_at": iso(later)}
        )

    dialog.leader_reason.input.text = "Giám đốc đồng ý gia hạn lần hai"
    dialog.confirm()
    ((new_due, reason),) = confirmed
    details = dialog.details_for(new_due)
    assert details["repeat_reason"] == "Giám đốc đồng ý gia hạn lần hai"
    branch.dossiers.act(leader, code, Action.REAPPOINT, note=reason, details=details)
    assert branch.dossiers.get(code).reappointments == 2


def test_the_dossier_lists_its_fee_receipts(harness: Any) -> None:
    """GIVEN a dossier with a fee receipt recorded at the counter (by bank transfer)
    WHEN its detail opens
    THEN the receipt is listed with its number, amount in VND, method and moment."""
    from core.i18n import set_language
    from core.services.fees import FeeService

    h = harness
    login(h, "officer")
    code = receive_complete(h)
    set_language("en")  # the line checked below in English (the language is restored after)
    branch = h.app.services.branch
    FeeService(branch).record_receipt(h.shell.user, code, "BL-0042", 50_000, "transfer")
    screen = open_dossier(h, code)
    [receipt] = screen.detail.receipts
    line = labels.receipt_line("BL-0042", 50_000, "transfer", receipt.at)
    money = labels.money(50_000)
    assert line.startswith(f"Receipt BL-0042: {money}, by bank transfer, ") and "50.000" in money
    assert h.shows("• " + line)
