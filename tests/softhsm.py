"""The SoftHSM2 token the signing tests share (tests/documents/test_pkcs11.py and the
desktop's intake pipeline test): one per session, because the PKCS#11 module reads its
SOFTHSM2_CONF once per process — a second token directory made later in the same run
would not be seen, and the first token's objects would be found twice."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11 import Attribute, CertificateType, ObjectClass

from core.documents.signing import Pkcs11Key
from tests.documents.test_sign_ocr import PASSWORD, clerk_certificate

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "motcua-clerk"
LABEL = "tran-van-duc"
PIN = "123456"


@dataclass(frozen=True)
class Token:
    key: Pkcs11Key
    cert_der: bytes


@pytest.fixture(scope="session")
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
