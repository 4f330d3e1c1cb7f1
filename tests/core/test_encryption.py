"""Encryption at rest: the store through SQLCipher, the device key and the scans sealed, the
key in the OS keystore or under the branch passphrase; a plain store encrypted in place.

What a thief of the disk image could read is checked the blunt way: the bytes of every
file of the data folder are searched for the citizen's name and ID number and the scan.
The keystore path runs against a real Secret Service (gnome-keyring in a private D-Bus
session); the passphrase path with ``MOTCUA_KEYSTORE=off``, as on a headless machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.domain.errors import StoreError, StoreKeyError
from core.services import backup, consistency, doctor, documents, encryption, printouts, storekey
from core.services.branch import Branch
from core.services.sync import LocalReplica
from core.sync import sealed
from core.sync.client import FileSlice, PrefixHasher
from tests.sync import fixtures as sync_fixtures
from tests.sync.fixtures import OFFICER, Net, add_clerks, receive
from tests.sync.live import live_server

from .conftest import APPLICANT

PASSPHRASE = "mật khẩu chi nhánh Tây Hồ"
ADMIN = ("admin", "admin-pass-1")
ROOT = Path(__file__).resolve().parents[2]
SCAN_MARK = b"SCAN-OF-CCCD-001090012345"
# What must never be readable on the disk: the name (as typed and as folded for search),
# the citizen ID, the address, and a mark inside the scan.
SECRETS = [
    APPLICANT["full_name"].encode(),
    b"nguyen van an",
    APPLICANT["id_number"].encode(),
    "Xuân Diệu".encode(),
    SCAN_MARK,
]


@pytest.fixture(autouse=True)
def headless(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OS keystore (the passphrase path) and a cheap Argon2 for in-process tests."""
    monkeypatch.setenv("MOTCUA_LANG", "en")
    monkeypatch.setenv(storekey.KEYSTORE_ENV, "off")
    monkeypatch.delenv(storekey.PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(storekey, "TIME_COST", 1)
    monkeypatch.setattr(storekey, "MEMORY_KIB", 8 * 1024)
    monkeypatch.setattr(storekey, "LANES", 1)


def leaks(folder: Path) -> list[str]:
    """Files under `folder` holding any of SECRETS in the clear (case-insensitive)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        found += [f"{path.name}: {s!r}" for s in SECRETS if s.lower() in data]
    return found


def scan_pdf(size: int = 3 << 20) -> bytes:
    return b"%PDF-1.7\n" + SCAN_MARK + os.urandom(size)


def real_pdf() -> bytes:
    """A one-page PDF carrying SCAN_MARK in the clear (`dossier attach` makes a PDF/A of it)."""
    import io

    import pikepdf

    document = pikepdf.new()
    document.add_blank_page()
    document.docinfo["/Title"] = SCAN_MARK.decode()
    out = io.BytesIO()
    document.save(out, compress_streams=False)
    return out.getvalue()


def receive_with_scan(desk: Branch) -> tuple[str, str, bytes]:
    add_clerks(desk)
    view = receive(desk)
    pdf = scan_pdf()
    documents.attach(desk, OFFICER, view.code, str(view.components[0]["key"]), pdf, 1)
    sha = documents.files(desk, view.code)[0][1]["sha256"]
    return view.code, str(sha), pdf


# --- the blob files ---------------------------------------------------------------------------


def test_a_sealed_blob_reads_at_any_offset_and_resumes_after_a_cut(tmp_path: Path) -> None:
    """GIVEN a blob root with a key WHEN a 2.5 MiB file is appended in uneven writes, cut
    mid-record, and appended again THEN its plain size counts whole records only, any
    offset reads the plain bytes, uploads slice and hash them as plain, and nothing of the
    plain bytes is in the file; a plain partial file found there is sealed, not lost."""
    root = tmp_path / "blobs"
    root.mkdir()
    data = os.urandom(5 << 19) + SCAN_MARK
    sealed.register(root, os.urandom(32), root)
    try:
        path = root / "partial.part"
        with sealed.open_append(path) as out:
            out.write(data[:1000])
            out.write(data[1000 : 2 << 20])
        whole = path.stat().st_size
        with path.open("ab") as torn:  # a crash in the middle of the next record
            torn.write(b"\x00\x00\x10\x00" + os.urandom(100))
        assert sealed.size(path) == 2 << 20
        with sealed.open_append(path) as out:
            assert path.stat().st_size == whole  # the cut record was dropped
            out.write(data[sealed.size(path) :])
        assert sealed.size(path) == len(data) and sealed.is_sealed(path)
        assert SCAN_MARK not in path.read_bytes()
        with sealed.open_read(path) as handle:
            for at in (0, 1, (1 << 20) - 3, 2_000_000, len(data) - 5):
                handle.seek(at)
                assert handle.read(4096) == data[at : at + 4096]
        assert b"".join(FileSlice(path, 12345, 1 << 20, "")) == data[12345 : 12345 + (1 << 20)]
        hasher = PrefixHasher(path, 1 << 20)
        piece = hasher.next_slice(1 << 20)
        assert piece.prefix_sha256 == hashlib.sha256(data[: 2 << 20]).hexdigest()
        older = root / "older.part"  # a plain partial download from before encryption
        older.write_bytes(data[:5000])
        assert sealed.size(older) == 5000
        with sealed.open_append(older) as out:  # sealed first: its bytes still count
            out.write(data[5000:9000])
        assert sealed.is_sealed(older) and sealed.read_bytes(older) == data[:9000]
    finally:
        sealed.unregister(root, root)
    assert sealed.read_bytes(path) != data  # no key: the sealed bytes as they are
    sealed.register(root, os.urandom(32), root)
    try:
        with pytest.raises(StoreError, match="does not open with this store's key"):
            sealed.read_bytes(path)
    finally:
        sealed.unregister(root, root)


# --- an encrypted desk ------------------------------------------------------------------------


def test_an_encrypted_desk_keeps_no_citizen_data_in_the_clear(tmp_path: Path) -> None:
    """GIVEN a desk initialised encrypted under the branch passphrase
    WHEN a dossier is received with a 3 MiB scan THEN no file of the data folder holds the
    citizen's name, ID number, address or the scan in the clear; reopened with the
    passphrase, the dossier, its search and the scan's exact bytes are there; doctor says
    the store is encrypted and passes SQLite's check on it."""
    data_dir = tmp_path / "desk"
    desk = Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE)
    code, sha, pdf = receive_with_scan(desk)
    desk.close()
    assert leaks(data_dir) == []
    keys = json.loads((data_dir / storekey.KEYS_FILE).read_text())
    assert keys["keyring"] is None and keys["passphrase"]["kdf"] == "argon2id"

    desk = Branch.open(data_dir, passphrase=PASSPHRASE)
    try:
        assert desk.dossiers.get(code).applicant["id_number"] == APPLICANT["id_number"]
        assert [d.code for d in desk.dossiers.search("nguyen van an")] == [code]
        assert documents.read(desk, sha) == pdf
    finally:
        desk.close()

    os.environ[storekey.PASSPHRASE_ENV] = PASSPHRASE
    try:
        found = {f.check: f for f in doctor.run(data_dir, server=False, lan=False)}
    finally:
        del os.environ[storekey.PASSPHRASE_ENV]
    assert found["store"].level == "ok" and found["key"].level == "ok"
    assert found["encryption"].level == "ok", found["encryption"]


def slip_of(name: str) -> bytes:
    """What a printed slip holds: the citizen's name and ID, uncompressed."""
    return b"%PDF-1.7\n(" + name.encode() + b" " + APPLICANT["id_number"].encode() + b")"


def test_an_encrypted_desk_keeps_printed_forms_for_the_session_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an encrypted desk, with and without a runtime folder ($XDG_RUNTIME_DIR)
    WHEN slips are printed (kept as files for the clerk)
    THEN with one they are kept under it, never under the data folder; without, in a
    session folder of the data folder; either way readable by the user only, and gone
    once the application closes (or starts again after a crash); doctor sees none left."""
    data_dir = tmp_path / "desk"
    Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE).close()
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv(printouts.RUNTIME_ENV, str(runtime))
    kept = printouts.save(data_dir, "TAYHO-261203-0001-01.pdf", slip_of(APPLICANT["full_name"]))
    assert kept.is_relative_to(runtime) and kept.read_bytes().startswith(b"%PDF")
    assert kept.stat().st_mode & 0o077 == 0 and leaks(data_dir) == []
    monkeypatch.delenv(printouts.RUNTIME_ENV)
    here = printouts.save(data_dir, "TAYHO-261203-0002-06.pdf", slip_of(APPLICANT["full_name"]))
    assert here.parent == data_dir / printouts.SESSION_DIR and here.stat().st_mode & 0o077 == 0
    assert leaks(data_dir) != []  # for the session only:
    assert printouts.clear_session(data_dir) == 1
    assert leaks(data_dir) == [] and not here.exists()
    monkeypatch.setenv(printouts.RUNTIME_ENV, str(runtime))
    assert printouts.clear_session(data_dir) == 1 and not kept.exists()
    assert doctor.check_plain_files(data_dir)[0].level == "ok"


def test_forms_printed_before_encryption_are_removed_and_exports_are_named(
    tmp_path: Path,
) -> None:
    """GIVEN a plain desk that kept two printed slips (under the data folder: it is plain,
    and they stay there across sessions)
    WHEN the store is encrypted THEN the slips are removed (they can be printed again)
    and said; WHEN events are exported for the centre THEN doctor warns that the file
    holds citizens' data in the clear, with what to do."""
    data_dir = tmp_path / "desk"
    desk = Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN)
    add_clerks(desk)
    code = receive(desk).code
    desk.close()
    for form in ("01", "06"):
        printouts.save(data_dir, f"{code}-{form}.pdf", slip_of(APPLICANT["full_name"]))
    assert printouts.clear_session(data_dir) == 0  # a plain desk keeps its forms
    assert len(list((data_dir / printouts.SLIP_DIR).iterdir())) == 2
    done = encryption.encrypt_store(data_dir, PASSPHRASE)
    assert done.as_dict()["printouts_removed"] == 2
    assert leaks(data_dir) == [] and not (data_dir / printouts.SLIP_DIR).exists()

    exports = data_dir / printouts.EXPORT_DIR
    exports.mkdir()
    (exports / "unsent-TAYHO.jsonl").write_bytes(slip_of(APPLICANT["full_name"]))
    (finding,) = doctor.check_plain_files(data_dir)
    assert finding.level == "warning" and finding.params["count"] == 1
    assert "exports" in finding.params["names"] and "centre" in finding.fix


def test_a_wrong_or_missing_key_is_a_clear_refusal(tmp_path: Path) -> None:
    """GIVEN an encrypted desk WHEN it is opened with a wrong passphrase, with none, with
    another store's key file, without its key file or without its store THEN each is a
    refusal saying what to do (a wrong key: StoreKeyError, the command exits 12 with one
    line, never a traceback)."""
    data_dir = tmp_path / "desk"
    Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE).close()
    with pytest.raises(StoreKeyError, match="Wrong branch passphrase"):
        Branch.open(data_dir, passphrase="not the passphrase")
    with pytest.raises(StoreKeyError, match="set MOTCUA_PASSPHRASE"):
        Branch.open(data_dir)
    other = tmp_path / "other"
    Branch.init(other, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE).close()
    keys = data_dir / storekey.KEYS_FILE
    keys.rename(tmp_path / "keys.json")
    shutil.copy(other / storekey.KEYS_FILE, keys)  # same passphrase, another store's key
    with pytest.raises(StoreKeyError, match="does not open with"):
        Branch.open(data_dir, passphrase=PASSPHRASE)
    keys.unlink()
    with pytest.raises(StoreKeyError, match=r"store\.keys\.json is missing"):
        Branch.open(data_dir)  # without its key file, the store is noise: say which file
    (tmp_path / "keys.json").rename(keys)
    (data_dir / "motcua.db").rename(tmp_path / "store.db")
    with pytest.raises(StoreError, match="run 'motcua init' first"):
        Branch.open(data_dir, passphrase=PASSPHRASE)
    assert not (data_dir / "motcua.db").exists()  # no new, empty store made in its place
    (tmp_path / "store.db").rename(data_dir / "motcua.db")

    env = {**os.environ, "MOTCUA_DATA_DIR": str(data_dir), "MOTCUA_PASSPHRASE": "wrong one"}
    result = subprocess.run(
        [sys.executable, "-m", "desktop.cli.main", "catalog", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 12, result.stderr
    assert result.stderr.strip() == f"motcua: Wrong branch passphrase for the store in {data_dir}"
    assert "Traceback" not in result.stdout + result.stderr


# --- migrating a plain store ------------------------------------------------------------------


def motcua(data_dir: Path, *args: str, **env: str) -> Any:
    full = {
        **os.environ,
        "MOTCUA_DATA_DIR": str(data_dir),
        "MOTCUA_USER": "admin",
        "MOTCUA_PASSWORD": "admin-pass-1",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-m", "desktop.cli.main", "--json", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def plain_desk(tmp_path: Path) -> tuple[Path, str, bytes]:
    """A plain store made by the current code through the command: init, clerks, a
    receipt with its scan attached. Returns the folder, the dossier code and the scan."""
    data_dir = tmp_path / "plain"
    motcua(data_dir, "init", "--unit-code", "TAYHO", "--branch-name", "Chi nhánh Tây Hồ")
    motcua(data_dir, "user", "add", "lan", "--role", "officer", MOTCUA_NEW_PASSWORD="lan-password")
    applicant = tmp_path / "applicant.json"
    applicant.write_text(json.dumps(APPLICANT, ensure_ascii=False), encoding="utf-8")
    lan = {"MOTCUA_USER": "lan", "MOTCUA_PASSWORD": "lan-password"}
    got = motcua(
        data_dir,
        "dossier",
        "receive",
        "--procedure",
        "HT-XNHN",
        "--applicant",
        str(applicant),
        "--component",
        "1",
        "--component",
        "giay-to-tuy-than",
        **lan,
    )
    (tmp_path / "scan.pdf").write_bytes(real_pdf())
    component = str(got["components"][0]["key"])
    motcua(data_dir, "dossier", "attach", got["code"], component, str(tmp_path / "scan.pdf"), **lan)
    desk = Branch.open(data_dir)
    try:  # the file the pipeline made of it (PDF/A, compressed): what was kept
        sha = documents.files(desk, str(got["code"]))[0][1]["sha256"]
        kept = documents.read(desk, str(sha))
    finally:
        desk.close()
    return data_dir, str(got["code"]), kept


def holding(folder: Path, data: bytes) -> list[str]:
    """Files under `folder` holding a 64-byte run of `data` (from its middle) as is."""
    window = data[len(data) // 2 : len(data) // 2 + 64]
    return [p.name for p in folder.rglob("*") if p.is_file() and window in p.read_bytes()]


def test_a_plain_store_is_encrypted_in_place_without_loss(tmp_path: Path) -> None:
    """GIVEN a plain desk made by the current code (`motcua init`, a clerk, a receipt with
    a scan), with citizen data readable on its disk
    WHEN `motcua store encrypt` runs while the desk is open (refused), then closed
    THEN every event, dossier and scan is kept, `verify` passes, the dossier and its scan
    read back, and no file of the folder holds the citizen's data in the clear."""
    data_dir, code, pdf = plain_desk(tmp_path)
    assert leaks(data_dir) != []  # the fixture shows what encryption must hide
    assert holding(data_dir, pdf) != []
    (tmp_path / "scan.pdf").unlink()
    before = motcua(data_dir, "dossier", "show", code)

    desk = Branch.open(data_dir)
    with pytest.raises(StoreError, match="in use"):
        encryption.encrypt_store(data_dir, PASSPHRASE)
    desk.close()
    assert not storekey.is_encrypted(data_dir)

    env = {"MOTCUA_PASSPHRASE": PASSPHRASE, "MOTCUA_KEYSTORE": "off"}
    done = motcua(data_dir, "store", "encrypt", **env)
    assert done["key"] == "passphrase" and done["scans_sealed"] == 1
    assert done["events"] >= 3 and done["dossiers"] == 1
    assert leaks(data_dir) == [] and holding(data_dir, pdf) == []
    assert motcua(data_dir, "verify", **env)["ok"] is True
    assert motcua(data_dir, "dossier", "show", code, **env) == before
    assert motcua(data_dir, "store", "status", **env)["encrypted"] is True
    desk = Branch.open(data_dir, passphrase=PASSPHRASE)
    try:
        sha = documents.files(desk, code)[0][1]["sha256"]
        assert documents.read(desk, str(sha)) == pdf
    finally:
        desk.close()


def test_a_cut_migration_is_finished_by_running_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a plain desk whose encryption was cut after its key was made (the scans not
    sealed yet) WHEN it is opened THEN it says to finish; WHEN `store encrypt` runs again
    THEN it resumes with the same key and the desk opens with everything."""
    data_dir = tmp_path / "desk"
    desk = Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN)
    code, sha, pdf = receive_with_scan(desk)
    desk.close()
    assert doctor.check_encryption(data_dir)[0].level == "warning"  # plain: said

    def cut(_root: Path, _key: bytes) -> int:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(encryption, "_seal_blobs", cut)
        with pytest.raises(KeyboardInterrupt):
            encryption.encrypt_store(data_dir, PASSPHRASE)
    with pytest.raises(StoreKeyError, match="motcua store encrypt"):
        Branch.open(data_dir, passphrase=PASSPHRASE)
    with pytest.raises(StoreKeyError, match="Wrong branch passphrase"):
        encryption.encrypt_store(data_dir, "another passphrase")
    done = encryption.encrypt_store(data_dir, PASSPHRASE)
    assert done.scans == 1 and leaks(data_dir) == []
    with pytest.raises(Exception, match="already encrypted"):
        encryption.encrypt_store(data_dir, PASSPHRASE)
    desk = Branch.open(data_dir, passphrase=PASSPHRASE)
    try:
        assert documents.read(desk, sha) == pdf and desk.dossiers.get(code).code == code
    finally:
        desk.close()


# --- encrypted desks syncing, backed up -------------------------------------------------------


class EncryptedBranch(Branch):
    """Branch whose ``init`` makes encrypted desks (for the sync fixtures)."""

    @classmethod
    def init(cls, *args: Any, **kwargs: Any) -> Branch:
        return Branch.init(*args, **kwargs, encrypt=True, passphrase=PASSPHRASE)


@pytest.fixture
def net(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    monkeypatch.setattr(sync_fixtures, "Branch", EncryptedBranch)
    with live_server("sqlite", tmp_path / "server") as server:
        network = Net(server, tmp_path)
        try:
            yield network
        finally:
            network.close()


def test_encrypted_desks_exchange_scans_through_the_centre_and_the_lan(net: Net) -> None:
    """GIVEN two encrypted desks of a branch and a 3 MiB scan received on the first
    WHEN the first uploads it and the second downloads it from the centre, and a third
    fetches it from the first over the LAN THEN each holds the scan's exact bytes, sealed
    on its disk; the centre holds the plain scan (the transport is its protection)."""
    from core.services.peers import PeerService, sync_with_peer

    unit = net.branch()
    a, b, c = net.desktop(unit), net.desktop(unit), net.desktop(unit)
    for desk in (a, b, c, a):
        net.agent(desk).sync_once()
    view = receive(a)
    source = net.root / "scan.pdf"
    pdf = scan_pdf()
    source.write_bytes(pdf)
    sha = LocalReplica(a).add_blob(source)
    sync_fixtures.attach_blob(a, view.id, sha)
    source.unlink()
    assert net.agent(a).sync_once().blobs_up == 1
    assert net.agent(b).sync_once().blobs_down == 1
    assert documents.read(b, sha) == pdf
    service = PeerService(a).start("127.0.0.1", 0, advertise=False)
    try:
        got = sync_with_peer(c, f"127.0.0.1:{service.port}")
    finally:
        service.stop()
    assert got.blobs == 1 and documents.read(c, sha) == pdf
    for desk in (a, b, c):
        assert leaks(desk.data_dir) == [], desk.data_dir


def test_an_encrypted_desk_backs_up_and_restores(tmp_path: Path) -> None:
    """GIVEN an encrypted desk with a scan WHEN it is backed up (the backup's own
    passphrase) and restored on a machine without its store key THEN the restored desk
    holds the dossier and the scan; encrypting it again hides them."""
    data_dir = tmp_path / "desk"
    desk = Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE)
    code, sha, pdf = receive_with_scan(desk)
    out = tmp_path / "desk.mcbk"
    made = backup.backup(desk, out, "backup passphrase")
    desk.close()
    assert made.blobs == 1
    restored = tmp_path / "restored"
    backup.restore(out, restored, "backup passphrase")
    desk = Branch.open(restored)
    try:
        assert documents.read(desk, sha) == pdf and desk.dossiers.get(code).code == code
    finally:
        desk.close()
    encryption.encrypt_store(restored, "another branch passphrase")
    assert leaks(restored) == []


# --- the OS keystore --------------------------------------------------------------------------

KEYSTORE_SCRIPT = r"""
set -e
echo -n keyring-login | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
m() { "$PYTHON" -m desktop.cli.main --json "$@"; }
m init --encrypt --unit-code TAYHO --branch-name "Tây Hồ" > init.json
m store status > status.json
m catalog list > /dev/null
MOTCUA_NEW_PASSPHRASE="$RECOVERY" m store passphrase > /dev/null
"$PYTHON" - <<'EOF'
import keyring, json
keys = json.load(open("data/store.keys.json"))
keyring.delete_password("motcua", keys["keyring"]["username"])  # a lost keystore entry
EOF
set +e
m catalog list > /dev/null 2> lost.err; echo $? > lost.code
MOTCUA_PASSPHRASE="$RECOVERY" m catalog list > recovered.json; echo $? > recovered.code
"""


@pytest.mark.skipif(
    not (shutil.which("gnome-keyring-daemon") and shutil.which("dbus-run-session")),
    reason="needs gnome-keyring and dbus (scripts/apt-packages.txt)",
)
def test_the_key_lives_in_a_real_secret_service(tmp_path: Path) -> None:
    """GIVEN a session with a Secret Service (gnome-keyring on a private D-Bus)
    WHEN `motcua init --encrypt` runs without a passphrase THEN the key is in the keystore
    (the store opens with no passphrase), a recovery passphrase can be added, and when the
    keystore entry is lost the desk says so and opens with that passphrase."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "share"),
        "PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT),
        "MOTCUA_DATA_DIR": str(tmp_path / "data"),
        "MOTCUA_USER": "admin",
        "MOTCUA_PASSWORD": "admin-pass-1",
        "MOTCUA_LANG": "en",
        "RECOVERY": PASSPHRASE,
    }
    result = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", KEYSTORE_SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "init.json").read_text())["encrypted"] is True
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["keystore"] == "SecretService Keyring" and status["passphrase"] is False
    keys = json.loads((tmp_path / "data" / storekey.KEYS_FILE).read_text())
    assert keys["keyring"]["service"] == "motcua" and keys["passphrase"]["kdf"] == "argon2id"
    assert (tmp_path / "lost.code").read_text().strip() == "12"
    assert "MOTCUA_PASSPHRASE" in (tmp_path / "lost.err").read_text()
    assert (tmp_path / "recovered.code").read_text().strip() == "0"


@pytest.mark.parametrize("encrypt", [True, False])
def test_the_writer_keeps_a_large_page_cache_and_readers_the_default(
    tmp_path: Path, encrypt: bool
) -> None:
    """The writer's connection holds up to WRITER_CACHE_KIB of pages (a catch-up's indexes
    stay decrypted in memory); readers, of which there may be several, keep the default."""
    from sqlalchemy import text

    from core.storage import db

    desk = Branch.init(
        tmp_path / "desk", "TAYHO", "Tây Hồ", ADMIN, encrypt=encrypt, passphrase=PASSPHRASE
    )
    try:
        written = desk.store.write(lambda c: c.execute(text("PRAGMA cache_size")).scalar())
        with desk.store.read() as conn:
            read = conn.execute(text("PRAGMA cache_size")).scalar()
    finally:
        desk.close()
    assert written == -db.WRITER_CACHE_KIB
    assert read != written and read is not None and read >= -8000


# --- SQLCipher's settings, per store ----------------------------------------------------------

FOUR_KIB: tuple[tuple[str, str], ...] = (
    ("cipher_page_size", "4096"),
    ("cipher_hmac_algorithm", "HMAC_SHA256"),
)


def page_size(desk: Branch) -> int:
    from sqlalchemy import text

    with desk.store.read() as conn:
        return int(conn.execute(text("PRAGMA cipher_page_size")).scalar_one())


def remake_with_4_kib_pages(data_dir: Path) -> None:
    """The encrypted store in `data_dir` as the builds before 2 KiB pages made it: 4 KiB
    pages, and its key file saying so."""
    from core.storage.db import cipher_settings, connect_file

    unlocked = storekey.unlock(data_dir, PASSPHRASE)
    store = data_dir / "motcua.db"
    older = data_dir / "older.db"
    db = connect_file(store, unlocked.key, unlocked.cipher, isolation_level=None)
    try:
        db.execute("ATTACH DATABASE ? AS older KEY ?", (str(older), f"x'{unlocked.key.hex()}'"))
        cipher_settings(db, "older", FOUR_KIB)
        db.execute("SELECT sqlcipher_export('older')")
        db.execute("DETACH DATABASE older")
    finally:
        db.close()
    for name in ("motcua.db-wal", "motcua.db-shm"):
        (data_dir / name).unlink(missing_ok=True)
    older.replace(store)
    keys = storekey.read_keys(storekey.keys_path(data_dir))
    keys["sqlcipher"].update(dict(FOUR_KIB))
    storekey.write_keys(storekey.keys_path(data_dir), keys)


def test_a_new_store_has_2_kib_pages_and_its_key_file_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "desk"
    desk = Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE)
    try:
        assert page_size(desk) == 2048
    finally:
        desk.close()
    keys = storekey.read_keys(storekey.keys_path(data_dir))
    assert keys["sqlcipher"]["cipher_page_size"] == "2048"


def test_a_store_made_with_4_kib_pages_keeps_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an encrypted desk made by an earlier build (4 KiB pages, as its key file
    records) WHEN it is opened, receives, is verified, checked by doctor, backed up and
    restored THEN each works with its own settings, and nothing shows in the clear."""
    data_dir = tmp_path / "desk"
    desk = Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE)
    first = receive(desk).code
    desk.close()
    remake_with_4_kib_pages(data_dir)

    desk = Branch.open(data_dir, passphrase=PASSPHRASE)
    try:
        assert page_size(desk) == 4096
        code, sha, pdf = receive_with_scan(desk)
        assert desk.dossiers.get(first).code == first
        assert consistency.integrity(desk) == [] and consistency.projection_drift(desk) == []
        made = backup.backup(desk, tmp_path / "desk.mcbk", "backup passphrase")
    finally:
        desk.close()
    assert made.dossiers == 2
    monkeypatch.setenv(storekey.PASSPHRASE_ENV, PASSPHRASE)
    levels = [f.level for f in doctor.check_store(data_dir)]  # quick check, migrations
    assert levels and set(levels) == {doctor.OK}, levels
    monkeypatch.delenv(storekey.PASSPHRASE_ENV)
    assert leaks(data_dir) == []

    restored = tmp_path / "restored"
    backup.restore(tmp_path / "desk.mcbk", restored, "backup passphrase")
    desk = Branch.open(restored)
    try:
        assert documents.read(desk, sha) == pdf and desk.dossiers.get(code).code == code
    finally:
        desk.close()


@pytest.mark.parametrize(
    "sqlcipher",
    [
        {"version": 4, "cipher_page_size": "4096; PRAGMA key = ''", "cipher_hmac_algorithm": "x"},
        {"version": 4, "cipher_page_size": "3000", "cipher_hmac_algorithm": "HMAC_SHA256"},
        {"version": 4, "cipher_page_size": 2048, "cipher_hmac_algorithm": "HMAC_SHA256"},
        {"version": 3, "cipher_page_size": "2048", "cipher_hmac_algorithm": "HMAC_SHA256"},
        None,
    ],
)
def test_a_key_file_naming_unknown_settings_is_refused_as_damaged(
    tmp_path: Path, sqlcipher: Any
) -> None:
    """Its settings are written into PRAGMAs: only SQLCipher's own values pass."""
    data_dir = tmp_path / "desk"
    Branch.init(data_dir, "TAYHO", "Tây Hồ", ADMIN, encrypt=True, passphrase=PASSPHRASE).close()
    keys = storekey.read_keys(storekey.keys_path(data_dir))
    keys["sqlcipher"] = sqlcipher
    storekey.write_keys(storekey.keys_path(data_dir), keys)
    with pytest.raises(StoreKeyError, match="is damaged: restore it from a backup"):
        Branch.open(data_dir, passphrase=PASSPHRASE)
