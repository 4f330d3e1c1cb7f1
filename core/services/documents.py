"""Scanned documents of a dossier: one PDF/A per component, kept as a content-addressed blob.

A file is made first (``build``: pages → PDF/A), kept under ``DATA_DIR/blobs`` (its
SHA-256 names it: ``keep``), then recorded in a transaction (``record``): the blob as held
here and not yet durable on the server (so the sync agent uploads it) and a
``dossier.attach`` event. ``attach`` does the three for a received dossier; the intake
records its files in the receipt's own transaction (``DossierService.receive``).

The event carries only the reference:
``{"component", "file": {"sha256", "pages", "size", "media_type", "name"}}``; the fold
appends ``file`` to the component's ``files`` and every replica fetches the blob through
the ``sha256`` key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from core.documents.pdfa import DocumentInfo, page_count, pages_to_pdfa
from core.domain.dossier import RESULT_COMPONENT, DossierView
from core.domain.errors import N_, NotFoundError, StoreError, ValidationError
from core.domain.events import EventType
from core.domain.timeutil import iso
from core.domain.workflow import Role
from core.ports.scanner import ScannedPage
from core.storage import replication, scan_text
from core.sync import blobs as blob_io
from core.sync import sealed

from .changes import Changes
from .users import User

if TYPE_CHECKING:
    from pathlib import Path

    from .branch import Branch

BLOBS_DIR = "blobs"  # the LocalReplica's blob root, under the data directory
MEDIA_TYPE = "application/pdf"


def blob_root(branch: Branch) -> Path:
    return branch.data_dir / BLOBS_DIR


@dataclass(frozen=True)
class ScanFile:
    """One document's pages as a PDF/A file, made before anything is recorded."""

    component: str
    pdf: bytes
    pages: int
    sha256: str
    marks: bytes

    @classmethod
    def of(cls, component_key: str, pdf_bytes: bytes, pages: int) -> ScanFile:
        if not pdf_bytes.startswith(b"%PDF-"):
            raise ValidationError(N_("A scan must be a PDF file"))
        if pages < 1:
            raise ValidationError(N_("A scan needs at least one page"))
        sha256, marks = blob_io.bytes_marks(pdf_bytes)
        return cls(component_key, pdf_bytes, int(pages), sha256, marks)


def build(component_key: str, pages: Sequence[ScannedPage], title: str, author: str) -> ScanFile:
    """Scanned or imported pages, in order, as one PDF/A-2b file (CPU work: run it before
    the transaction that records it, and off the UI thread)."""
    if not pages:
        raise ValidationError(N_("A scan needs at least one page"))
    pdf = pages_to_pdfa(pages, DocumentInfo(title=title, author=author))
    return ScanFile.of(component_key, pdf, page_count(pdf))


def build_all(user: User, label: str, scans: Mapping[str, Sequence[ScannedPage]]) -> list[ScanFile]:
    """Every document's pages as its file; ``label`` names them (procedure, dossier)."""
    author = user.full_name or user.username
    return [build(key, pages, f"{label} {key}", author) for key, pages in scans.items() if pages]


def keep(branch: Branch, file: ScanFile) -> None:
    """The file on disk under its SHA-256, before the event that names it is recorded (a
    failed recording leaves an unreferenced file, never an event without its file)."""
    root = blob_root(branch)
    try:
        _store(root, file.sha256, file.pdf)
    except OSError as err:
        raise StoreError(
            N_("The scan could not be saved in {path}: {detail}"),
            path=str(root),
            detail=err.strerror or str(err),
        ) from err


def record(
    conn: Connection, branch: Branch, user: User, view: DossierView, file: ScanFile
) -> DossierView:
    """Record a kept file as a component's scan, in the caller's transaction: the blob as
    held here and not yet durable on the server (the sync agent uploads it), and the
    ``dossier.attach`` event. Returns the dossier as it now stands."""
    names = {str(c["key"]): str(c["name"]) for c in view.components}
    if file.component not in names and file.component != RESULT_COMPONENT:
        raise ValidationError(
            N_("Dossier {code} has no document {component}"),
            code=view.code,
            component=file.component,
        )
    size = len(file.pdf)
    replication.add_blob(conn, file.sha256, size, present=True, durable=False, marks=file.marks)
    payload = {
        "at": iso(branch.clock()),
        "component": file.component,
        "file": {
            "sha256": file.sha256,
            "pages": file.pages,
            "size": size,
            "media_type": MEDIA_TYPE,
            "name": f"{view.code}-{file.component}.pdf",
        },
    }
    _event, after = branch.append(
        conn, view.id, user.username, EventType.ATTACH, payload, view.heads
    )
    assert after is not None
    return after


def attach(
    branch: Branch,
    user: User,
    code: str,
    component_key: str,
    pdf_bytes: bytes,
    pages: int,
) -> Changes:
    """Keep ``pdf_bytes`` as the scan of one component of dossier ``code``."""
    user.require(Role.OFFICER, Role.SPECIALIST, Role.LEADER)
    return _attach(branch, user, code, ScanFile.of(component_key, pdf_bytes, pages))


def attach_pages(
    branch: Branch, user: User, code: str, component_key: str, pages: Sequence[ScannedPage]
) -> Changes:
    """Scanned or imported pages, in order, as one PDF/A-2b file attached to a component."""
    user.require(Role.OFFICER, Role.SPECIALIST, Role.LEADER)
    author = user.full_name or user.username
    return _attach(
        branch, user, code, build(component_key, pages, f"{code} {component_key}", author)
    )


def _attach(branch: Branch, user: User, code: str, file: ScanFile) -> Changes:
    return attach_file(branch, user, code, file)


def attach_file(branch: Branch, user: User, code: str, file: ScanFile) -> Changes:
    """Keep a made file (``core.services.intake_pipeline``), then record it as a scan of
    dossier ``code`` in one transaction."""
    user.require(Role.OFFICER, Role.SPECIALIST, Role.LEADER)
    keep(branch, file)

    def work(conn: Connection) -> str:
        view = branch.dossiers._require(conn, code)
        return str(record(conn, branch, user, view, file).id)

    dossier_id = branch.store.write(work)
    return Changes(dossiers=frozenset({dossier_id}), events_added=1)


def record_text(branch: Branch, dossier_id: str, sha256: str, text: str) -> Changes:
    """The text OCR read in a recorded scan, added to the dossier's search (local to
    this desk: the words are read again wherever they are wanted)."""
    branch.store.write(lambda conn: scan_text.put(conn, sha256, dossier_id, text))
    return Changes(dossiers=frozenset({dossier_id}))


def texts(branch: Branch, shas: Sequence[str]) -> dict[str, str]:
    """The recognised text of each of these scans that has been read."""
    with branch.store.read() as conn:
        return scan_text.get(conn, shas)


def read(branch: Branch, sha256: str) -> bytes:
    """A stored file's bytes; refuses a blob this desktop has not received yet."""
    path = blob_io.blob_path(blob_root(branch), sha256)
    if not path.is_file():
        raise NotFoundError(
            N_("The file {sha} has not arrived on this desktop yet"), sha=sha256[:12]
        )
    return sealed.read_bytes(path)


def files(branch: Branch, code: str) -> list[tuple[str, dict[str, object]]]:
    """(component key, file record) of every attached file of a dossier, in order."""
    view = branch.dossiers.get(code)
    return [(str(c["key"]), dict(f)) for c in view.components for f in c.get("files", [])]


def _store(root: Path, sha256: str, data: bytes) -> None:
    final = blob_io.blob_path(root, sha256)
    if final.exists() and blob_io.file_sha256(final) == sha256:
        return  # kept already (a damaged copy is replaced)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_suffix(f".{os.getpid()}.tmp")
    sealed.write_file(tmp, data)  # sealed when this desk's store is encrypted
    os.replace(tmp, final)
