"""Intake in one transaction, through the real app: the documents' PDFs are made first,
the receipt and its attachments are recorded together, a failure records nothing, and a
second click or a retry never records a second dossier (the form's key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy.exc import OperationalError

from core.services import documents
from core.storage import event_store

from .flows import fill_applicant, login, start_intake


def count_events(h: Any) -> int:
    branch = h.app.services.branch
    with branch.store.read() as conn:
        return event_store.count(conn)


def page_file(folder: Path) -> Path:
    image = Image.new("L", (620, 877), 255)
    draw = ImageDraw.Draw(image)
    draw.text((60, 80), "To khai", fill=0)
    draw.rectangle((60, 120, 560, 200), fill=0)  # ink enough not to be a blank page
    path = folder / "to-khai.png"
    image.save(path)
    return path


def to_review(h: Any, tmp_path: Path) -> Any:
    """An officer's intake up to the review step, with one imported page on the first
    document."""
    login(h, "officer")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    key = screen.draft.procedure.components[0].key
    screen.import_files(key, [page_file(tmp_path)])
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == 1)
    screen.components_page.check_all()
    h.press(screen.forward_button.text)  # → fees and return
    h.press(screen.forward_button.text)  # → review
    assert screen.step == 4
    return screen


def press_receive(h: Any, screen: Any) -> None:
    screen.receive()
    h.pump(until=lambda: screen.step == 5 or not screen.forward_button.disabled, timeout=30)


def test_a_failed_attach_records_no_dossier_and_the_retry_records_one(
    harness: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an intake with a scanned page, and a store that fails while recording the
    attachment (the disk fills up inside the receipt's transaction)
    WHEN the officer receives, then receives again once the disk has room
    THEN the failure is said and leaves no dossier, no event and no used dossier number;
    the retry records one dossier, numbered 0001, with its file."""
    h = harness
    screen = to_review(h, tmp_path)
    before = count_events(h)

    def disk_full(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("INSERT INTO blobs", {}, Exception("database or disk is full"))

    with monkeypatch.context() as patch:
        patch.setattr(documents.replication, "add_blob", disk_full)
        press_receive(h, screen)
    assert screen.step == 4 and h.status()  # the refusal, in words; the form stays
    assert h.app.services.branch.dossiers.browse() == []
    assert count_events(h) == before

    press_receive(h, screen)
    assert screen.step == 5
    (dossier,) = h.app.services.branch.dossiers.browse()
    assert dossier.code.endswith("-0001")
    view = h.app.services.branch.dossiers.get(dossier.code)
    assert [f["pages"] for f in view.components[0]["files"]] == [1]
    assert count_events(h) == before + 2  # the receipt and its attachment


def test_a_blob_store_that_cannot_be_written_records_nothing(harness: Any, tmp_path: Path) -> None:
    """GIVEN an intake with a page, and a blob folder that cannot be created (a file
    stands in its place)
    WHEN the officer receives
    THEN nothing is recorded: the file is kept before the transaction that names it."""
    h = harness
    screen = to_review(h, tmp_path)
    before = count_events(h)
    blobs = documents.blob_root(h.app.services.branch)
    blobs.write_text("not a folder")
    press_receive(h, screen)
    assert screen.step == 4 and h.status()
    assert h.app.services.branch.dossiers.browse() == []
    assert count_events(h) == before


def test_two_clicks_give_one_dossier(harness: Any, tmp_path: Path) -> None:
    """GIVEN an intake on its review step
    WHEN the receive is triggered twice before the first has finished (a click and Enter)
    THEN one dossier is recorded, with one attachment, and the slip shows it."""
    h = harness
    screen = to_review(h, tmp_path)
    before = count_events(h)
    screen.receive()
    screen.receive()
    h.pump(until=lambda: screen.step == 5, timeout=30)
    h.settle()
    (dossier,) = h.app.services.branch.dossiers.browse()
    assert screen.outcome.code == dossier.code
    assert count_events(h) == before + 2
