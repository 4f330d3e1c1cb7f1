"""The document steps of an intake, one document at a time, each with its own result.

A scanned document goes through, in order:

1. ``blank``: blank pages (a feeder's empty backs, a sheet turned over) are left out;
2. ``checklist``: the page counts are checked against the procedure's components;
3. ``pdfa``: the pages become one PDF/A-2b file (skipped: a plain PDF);
4. ``sign``: the digitising clerk's PAdES signature, when the desk has a key
   (a PKCS#12 file or a PKCS#11 token);

then the services keep the file as a content-addressed blob (``blob``), record it
(``attach``) and queue Vietnamese OCR in the background (``ocr``). Each step is
``done``, ``skipped`` (configured off, or nothing to do: the reason says which) or
``failed``: :class:`StepFailed` names the step and says why in a translatable sentence;
nothing is recorded then. The steps are CPU work: run them off the UI thread and
outside the store's write transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import img2pdf
import pikepdf
from PIL import UnidentifiedImageError

from core.domain.catalogue import Component
from core.domain.errors import N_, MotcuaError, ValidationError
from core.ports.scanner import PixelFormat, ScannedPage

from .checklist import PageIssueKind, check_pages
from .images import is_blank, to_image
from .pdfa import DocumentInfo, encode_pages, pages_to_pdfa

if TYPE_CHECKING:  # pyHanko loads on the first signature, not with the desktop
    from .signing import Pkcs11Key, Pkcs12Key


class Step(StrEnum):
    BLANK = "blank"
    CHECKLIST = "checklist"
    PDFA = "pdfa"
    SIGN = "sign"
    BLOB = "blob"
    ATTACH = "attach"
    OCR = "ocr"


ORDER = tuple(Step)
SKIPPABLE = (Step.BLANK, Step.CHECKLIST, Step.PDFA, Step.SIGN, Step.OCR)

# Each step's name as the clerk reads it (translated at the edge).
STEP_NAMES: dict[Step, str] = {
    Step.BLANK: N_("Blank pages"),
    Step.CHECKLIST: N_("Page checklist"),
    Step.PDFA: N_("PDF/A"),
    Step.SIGN: N_("Signature"),
    Step.BLOB: N_("Saving the file"),
    Step.ATTACH: N_("Recording"),
    Step.OCR: N_("Text recognition (OCR)"),
}

SKIPPED_BY_SETTINGS = N_("turned off in Settings")
NO_SIGNING_KEY = N_("no signing key or token is set up at this desk")
NO_BLANK_PAGE = N_("no blank page")


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class StepResult:
    """What one step did to one document; ``note`` is a msgid with ``params``."""

    step: Step
    outcome: Outcome
    note: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


class StepFailed(ValidationError):
    """A step refused a document: the message says which document and why."""

    def __init__(self, step: Step, message: str, **params: Any) -> None:
        self.step = step
        super().__init__(message, **params)


@dataclass(frozen=True)
class StepSettings:
    """How this desk runs the steps: those turned off, and the clerk's signing key."""

    skip: frozenset[Step] = frozenset()
    key: Pkcs12Key | Pkcs11Key | None = None

    def runs(self, step: Step) -> bool:
        return step not in self.skip


@dataclass
class Document:
    """One component's pages on their way to a file, and what each step did."""

    component: str
    name: str
    pages: list[ScannedPage]
    results: list[StepResult] = field(default_factory=list)
    pdf: bytes = b""
    unsigned: bytes = b""  # the file before its signature (what OCR reads)

    def note(self, step: Step, outcome: Outcome, note: str = "", **params: Any) -> None:
        self.results.append(StepResult(step, outcome, note, params))


def drop_blank(doc: Document, settings: StepSettings) -> None:
    """Step 1: leave out the blank pages (all of them blank: the checklist says so)."""
    if not settings.runs(Step.BLANK):
        doc.note(Step.BLANK, Outcome.SKIPPED, SKIPPED_BY_SETTINGS)
        return
    try:
        kept = [page for page in doc.pages if not _blank(page)]
    except (OSError, ValueError, UnidentifiedImageError) as err:
        raise StepFailed(
            Step.BLANK,
            N_("A page of {document} cannot be read: {detail}"),
            document=doc.name,
            detail=str(err) or type(err).__name__,
        ) from None
    left_out = len(doc.pages) - len(kept)
    doc.pages = kept
    if left_out:
        doc.note(Step.BLANK, Outcome.DONE, N_("{n} blank pages left out"), n=left_out)
    else:
        doc.note(Step.BLANK, Outcome.DONE, NO_BLANK_PAGE)


def _blank(page: ScannedPage) -> bool:
    return page.pixel_format is not PixelFormat.PDF and is_blank(to_image(page))


def check_checklist(docs: Sequence[Document], components: Sequence[Component]) -> None:
    """Step 2: every scanned document is one the procedure lists, with a page left.

    ``components`` empty (a result file, a procedure no longer in the catalogue): only
    the pages are counted."""
    counts = {doc.component: len(doc.pages) for doc in docs}
    issues = check_pages(components, counts) if components else []
    names = {doc.component: doc.name for doc in docs}
    for issue in issues:
        if issue.kind is PageIssueKind.UNKNOWN:
            raise StepFailed(
                Step.CHECKLIST,
                N_("Pages were filed under {document}, which this procedure does not list"),
                document=names.get(issue.component, issue.component),
            )
    for doc in docs:
        if not doc.pages:
            raise StepFailed(
                Step.CHECKLIST,
                N_("Every page scanned for {document} is blank: scan it again or remove it"),
                document=doc.name,
            )
        doc.note(Step.CHECKLIST, Outcome.DONE, N_("{n} pages"), n=len(doc.pages))


def skip_checklist(docs: Sequence[Document]) -> None:
    for doc in docs:
        doc.note(Step.CHECKLIST, Outcome.SKIPPED, SKIPPED_BY_SETTINGS)


def make_pdf(doc: Document, info: DocumentInfo, settings: StepSettings) -> None:
    """Step 3: the pages as one PDF/A-2b file (turned off: a plain PDF of the same pages)."""
    if not doc.pages:
        raise StepFailed(
            Step.PDFA, N_("{document} has no page to make a file of"), document=doc.name
        )
    archival = settings.runs(Step.PDFA)
    try:
        doc.pdf = pages_to_pdfa(doc.pages, info) if archival else plain_pdf(doc.pages)
    except (OSError, ValueError, UnidentifiedImageError, pikepdf.PdfError) as err:
        raise StepFailed(
            Step.PDFA,
            N_("The pages of {document} could not be made into a PDF: {detail}"),
            document=doc.name,
            detail=str(err) or type(err).__name__,
        ) from None
    doc.unsigned = doc.pdf
    if archival:
        doc.note(Step.PDFA, Outcome.DONE, N_("PDF/A-2b"))
    else:
        doc.note(Step.PDFA, Outcome.SKIPPED, SKIPPED_BY_SETTINGS)


def plain_pdf(pages: Sequence[ScannedPage]) -> bytes:
    """The pages, in order, as a PDF with no archival declaration."""
    if all(page.pixel_format is not PixelFormat.PDF for page in pages):
        raw: bytes = img2pdf.convert([page.data for page in encode_pages(pages)])
        return raw
    return pages_to_pdfa(pages)  # pages that came as PDF are merged by the PDF/A path


def sign(doc: Document, settings: StepSettings, signer: str, location: str = "") -> None:
    """Step 4: the digitising clerk's PAdES signature (no key at this desk: skipped)."""
    if not settings.runs(Step.SIGN):
        doc.note(Step.SIGN, Outcome.SKIPPED, SKIPPED_BY_SETTINGS)
        return
    if settings.key is None:
        doc.note(Step.SIGN, Outcome.SKIPPED, NO_SIGNING_KEY)
        return
    from .signing import SignatureRequest, sign_pdf

    try:
        doc.pdf = sign_pdf(doc.pdf, settings.key, SignatureRequest(signer, location=location))
    except MotcuaError as err:
        raise StepFailed(Step.SIGN, err.message, **err.params) from None
    except Exception as err:  # pyHanko, the token's library: said in words, not a trace
        raise StepFailed(
            Step.SIGN,
            N_("The scan of {document} could not be signed: {detail}"),
            document=doc.name,
            detail=str(err) or type(err).__name__,
        ) from None
    doc.note(Step.SIGN, Outcome.DONE, N_("signed by {signer}"), signer=signer)


def run_document_steps(
    docs: Sequence[Document],
    components: Sequence[Component],
    settings: StepSettings,
    info_of: Mapping[str, DocumentInfo],
    signer: str,
    location: str = "",
) -> None:
    """Steps 1–4 for every document, in order; raises :class:`StepFailed` on the first
    refusal (no file has been kept or recorded yet)."""
    for doc in docs:
        drop_blank(doc, settings)
    if settings.runs(Step.CHECKLIST):
        check_checklist(docs, components)
    else:
        skip_checklist(docs)
    for doc in docs:
        make_pdf(doc, info_of.get(doc.component, DocumentInfo()), settings)
        sign(doc, settings, signer, location)
