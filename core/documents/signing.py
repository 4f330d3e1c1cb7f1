"""PAdES signature of the clerk who digitised a document (Circular 01/2023/TT-VPCP).

The visible stamp (signer, time) sits at the top-left of page 1. The key comes from a
PKCS#12 file or, when python-pkcs11 is installed, a PKCS#11 token (USB key). Signing is
an incremental update, so the PDF/A declaration of the scan is kept.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pikepdf
from pyhanko import stamp
from pyhanko.pdf_utils import text
from pyhanko.pdf_utils.font import opentype
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from core.domain.errors import N_, ValidationError
from core.domain.timeutil import VIETNAM
from core.ports.errors import NoBackendAvailable

from .fonts import font_file

FIELD_NAME = "MotCuaDigitiser"
STAMP_SIZE = (230, 62)  # points
STAMP_MARGIN = 18


@dataclass(frozen=True)
class Pkcs12Key:
    path: Path
    passphrase: bytes | None = None


@dataclass(frozen=True)
class Pkcs11Key:
    library: Path  # the token's PKCS#11 module (.so / .dll)
    token_label: str
    key_label: str
    pin: str


@dataclass(frozen=True)
class SignatureRequest:
    signer_name: str
    position: str = ""  # job title, printed on the stamp
    location: str = ""
    reason: str = "Số hóa hồ sơ"
    signed_at: datetime | None = None


def sign_pdf(pdf: bytes, key: Pkcs12Key | Pkcs11Key, request: SignatureRequest) -> bytes:
    """``pdf`` with a PAdES B-B signature and its stamp at the top-left of page 1."""
    with _signer(key) as signer:
        return _sign(pdf, signer, request)


def _sign(pdf: bytes, signer: signers.Signer, request: SignatureRequest) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(
        writer,
        fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=0, box=_stamp_box(pdf)),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=request.signer_name,
        location=request.location or None,
        reason=request.reason,
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=_stamp_style(request))
    out = io.BytesIO()
    pdf_signer.sign_pdf(writer, output=out)
    return out.getvalue()


def _stamp_box(pdf: bytes) -> tuple[int, int, int, int]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        x0, _y0, x1, y1 = (int(float(v)) for v in doc.pages[0].mediabox)
    width, height = STAMP_SIZE
    left, top = x0 + STAMP_MARGIN, y1 - STAMP_MARGIN
    return (left, top - height, min(left + width, x1), top)


def _stamp_style(request: SignatureRequest) -> stamp.TextStampStyle:
    moment = (request.signed_at or datetime.now(VIETNAM)).astimezone(VIETNAM)
    lines = [f"Người ký: {request.signer_name}"]
    if request.position:
        lines.append(f"Chức vụ: {request.position}")
    lines.append(f"Thời gian ký: {moment:%H:%M %d/%m/%Y}")
    return stamp.TextStampStyle(
        stamp_text="\n".join(lines).replace("%", "%%"),
        border_width=1,
        text_box_style=text.TextBoxStyle(
            font=opentype.GlyphAccumulatorFactory(str(font_file()), font_size=9)
        ),
    )


@contextmanager
def _signer(key: Pkcs12Key | Pkcs11Key) -> Iterator[signers.Signer]:
    if isinstance(key, Pkcs11Key):
        with _pkcs11_signer(key) as token_signer:
            yield token_signer
        return
    signer: signers.Signer | None = signers.SimpleSigner.load_pkcs12(  # type: ignore[no-untyped-call]
        str(key.path), passphrase=key.passphrase
    )
    if signer is None:
        raise ValidationError(N_("Cannot read the signing key file {path}"), path=str(key.path))
    yield signer


@contextmanager
def _pkcs11_signer(key: Pkcs11Key) -> Iterator[signers.Signer]:
    """A signer on the token's key; the session is closed (logged out) afterwards."""
    try:
        from pyhanko.config.errors import ConfigurationError
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11
    except ImportError:
        raise NoBackendAvailable("PKCS#11 token", "python-pkcs11") from None
    try:
        session = pkcs11.open_pkcs11_session(
            str(key.library),
            token_criteria=TokenCriteria(label=key.token_label),
            user_pin=key.pin,
        )
    except (ConfigurationError, OSError, RuntimeError) as err:
        raise ValidationError(
            N_("Cannot open the signing token {token}: {detail}"),
            token=key.token_label,
            detail=str(err) or type(err).__name__,
        ) from None
    try:
        yield pkcs11.PKCS11Signer(session, cert_label=key.key_label, key_label=key.key_label)
    finally:
        session.close()
