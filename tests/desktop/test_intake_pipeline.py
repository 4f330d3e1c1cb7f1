"""The intake's document steps through the real app: blank pages, checklist, PDF/A, the
clerk's PAdES signature (PKCS#12 file, PKCS#11 token), the file kept and recorded, then
Vietnamese OCR in the background, its progress on the dossier screen and its words in
the search."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from core.documents.ocr import ocr_available
from core.documents.ocr_jobs import OcrState
from core.documents.pdfa import pdfa_status
from core.i18n import _, tr
from core.services import desk_secrets, documents
from core.storage import event_store
from desktop.composition import compose
from desktop.settings import FILE_NAME
from tests.documents.test_pdfa import text_page
from tests.documents.test_sign_ocr import PASSWORD, clerk_certificate
from tests.softhsm import Token

from .flows import fill_applicant, login, receive, start_intake

LINES = ["Cộng hòa xã hội chủ nghĩa Việt Nam", "Đơn đề nghị cấp giấy khai sinh"]


def scan_file(folder: Path, name: str = "to-khai.png") -> Path:
    """One small page of printed Vietnamese at 300 dpi (a short OCR job)."""
    path = folder / name
    text_page(LINES, dpi=300, size=(2480, 900)).save(path, dpi=(300, 300))
    return path


def blank_file(folder: Path) -> Path:
    path = folder / "trang-trang.png"
    Image.new("L", (1240, 1754), 250).save(path, dpi=(150, 150))
    return path


def to_documents(h: Any, paths: list[Path]) -> tuple[Any, str]:
    """An officer's intake on its documents step, ``paths`` imported on the first one."""
    login(h, "officer")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    key = screen.draft.procedure.components[0].key
    screen.import_files(key, paths)
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == len(paths))
    return screen, key


def scans_of(view: Any, key: str) -> list[dict[str, Any]]:
    return next(list(c.get("files", [])) for c in view.components if c["key"] == key)


def count_events(h: Any) -> int:
    with h.app.services.branch.store.read() as conn:
        return event_store.count(conn)


def settings_screen(h: Any) -> Any:
    h.key("F8")
    h.settle()
    assert h.screen.route == "settings"
    return h.screen


def type_signing_key(h: Any, **values: str) -> None:
    """In Settings → Document intake: type the signing key's fields and save them."""
    section = settings_screen(h).intake
    for name, value in values.items():
        section.fields[name].input.text = value
    h.press(_("Save the signing key"))
    assert h.status() == _("Signing key saved.")


def validate(pdf: bytes, cert_der: bytes) -> Any:
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(cert_der)])
    return validate_pdf_signature(signature, context)


@pytest.mark.skipif(not ocr_available(), reason="tesseract is in scripts/apt-packages.txt")
def test_ocr_finishes_in_the_background_and_finds_the_dossier_by_a_word(
    harness: Any, tmp_path: Path
) -> None:
    """GIVEN an intake with one scanned page of printed Vietnamese
    WHEN the dossier is received and its page read in the background
    THEN the receipt does not wait for the OCR; the dossier screen shows the job's
    progress and then the words read; the lookup finds the dossier by words of the
    page typed without accents (words that are nowhere else in the dossier)."""
    h = harness
    screen, key = to_documents(h, [scan_file(tmp_path)])
    receive(h, screen)
    view = screen.outcome
    (scan,) = scans_of(view, key)
    sha = scan["sha256"]
    assert h.shows(_("Text recognition (OCR)"))  # the steps card: OCR queued
    jobs = h.app.services.ocr
    assert jobs.progress[sha].state in (OcrState.QUEUED, OcrState.RUNNING)

    h.go("dossier", code=view.code)
    h.pump(until=lambda: h.screen.route == "dossier" and h.screen.detail is not None)
    h.pump(until=lambda: sha in h.screen.detail.texts, timeout=180)
    assert jobs.progress[sha].state is OcrState.DONE
    words = len(h.screen.detail.texts[sha].split())
    h.pump(until=lambda: h.shows(tr("Text recognised: {n} words, searchable", n=words)))
    h.screenshot(tmp_path / "dossier-ocr.png")

    h.key("F3")
    h.screen.query.input.text = "xa hoi chu nghia"
    h.screen.query.input.dispatch("on_text_validate")
    h.settle()
    assert h.screen.table.keys == [view.code]
    assert h.app.services.branch.dossiers.search("CỘNG HÒA") == [
        h.app.services.branch.dossiers.get(view.code)
    ]


def test_a_scan_is_signed_with_the_clerks_pkcs12_key_and_validates(
    harness: Any, tmp_path: Path
) -> None:
    """GIVEN the clerk's PKCS#12 key file and passphrase typed in Settings
    WHEN a dossier is received with a scanned document
    THEN the recorded file is PDF/A-2b with one PAdES signature that pyHanko finds
    intact, valid and trusted, and the steps card says it was signed."""
    h = harness
    p12, cert_der = clerk_certificate(tmp_path)
    login(h, "officer")
    h.app.services.settings.intake_skip = ["ocr"]  # this test is about the signature
    type_signing_key(h, signing_key_file=str(p12), signing_key_passphrase=PASSWORD.decode("utf-8"))
    # The passphrase is kept in the store, not beside it in desktop.json.
    data_dir = h.app.services.data_dir
    assert PASSWORD not in (data_dir / FILE_NAME).read_bytes()
    assert str(p12) in (data_dir / FILE_NAME).read_text("utf-8")
    kept = desk_secrets.read_all(h.app.services.branch)
    assert kept["signing_key_passphrase"] == PASSWORD.decode("utf-8")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    key = screen.draft.procedure.components[0].key
    screen.import_files(key, [scan_file(tmp_path)])
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == 1)
    receive(h, screen)
    (scan,) = scans_of(screen.outcome, key)
    signed = documents.read(h.app.services.branch, scan["sha256"])
    status = validate(signed, cert_der)
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject.native["common_name"] == "Trần Văn Đức"
    assert pdfa_status(signed) == "2B"
    assert h.shows(tr("signed by {signer}", signer="Nguyễn Văn An"))
    h.screenshot(tmp_path / "intake-signed.png")


def test_a_scan_is_signed_on_a_pkcs11_token(
    harness: Any,
    tmp_path: Path,
    token: Token,  # the session's SoftHSM2 token (tests/conftest.py)
) -> None:
    """GIVEN a SoftHSM2 token holding the clerk's key, set up in Settings
    WHEN a dossier is received with a scanned document
    THEN its file carries a PAdES signature made on the token, valid for pyHanko."""
    h = harness
    login(h, "officer")
    h.app.services.settings.intake_skip = ["ocr"]
    type_signing_key(
        h,
        signing_token_module=str(token.key.library),
        signing_token_label=token.key.token_label,
        signing_token_key=token.key.key_label,
        signing_token_pin=token.key.pin,
    )
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    key = screen.draft.procedure.components[0].key
    screen.import_files(key, [scan_file(tmp_path)])
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == 1)
    receive(h, screen)
    (scan,) = scans_of(screen.outcome, key)
    status = validate(documents.read(h.app.services.branch, scan["sha256"]), token.cert_der)
    assert status.intact and status.valid and status.trusted


def test_a_wrong_passphrase_is_said_and_nothing_is_recorded(harness: Any, tmp_path: Path) -> None:
    """GIVEN a key file set up with the wrong passphrase
    WHEN the officer receives a dossier with a scan
    THEN the signing step's refusal is said in words (no trace), the form stays on the
    review step, and no dossier, event or file is recorded."""
    h = harness
    p12, _cert = clerk_certificate(tmp_path)
    login(h, "officer")
    type_signing_key(h, signing_key_file=str(p12), signing_key_passphrase="sai-mat-khau")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    key = screen.draft.procedure.components[0].key
    screen.import_files(key, [scan_file(tmp_path)])
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == 1)
    before = count_events(h)
    screen.components_page.check_all()
    h.press(screen.forward_button.text)
    h.press(screen.forward_button.text)
    screen.receive()
    h.pump(until=lambda: not screen.forward_button.disabled, timeout=30)
    assert screen.step == 4
    assert h.status() == tr("Cannot read the signing key file {path}", path=str(p12))
    assert h.app.services.branch.dossiers.browse() == []
    assert count_events(h) == before
    assert not documents.blob_root(h.app.services.branch).exists()


def test_blank_pages_are_left_out_and_an_all_blank_document_is_refused(
    harness: Any, tmp_path: Path
) -> None:
    """GIVEN a document of one blank page
    WHEN the officer receives
    THEN the checklist refuses it in words and nothing is recorded;
    WHEN the blank-page check is then turned off in Settings, and PDF/A too
    THEN the same form records one dossier with the page as a plain PDF, and the steps
    card says which steps were skipped and why."""
    h = harness
    screen, key = to_documents(h, [blank_file(tmp_path)])
    screen.components_page.check_all()
    h.press(screen.forward_button.text)
    h.press(screen.forward_button.text)
    screen.receive()
    h.pump(until=lambda: not screen.forward_button.disabled, timeout=30)
    name = screen.draft.procedure.components[0].name
    message = "Every page scanned for {document} is blank: scan it again or remove it"
    assert h.status() == tr(message, document=name)
    assert h.app.services.branch.dossiers.browse() == []

    section = settings_screen(h).intake
    checks = [c for c in section.card.walk(restrict=True) if type(c).__name__ == "Check"]
    for check in checks[:3]:  # blank pages, checklist, PDF/A
        check.dispatch("on_press")
    checks[4].dispatch("on_press")  # and OCR
    assert h.app.services.settings.intake_skip == ["blank", "checklist", "pdfa", "ocr"]
    h.key("F2")  # back to the intake, still on its review step
    h.settle()
    screen.receive()
    h.pump(until=lambda: screen.step == 5, timeout=30)
    (scan,) = scans_of(screen.outcome, key)
    assert pdfa_status(documents.read(h.app.services.branch, scan["sha256"])) == ""
    skipped = tr(
        "{step}: {outcome} ({note})",
        step=_("PDF/A"),
        outcome=_("skipped"),
        note=_("turned off in Settings"),
    )
    assert h.shows(skipped)


def test_a_blank_back_is_left_out_of_the_file(harness: Any, tmp_path: Path) -> None:
    """GIVEN a document scanned as a printed page and a blank back
    WHEN the dossier is received
    THEN its file has the one printed page, and the steps card says one blank page was
    left out."""
    h = harness
    h.app.services.settings.intake_skip = ["ocr"]
    screen, key = to_documents(h, [scan_file(tmp_path), blank_file(tmp_path)])
    receive(h, screen)
    assert [f["pages"] for f in scans_of(screen.outcome, key)] == [1]
    assert h.shows(tr("{n} blank pages left out", n=1))


def test_pages_added_to_a_received_dossier_go_through_the_same_steps(
    harness: Any, tmp_path: Path
) -> None:
    """GIVEN a dossier received without scans, open on its screen
    WHEN the clerk adds a blank page to one of its documents, then a printed page
    THEN the blank one is refused in words with nothing recorded; the printed one
    becomes the document's file (PDF/A, one page) and its OCR is queued."""
    h = harness
    login(h, "officer")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    receive(h, screen)
    view = screen.outcome
    key = view.components[0]["key"]
    h.go("dossier", code=view.code)
    h.pump(until=lambda: h.screen.route == "dossier" and h.screen.detail is not None)
    detail = h.screen
    assert h.button(_("Add pages…")) is not None
    before = count_events(h)

    detail.scans.add(view, key, [blank_file(tmp_path)])
    name = view.components[0]["name"]
    message = "Every page scanned for {document} is blank: scan it again or remove it"
    h.pump(until=lambda: h.status() == tr(message, document=name), timeout=30)
    assert count_events(h) == before

    detail.scans.add(view, key, [scan_file(tmp_path)])
    h.pump(until=lambda: h.status() == tr("{n} pages added", n=1), timeout=30)
    (scan,) = scans_of(h.app.services.branch.dossiers.get(view.code), key)
    assert pdfa_status(documents.read(h.app.services.branch, scan["sha256"])) == "2B"
    assert scan["sha256"] in h.app.services.ocr.progress
    h.pump(until=lambda: sha_shown(h, scan["sha256"]))


def sha_shown(h: Any, sha: str) -> bool:
    return h.screen.route == "dossier" and sha in h.screen.page_slots


def test_secrets_an_earlier_version_left_in_desktop_json_move_into_the_store(
    store: Path,
) -> None:
    """GIVEN a desktop.json holding the signing passphrase and PIN in clear (as versions
    before 0.1.x kept them) WHEN the desk starts THEN both are in the store, the file no
    longer holds them, and its other settings are kept."""
    legacy = {
        "language": "en",
        "signing_key_file": "/etc/motcua/clerk.p12",
        "signing_key_passphrase": "mat-khau-cu-1",
        "signing_token_pin": "246810",
    }
    (store / FILE_NAME).write_text(json.dumps(legacy), encoding="utf-8")
    services = compose(store, with_devices=False, start_sync=False)
    try:
        assert services.secrets["signing_key_passphrase"] == "mat-khau-cu-1"
        assert services.secrets["signing_token_pin"] == "246810"
        assert desk_secrets.read_all(services.branch) == services.secrets
    finally:
        services.close()
    kept = json.loads((store / FILE_NAME).read_text("utf-8"))
    assert "signing_key_passphrase" not in kept and "signing_token_pin" not in kept
    assert kept["signing_key_file"] == "/etc/motcua/clerk.p12" and kept["language"] == "en"
    assert b"246810" not in (store / FILE_NAME).read_bytes()
