"""PAdES signing with the key on a PKCS#11 token: SoftHSM2, a real PKCS#11 module.

The token lives in a private SOFTHSM2_CONF directory; the clerk's key and certificate
are made in the test, imported into the token, and used through signing.Pkcs11Key.
"""

from __future__ import annotations

import io

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from core.documents.pdfa import pages_to_pdfa, pdfa_status
from core.documents.signing import Pkcs11Key, SignatureRequest, sign_pdf
from core.domain.errors import ValidationError
from core.ports import ColorMode
from tests.softhsm import LABEL, SOFTHSM, TOKEN, Token

from .test_pdfa import page_of, text_page


def test_scan_signed_on_the_token_validates(token: Token) -> None:
    """GIVEN a digitised page as PDF/A-2b and the clerk's key on a PKCS#11 token
    WHEN it is signed through Pkcs11Key
    THEN pyHanko finds one intact, valid, trusted PAdES signature by that certificate,
    and the file still declares PDF/A-2b."""
    scan = pages_to_pdfa([page_of(text_page(["Giấy khai sinh"]), 1, ColorMode.GRAY)])
    signed = sign_pdf(scan, token.key, SignatureRequest("Trần Văn Đức", location="Tân Lập"))
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    cert = asn1_x509.Certificate.load(token.cert_der)
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[cert]))
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.signing_cert.dump() == token.cert_der
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert pdfa_status(signed) == "2B"


def test_wrong_pin_is_a_clear_error(token: Token) -> None:
    """GIVEN the token and a wrong PIN WHEN signing THEN a ValidationError names the token."""
    scan = pages_to_pdfa([page_of(text_page(["Giấy khai sinh"]), 1, ColorMode.GRAY)])
    wrong = Pkcs11Key(SOFTHSM, TOKEN, LABEL, "000000")
    with pytest.raises(ValidationError, match=f"Cannot open the signing token {TOKEN}: "):
        sign_pdf(scan, wrong, SignatureRequest("Trần Văn Đức"))
