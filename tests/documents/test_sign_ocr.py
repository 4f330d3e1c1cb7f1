"""PAdES signing of a digitised scan (validated by pyHanko) and Vietnamese OCR."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from core.documents.ocr import ocr_pdf
from core.documents.pdfa import pages_to_pdfa, pdfa_status
from core.documents.signing import Pkcs12Key, SignatureRequest, sign_pdf
from core.ports import ColorMode

from .test_pdfa import page_of, text_page

PASSWORD = b"mat-khau"


def clerk_certificate(tmp_path: Path) -> tuple[Path, bytes]:
    """A self-signed signing certificate for "Trần Văn Đức" as a PKCS#12 file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Trần Văn Đức"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, False, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "clerk.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"clerk", key, cert, None, serialization.BestAvailableEncryption(PASSWORD)
        )
    )
    return path, cert.public_bytes(serialization.Encoding.DER)


def test_signed_scan_validates_and_stays_pdfa(tmp_path: Path) -> None:
    """GIVEN a digitised page as PDF/A-2b and the clerk's PKCS#12 key
    WHEN it is signed
    THEN pyHanko finds one intact, valid, trusted PAdES signature by the clerk,
    the stamp sits at the top-left of page 1, and the file still declares PDF/A-2b."""
    p12, cert_der = clerk_certificate(tmp_path)
    scan = pages_to_pdfa([page_of(text_page(["Giấy khai sinh"]), 1, ColorMode.GRAY)])
    signed = sign_pdf(
        scan,
        Pkcs12Key(p12, PASSWORD),
        SignatureRequest("Trần Văn Đức", position="Công chức một cửa", location="Tân Lập"),
    )
    reader = PdfFileReader(io.BytesIO(signed))
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(cert_der)])
    status = validate_pdf_signature(signature, context)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert "Trần Văn Đức" in status.signing_cert.subject.human_friendly
    with pikepdf.open(io.BytesIO(signed)) as doc:
        (widget,) = [a for a in doc.pages[0].Annots if a.get("/FT") == "/Sig"]
        x0, _y0, _x1, y1 = (float(v) for v in widget.Rect)
        page_height = float(doc.pages[0].mediabox[3])
    assert x0 < 30
    assert page_height - y1 < 30
    assert pdfa_status(signed) == "2B"


def test_ocr_reads_vietnamese_with_diacritics(tmp_path: Path) -> None:
    """GIVEN a 300 dpi scan of a page of Vietnamese text
    WHEN it is OCRed with tesseract `vie`
    THEN the text layer holds the words with their diacritics and the file is PDF/A-2b."""
    lines = [
        "Cộng hòa xã hội chủ nghĩa Việt Nam",
        "Đơn đề nghị cấp giấy khai sinh",
        "Nguyễn Thị Ánh Tuyết",
    ]
    page = page_of(text_page(lines, dpi=300, size=(2480, 1200)), 1, ColorMode.GRAY, dpi=300)
    searchable = ocr_pdf(pages_to_pdfa([page]))
    (tmp_path / "ocr.pdf").write_bytes(searchable)
    done = subprocess.run(
        ["pdftotext", str(tmp_path / "ocr.pdf"), "-"], capture_output=True, check=True
    )
    words = set(done.stdout.decode().split())
    assert {"Việt", "Nguyễn", "Ánh", "Tuyết", "nghị", "giấy"} <= words
    assert pdfa_status(searchable) == "2B"
