"""Scanned documents of a dossier: one PDF/A per component, kept as a content-addressed blob.

``attach`` writes the file under ``DATA_DIR/blobs`` (its SHA-256 names it), then, in one
transaction, records the blob as held here and not yet durable on the server (so the sync
agent uploads it) and appends a ``dossier.attach`` event. The event carries only the
reference: ``{"component", "file": {"sha256", "pages", "size", "media_type", "name"}}``;
the fold appends ``file`` to the component's ``files`` and every replica fetches the blob
through the ``sha256`` key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from core.documents.pdfa import DocumentInfo, page_count, pages_to_pdfa
from core.domain.errors import N_, NotFoundError, ValidationError
from core.domain.events import EventType
from core.domain.timeutil import iso
from core.domain.workflow import Role
from core.ports.scanner import ScannedPage
from core.storage import replication
from core.sync import blobs as blob_io

from .changes import Changes
from .users import User

if TYPE_CHECKING:
    from pathlib import Path

    from .branch import Branch

BLOBS_DIR = "blobs"  # the LocalReplica's blob root, under the data directory
MEDIA_TYPE = "application/pdf"


def blob_root(branch: Branch) -> Path:
    return branch.data_dir / BLOBS_DIR


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
    if not pdf_bytes.startswith(b"%PDF-"):
        raise ValidationError(N_("A scan must be a PDF file"))
    if pages < 1:
        raise ValidationError(N_("A scan needs at least one page"))
    sha256, marks = blob_io.bytes_marks(pdf_bytes)
    _store(blob_root(branch), sha256, pdf_bytes)

    def work(conn: Connection) -> str:
        view = branch.dossiers._require(conn, code)
        names = {str(c["key"]): str(c["name"]) for c in view.components}
        if component_key not in names:
            raise ValidationError(
                N_("Dossier {code} has no document {component}"),
                code=view.code,
                component=component_key,
            )
        replication.add_blob(conn, sha256, len(pdf_bytes), present=True, durable=False, marks=marks)
        payload = {
            "at": iso(branch.clock()),
            "component": component_key,
            "file": {
                "sha256": sha256,
                "pages": int(pages),
                "size": len(pdf_bytes),
                "media_type": MEDIA_TYPE,
                "name": f"{view.code}-{component_key}.pdf",
            },
        }
        branch.append(conn, view.id, user.username, EventType.ATTACH, payload, view.heads)
        return str(view.id)

    dossier_id = branch.store.write(work)
    return Changes(dossiers=frozenset({dossier_id}), events_added=1)


def attach_pages(
    branch: Branch, user: User, code: str, component_key: str, pages: Sequence[ScannedPage]
) -> Changes:
    """Scanned or imported pages, in order, as one PDF/A-2b file attached to a component."""
    if not pages:
        raise ValidationError(N_("A scan needs at least one page"))
    info = DocumentInfo(title=f"{code} {component_key}", author=user.full_name or user.username)
    pdf = pages_to_pdfa(pages, info)
    return attach(branch, user, code, component_key, pdf, page_count(pdf))


def read(branch: Branch, sha256: str) -> bytes:
    """A stored file's bytes; refuses a blob this desktop has not received yet."""
    path = blob_io.blob_path(blob_root(branch), sha256)
    if not path.is_file():
        raise NotFoundError(
            N_("The file {sha} has not arrived on this desktop yet"), sha=sha256[:12]
        )
    return path.read_bytes()


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
    tmp.write_bytes(data)
    os.replace(tmp, final)
