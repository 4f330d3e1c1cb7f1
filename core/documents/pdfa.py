"""Scanned pages → one PDF/A-2b file, page order kept, real page size from the dpi.

img2pdf places each encoded page without re-encoding it (JPEG stays JPEG, G4 stays G4)
at width / dpi inches; pikepdf then makes the file PDF/A-2b: an sRGB output intent,
XMP metadata that declares the conformance, document information in step with it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import img2pdf
import pikepdf
from PIL import ImageCms

from core.domain.timeutil import VIETNAM
from core.ports.scanner import PixelFormat, ScannedPage

from .images import EncodedPage, encode, to_image
from .pipeline import PageEncoder, encode_in_parallel

PDF_VERSION = "1.7"


@dataclass(frozen=True)
class DocumentInfo:
    title: str = ""
    author: str = ""  # the digitising clerk
    subject: str = ""
    keywords: tuple[str, ...] = ()
    created: datetime | None = None
    language: str = "vi-VN"


def pages_to_pdfa(
    pages: Sequence[ScannedPage], info: DocumentInfo | None = None, workers: int | None = None
) -> bytes:
    """Every page, in order, as one PDF/A-2b document."""
    if all(page.pixel_format is not PixelFormat.PDF for page in pages):
        return encoded_to_pdfa(encode_pages(pages, workers), info)
    return _merge_mixed(pages, info)


def encoder_to_pdfa(encoder: PageEncoder, info: DocumentInfo | None = None) -> bytes:
    """The pages a :class:`PageEncoder` was fed during a scan, as one PDF/A-2b."""
    return encoded_to_pdfa(encoder.encoded(), info)


def encode_pages(pages: Sequence[ScannedPage], workers: int | None = None) -> list[EncodedPage]:
    """Each image page encoded for the PDF, in order; with two pages or more, gray pages
    with real tones are encoded in worker processes (``workers=1``: all in this one)."""
    if len(pages) < 2:
        return [_encode_page(page) for page in pages]
    return encode_in_parallel(pages, workers)


def _encode_page(page: ScannedPage) -> EncodedPage:
    return encode(to_image(page), page.dpi)


def encoded_to_pdfa(pages: Iterable[EncodedPage], info: DocumentInfo | None = None) -> bytes:
    raw = img2pdf.convert([page.data for page in pages])
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        return finish_pdfa(pdf, info or DocumentInfo())


def _merge_mixed(pages: Sequence[ScannedPage], info: DocumentInfo | None) -> bytes:
    """Pages some of which arrived as PDF (eSCL, watched folders): merged in order."""
    out = pikepdf.new()
    for page in pages:
        if page.pixel_format is PixelFormat.PDF:
            source = pikepdf.open(io.BytesIO(page.data))
        else:
            one = img2pdf.convert(_encode_page(page).data)
            source = pikepdf.open(io.BytesIO(one))
        out.pages.extend(source.pages)
    return finish_pdfa(out, info or DocumentInfo())


def finish_pdfa(pdf: pikepdf.Pdf, info: DocumentInfo) -> bytes:
    """Declare and make ``pdf`` PDF/A-2b; returns the saved bytes."""
    pdf.Root.OutputIntents = pikepdf.Array([_output_intent(pdf)])
    pdf.Root.Lang = pikepdf.String(info.language)
    pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=False)
    if "/Metadata" in pdf.Root:
        del pdf.Root["/Metadata"]
    _strip_forbidden(pdf)
    created = (info.created or datetime.now(VIETNAM)).isoformat(timespec="seconds")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = info.title or "Untitled"
        if info.author:
            meta["dc:creator"] = [info.author]
        if info.subject:
            meta["dc:description"] = info.subject
        if info.keywords:
            meta["pdf:Keywords"] = ", ".join(info.keywords)
        meta["xmp:CreateDate"] = created
        meta["xmp:ModifyDate"] = created
        meta["xmp:MetadataDate"] = created
        meta["pdf:Producer"] = "Một Cửa"
        meta["xmp:CreatorTool"] = "Một Cửa"
    out = io.BytesIO()
    pdf.save(out, min_version=PDF_VERSION, fix_metadata_version=True)
    return out.getvalue()


def _strip_forbidden(pdf: pikepdf.Pdf) -> None:
    """PDF/A forbids interpolated images; img2pdf may leave the flag on."""
    for page in pdf.pages:
        for image in page_images(page):
            if "/Interpolate" in image:
                del image["/Interpolate"]


def page_images(page: pikepdf.Page) -> list[pikepdf.Object]:
    """The image XObjects a page draws directly (scans have exactly one)."""
    resources = page.obj.get("/Resources", pikepdf.Dictionary())
    xobjects = resources.get("/XObject", pikepdf.Dictionary())
    return [obj for _name, obj in xobjects.items() if obj.get("/Subtype") == "/Image"]


def _output_intent(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    profile = pikepdf.Stream(pdf, srgb_profile())
    profile.N = 3
    return pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent,
        S=pikepdf.Name.GTS_PDFA1,
        OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
        Info=pikepdf.String("sRGB IEC61966-2.1"),
        DestOutputProfile=profile,
    )


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """An sRGB ICC profile built by LittleCMS (no file to ship)."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    data: bytes = profile.tobytes()
    return data


def content_address(data: bytes) -> str:
    """The blob key under which a finished file is stored: its SHA-256, hex."""
    return hashlib.sha256(data).hexdigest()


def page_count(pdf_bytes: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        return len(pdf.pages)


def pdfa_status(pdf_bytes: bytes) -> str:
    """The PDF/A conformance the file declares ("2B"), or "" when it declares none."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        status: str = pdf.open_metadata().pdfa_status
        return status
