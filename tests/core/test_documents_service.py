"""Scans attached to a dossier's components: PDF/A blob, attach event, sync bookkeeping."""

from __future__ import annotations

import io

import pikepdf
import pytest
from PIL import Image, ImageDraw

from core.documents.pdfa import pages_to_pdfa, pdfa_status
from core.domain import dossier as fold
from core.domain.errors import NotFoundError, PermissionDenied, ValidationError
from core.domain.events import EventType
from core.ports.scanner import ColorMode, PixelFormat, ScannedPage
from core.services import documents
from core.services.sync import LocalReplica
from core.sync.blobs import MARK_SPAN, file_marks, referenced_blobs

from .conftest import World


def page(number: int, text: str) -> ScannedPage:
    image = Image.new("L", (600, 800), 255)
    ImageDraw.Draw(image).text((60, 60 + 40 * number), text, fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return ScannedPage(number, out.getvalue(), PixelFormat.PNG, 100, ColorMode.GRAY, 600, 800)


def test_pages_become_one_pdfa_blob_and_an_attach_event(world: World) -> None:
    view = world.receive()
    key = view.components[0]["key"]
    changes = documents.attach_pages(
        world.branch, world.users["lan"], view.code, key, [page(1, "one"), page(2, "two")]
    )
    assert changes.dossiers == {view.id} and changes.events_added == 1

    after = world.branch.dossiers.get(view.code)
    files = after.components[0]["files"]
    assert len(files) == 1 and files[0]["pages"] == 2
    sha = files[0]["sha256"]
    pdf = documents.read(world.branch, sha)
    assert pdfa_status(pdf) == "2B"
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 2
    assert documents.files(world.branch, view.code) == [(key, files[0])]

    events = world.branch.dossiers.events(view.code)
    attach = [e for e in events if e.type == EventType.ATTACH]
    assert len(attach) == 1 and attach[0].actor == "lan"
    assert attach[0].parents == view.heads
    assert referenced_blobs(dict(attach[0].payload)) == [sha]  # peers will fetch it
    assert all(k.isascii() for k in attach[0].payload["file"])

    pending = LocalReplica(world.branch).pending_blobs()
    assert [b.sha256 for b in pending] == [sha]
    assert pending[0].path.read_bytes() == pdf


def test_an_attached_scan_keeps_its_prefix_marks_for_the_upload(world: World) -> None:
    """GIVEN a scan of two and a half MiB attached to a component
    THEN the blob waiting for upload carries its prefix marks (one per whole MiB short of
    the end), the same as marking the stored file, so the upload need not hash it again."""
    view = world.receive()
    key = view.components[0]["key"]
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * (MARK_SPAN * 5 // 2 // 256)
    documents.attach(world.branch, world.users["lan"], view.code, key, pdf, 3)
    [pending] = LocalReplica(world.branch).pending_blobs()
    assert len(pending.marks) == 2 * 32
    assert (pending.sha256, pending.marks) == file_marks(pending.path)


def test_attach_survives_a_rebuild_of_the_projection(world: World) -> None:
    view = world.receive()
    key = view.components[-1]["key"]
    documents.attach_pages(world.branch, world.users["minh"], view.code, key, [page(1, "x")])
    documents.attach_pages(world.branch, world.users["minh"], view.code, key, [page(1, "y")])
    before = world.branch.dossiers.get(view.code)
    refolded = fold.fold(world.branch.dossiers.events(view.code))
    assert refolded is not None
    assert refolded.components == before.components
    assert [f["pages"] for f in before.components[-1]["files"]] == [1, 1]
    shas = {f["sha256"] for f in before.components[-1]["files"]}
    assert len(shas) == 2


def test_refusals(world: World) -> None:
    view = world.receive()
    key = view.components[0]["key"]
    pdf = pages_to_pdfa([page(1, "z")])
    with pytest.raises(ValidationError):
        documents.attach(world.branch, world.users["lan"], view.code, "no-such", pdf, 1)
    with pytest.raises(ValidationError):
        documents.attach(world.branch, world.users["lan"], view.code, key, b"GIF89a", 1)
    with pytest.raises(ValidationError):
        documents.attach(world.branch, world.users["lan"], view.code, key, pdf, 0)
    with pytest.raises(PermissionDenied):
        documents.attach(world.branch, world.users["admin"], view.code, key, pdf, 1)
    with pytest.raises(NotFoundError):
        documents.attach(world.branch, world.users["lan"], "TAYHO-000000-0000", key, pdf, 1)
    with pytest.raises(NotFoundError):
        documents.read(world.branch, "0" * 64)
    assert world.branch.dossiers.get(view.code).components[0].get("files", []) == []
