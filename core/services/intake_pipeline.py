"""Document intake as a pipeline: blank pages → checklist → PDF/A → signature → blob →
attach, then OCR in the background.

:func:`prepare` runs the document steps (``core.documents.steps``) for every scanned
document, before any transaction and off the store's writer: it returns the files to
keep and record, what each step did, and what the OCR reads. The receipt then keeps
and records the files in its own transaction (``DossierService.receive``: all or
nothing, once per intake key); a document added to a received dossier is kept and
recorded by ``documents.attach_file`` (its checklist: :func:`components_of`). A
refusal is a :class:`~core.documents.steps.StepFailed` (which step, which document,
why) and nothing is kept or recorded.

OCR is not run here: the caller queues each file's unsigned PDF (``Prepared.ocr``: a
signed file cannot gain a text layer without breaking its signature) and records the
recognised text with :func:`core.services.documents.record_text`, which makes the
dossier findable by a word of its scans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.documents.pdfa import DocumentInfo, page_count
from core.documents.steps import (
    SKIPPED_BY_SETTINGS,
    Document,
    Outcome,
    Step,
    StepResult,
    StepSettings,
    run_document_steps,
)
from core.domain.catalogue import Component
from core.domain.dossier import RESULT_COMPONENT, DossierView
from core.domain.errors import N_, ValidationError
from core.ports.scanner import ScannedPage

from . import documents
from .users import User

if TYPE_CHECKING:
    pass

OCR_QUEUED = N_("queued; its progress shows on the dossier")
NO_OCR_ENGINE = N_("tesseract is not installed at this desk")


@dataclass(frozen=True)
class Prepared:
    """The files made from the scans, each document's step results, and the PDFs the
    OCR is to read (by the SHA-256 of the file recorded)."""

    files: list[documents.ScanFile]
    documents: list[Document]
    ocr: dict[str, bytes] = field(default_factory=dict)

    def results(self) -> dict[str, list[StepResult]]:
        """Each document's steps, by component key, in order."""
        return {doc.component: list(doc.results) for doc in self.documents}

    def recorded(self, ocr_available: bool) -> None:
        """Note the steps done once the files are kept and recorded."""
        for doc in self.documents:
            doc.note(Step.BLOB, Outcome.DONE)
            doc.note(Step.ATTACH, Outcome.DONE)
            if not self.ocr:
                doc.note(Step.OCR, Outcome.SKIPPED, SKIPPED_BY_SETTINGS)
            elif not ocr_available:
                doc.note(Step.OCR, Outcome.SKIPPED, NO_OCR_ENGINE)
            else:
                doc.note(Step.OCR, Outcome.DONE, OCR_QUEUED)


def prepare(
    user: User,
    label: str,
    components: Sequence[Component],
    scans: Mapping[str, Sequence[ScannedPage]],
    settings: StepSettings,
    location: str = "",
) -> Prepared:
    """Steps 1–4 for every document with pages; ``label`` names the files (procedure,
    dossier). Raises ``StepFailed`` when a step refuses a document."""
    author = user.full_name or user.username
    names = {c.key: c.name for c in components}
    docs = [
        Document(key, names.get(key, key), list(pages)) for key, pages in scans.items() if pages
    ]
    info = {d.component: DocumentInfo(title=f"{label} {d.component}", author=author) for d in docs}
    run_document_steps(docs, components, settings, info, author, location)
    files = [documents.ScanFile.of(doc.component, doc.pdf, page_count(doc.pdf)) for doc in docs]
    ocr = (
        {file.sha256: doc.unsigned for file, doc in zip(files, docs, strict=True)}
        if settings.runs(Step.OCR)
        else {}
    )
    return Prepared(files, docs, ocr)


def components_of(view: DossierView) -> list[Component]:
    """A received dossier's documents as the checklist (its result file included)."""
    components = [
        Component(str(c["key"]), str(c["name"]), bool(c.get("mandatory", True)))
        for c in view.components
    ]
    components.append(Component(RESULT_COMPONENT, RESULT_COMPONENT, mandatory=False))
    return components


def component_key(view: DossierView, given: str) -> str:
    """The key of a received dossier's document named by its key, its 1-based position or
    its exact name (``result``: the electronic result)."""
    for index, component in enumerate(components_of(view), start=1):
        if given in (component.key, component.name, str(index)):
            return component.key
    raise ValidationError(
        N_("Dossier {code} has no document {component}"), code=view.code, component=given
    )
