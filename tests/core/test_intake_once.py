"""Receiving with scans in one transaction, once per intake form (its idempotency key)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from core.domain.errors import StoreError, ValidationError
from core.ports.scanner import ColorMode, PixelFormat, ScannedPage
from core.services import documents
from core.services.dossiers import Intake
from core.storage import event_store

from .conftest import APPLICANT, World


def page() -> ScannedPage:
    out = io.BytesIO()
    Image.new("L", (300, 400), 255).save(out, format="PNG")
    return ScannedPage(1, out.getvalue(), PixelFormat.PNG, 100, ColorMode.GRAY, 300, 400)


def intake(world: World, key: str = "") -> Intake:
    procedure = world.branch.procedures()["HT-XNHN"]
    supplied = [c.key for c in procedure.components if c.mandatory]
    return Intake("HT-XNHN", APPLICANT, components=supplied, key=key)


def events(world: World) -> int:
    with world.branch.store.read() as conn:
        return event_store.count(conn)


def test_receipt_and_files_are_recorded_together(world: World) -> None:
    """GIVEN two documents' pages made into files before recording
    WHEN the officer receives
    THEN the receipt and both attachments are in the store, the files on disk."""
    officer = world.users["lan"]
    form = intake(world)
    scans = {key: [page()] for key in form.components[:2]}
    files = documents.build_all(officer, form.procedure_code, scans)
    view, changes = world.branch.dossiers.receive(officer, form, files)
    assert changes.events_added == 3 and changes.dossiers == {view.id}
    attached = {c["key"]: c.get("files", []) for c in view.components}
    assert all(len(attached[key]) == 1 for key in scans)
    for file in files:
        assert documents.read(world.branch, file.sha256) == file.pdf


def test_a_file_for_no_document_refuses_the_whole_receipt(world: World) -> None:
    """GIVEN a file for a document the procedure does not have
    WHEN the officer receives
    THEN nothing is recorded and no dossier number is used."""
    officer = world.users["lan"]
    before = events(world)
    files = documents.build_all(officer, "HT-XNHN", {"no-such-document": [page()]})
    with pytest.raises(ValidationError):
        world.branch.dossiers.receive(officer, intake(world), files)
    assert events(world) == before
    assert world.receive().code.endswith("-0001")


def test_the_same_form_received_twice_records_one_dossier(world: World) -> None:
    """GIVEN an intake form's key
    WHEN it is received, then received again (a retry after an error the clerk saw)
    THEN the second answer is the first dossier, and nothing more is recorded."""
    officer = world.users["lan"]
    first, _ = world.branch.dossiers.receive(officer, intake(world, "form-1"))
    before = events(world)
    again, changes = world.branch.dossiers.receive(officer, intake(world, "form-1"))
    assert again.id == first.id and again.code == first.code
    assert changes.events_added == 0 and events(world) == before
    other, _ = world.branch.dossiers.receive(officer, intake(world, "form-2"))
    assert other.id != first.id


def test_a_blob_folder_that_cannot_be_written_records_nothing(world: World) -> None:
    officer = world.users["lan"]
    files = documents.build_all(officer, "HT-XNHN", {"to-khai": [page()]})
    blobs: Path = documents.blob_root(world.branch)
    blobs.write_text("a file where the folder should be")
    before = events(world)
    with pytest.raises(StoreError, match="could not be saved"):
        world.branch.dossiers.receive(officer, intake(world, "form-3"), files)
    assert events(world) == before
