"""PAdES signing with the key on a PKCS#11 token: SoftHSM2, a real PKCS#11 module.

The token lives in a private SOFTHSM2_CONF directory; the clerk's key and certificate
are made in the test, imported into the token, and used through signing.Pkcs11Key.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11 import Attribute, CertificateType, ObjectClass
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from core.documents.pdfa import pages_to_pdfa, pdfa_status
from core.documents.signing import Pkcs11Key, SignatureRequest, sign_pdf
from core.domain.errors import ValidationError
from core.ports import ColorMode

from .test_pdfa import page_of, text_page
from .test_sign_ocr import PASSWORD, clerk_certificate

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "motcua-clerk"
LABEL = "tran-van-duc"
PIN = "123456"


@dataclass(frozen=True)
class Token:
    key: Pkcs11Key
    cert_der: bytes


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    """A SoftHSM2 token holding the clerk's RSA key and certificate under one label."""
    assert SOFTHSM.exists(), "install Debian's softhsm2 (scripts/apt-packages.txt)"
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        util = ["softhsm2-util", "--pin", PIN]
        run(*util, "--init-token", "--free", "--label", TOKEN, "--so-pin", "654321")
        p12, cert_der = clerk_certificate(home)
        key, _cert, _chain = pkcs12.load_key_and_certificates(p12.read_bytes(), PASSWORD)
        assert key is not None
        pem = home / "clerk-key.pem"
        pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        run(*util, "--import", str(pem), "--token", TOKEN, "--label", LABEL, "--id", "01")
        subject = x509.load_der_x509_certificate(cert_der).subject.public_bytes()
        with (
            pkcs11.lib(str(SOFTHSM))
            .get_token(token_label=TOKEN)
            .open(rw=True, user_pin=PIN) as session
        ):
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.LABEL: LABEL,
                    Attribute.ID: b"\x01",
                    Attribute.VALUE: cert_der,
                    Attribute.SUBJECT: subject,
                }
            )
        yield Token(Pkcs11Key(SOFTHSM, TOKEN, LABEL, PIN), cert_der)


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr + done.stdout


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
