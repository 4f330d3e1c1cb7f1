"""`motcua` as a professional tool: damaged stores and keys, tampered events, a full disk,
a read-only folder and a locked store each give one clear line and their exit code
(never a traceback) and lose nothing saved; global options anywhere; Vietnamese help;
users managed as events."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop.cli.main import main

from .conftest import APPLICANT
from .test_cli import Motcua, as_user

RECEIVE = (
    "dossier",
    "receive",
    "--procedure",
    "HT-XNHN",
    "--component",
    "1",
    "--component",
    "giay-to-tuy-than",
)


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Motcua:
    """A branch with three users and two dossiers, kept as the template of each case."""
    tmp = tmp_path_factory.mktemp("ops")
    cli = Motcua(tmp / "data", tmp)
    cli.json("init", "--unit-code", "TAYHO", "--branch-name", "Chi nhánh Tây Hồ")
    for name, role in [("lan", "officer"), ("minh", "specialist"), ("hung", "leader")]:
        cli.json("user", "add", name, "--role", role, MOTCUA_NEW_PASSWORD=f"{name}-password")
    (tmp / "applicant.json").write_text(json.dumps(APPLICANT, ensure_ascii=False), "utf-8")
    for _ in range(2):
        cli.json(*RECEIVE, "--applicant", str(tmp / "applicant.json"), **as_user("lan"))
    return cli


@pytest.fixture
def copy(branch: Motcua, tmp_path: Path) -> Motcua:
    """A private copy of the template branch, free to damage."""
    shutil.copytree(branch.data_dir, tmp_path / "data")
    (tmp_path / "applicant.json").write_text(json.dumps(APPLICANT, ensure_ascii=False), "utf-8")
    return Motcua(tmp_path / "data", tmp_path)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("motcua: ")
    return lines[0]


# --- damaged store and key ----------------------------------------------------------------

DAMAGES: dict[str, Callable[[Path], None]] = {
    "store missing": lambda d: (d / "motcua.db").unlink(),
    "store empty": lambda d: (d / "motcua.db").write_bytes(b""),
    "store truncated": lambda d: _truncate(d / "motcua.db", 40_000),
    "store garbage": lambda d: (d / "motcua.db").write_bytes(b"\x13" * 200_000),
    "key missing": lambda d: (d / "device.key").unlink(),
    "key empty": lambda d: (d / "device.key").write_bytes(b""),
    "key truncated": lambda d: _truncate(d / "device.key", 30),
    "folder missing": lambda d: shutil.rmtree(d),
}
EXPECTED = {
    "store missing": "motcua init",
    "store empty": "empty",
    "store truncated": "damaged",
    "store garbage": "not a Một Cửa store",
    "key missing": "device key",
    "key empty": "device key",
    "key truncated": "device key",
    "folder missing": "motcua init",
}
COMMANDS = [
    ("user", "list"),
    ("user", "add", "thu", "--role", "officer"),
    ("catalog", "list"),
    ("verify",),
    ("rebuild",),
    ("quarantine",),
    ("dossier", "list"),
    ("dossier", "search", "An"),
    ("dossier", "show", "X"),
    ("dossier", "act", "X", "start"),
    ("calendar", "override", "add", "10/12/2026", "holiday", "--reason", "QĐ"),
    ("stats", "--from", "2026-11-01", "--to", "2026-11-30"),
    ("sync", "--once"),
    ("conflicts", "list"),
]


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size)


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_store_or_key_gives_one_line_and_exit_8(
    copy: Motcua, damage: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a store or key made missing, empty, truncated or garbage WHEN any command
    that needs them runs THEN it prints one line naming what is wrong and exits 8: one
    command through the real executable, every other through its entry point."""
    DAMAGES[damage](copy.data_dir)
    result = copy.run(*COMMANDS[0])
    assert result.returncode == 8 and EXPECTED[damage] in one_line(result)
    for name, value in {
        **copy.env,
        "MOTCUA_USER": "admin",
        "MOTCUA_PASSWORD": "admin-pass-1",
        "MOTCUA_NEW_PASSWORD": "thu-password",
    }.items():
        monkeypatch.setenv(name, value)
    for command in COMMANDS[1:]:
        code = main(list(command))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        lines = err.strip().splitlines()
        assert code == 8 and len(lines) == 1 and EXPECTED[damage] in lines[0], (command, err)


def test_damaged_store_is_named_in_vietnamese(copy: Motcua) -> None:
    _truncate(copy.data_dir / "motcua.db", 40_000)
    result = copy.run("dossier", "list", MOTCUA_LANG="vi")
    assert result.returncode == 8
    assert "hỏng" in one_line(result)


def test_init_over_a_stray_key_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    cli = Motcua(tmp_path / "data", tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "device.key").write_text("someone's key")
    result = cli.run("init", "--unit-code", "TAYHO", "--branch-name", "X")
    assert result.returncode == 2 and "device key" in one_line(result)
    assert not (tmp_path / "data" / "motcua.db").exists()
    assert (tmp_path / "data" / "device.key").read_text() == "someone's key"


# --- verify against tampering -------------------------------------------------------------


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    try:
        for statement in statements:
            db.execute(statement)
        db.commit()
    finally:
        db.close()


LAST = "(SELECT max(seq) FROM events)"
TAMPERINGS = {
    "payload edited": f"UPDATE events SET payload = replace(payload, 'Nguyễn', 'Trần') "
    f"WHERE seq = {LAST}",
    "payload not JSON": f"UPDATE events SET payload = '{{broken' WHERE seq = {LAST}",
    "parents not JSON": f"UPDATE events SET parents = 'x' WHERE seq = {LAST}",
    "hash not hex": f"UPDATE events SET hash = 'zz' WHERE seq = {LAST}",
    "signature garbage": f"UPDATE events SET signature = '!!' WHERE seq = {LAST}",
    "event deleted": "DELETE FROM events WHERE seq = (SELECT min(seq) + 2 FROM events)",
    "link replaced": f"UPDATE events SET prev_hash = hash WHERE seq = {LAST}",
    "sequence not a number": f"UPDATE events SET origin_seq = 'x' WHERE seq = {LAST}",
    "last event deleted": f"DELETE FROM events WHERE seq = {LAST}",
    "clock garbage": f"UPDATE events SET hlc = 'not-a-clock' WHERE seq = {LAST}",
    "actor changed": f"UPDATE events SET actor = 'hung' WHERE seq = {LAST}",
    "type changed": f"UPDATE events SET type = 'dossier.approve' WHERE seq = {LAST}",
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_verify_names_the_first_broken_event_and_exits_9(copy: Motcua, tampering: str) -> None:
    """GIVEN a stored event edited in the database WHEN `verify` runs THEN it names the
    device and sequence of the first broken event and exits 9 (never a traceback)."""
    assert copy.json("verify")["ok"] is True
    _sql(copy.data_dir / "motcua.db", TAMPERINGS[tampering])
    result = copy.run("verify")
    assert result.returncode == 9, result.stderr
    line = one_line(result)
    assert "sequence" in line or "row" in line, line


def _device(cli: Motcua) -> str:
    db = sqlite3.connect(cli.data_dir / "motcua.db")
    try:
        return str(db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0])
    finally:
        db.close()


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        ("UPDATE dossiers SET state = 'returned'", "dossiers row"),
        ("UPDATE users SET role = 'leader' WHERE username = 'lan'", "users row lan"),
        ("DELETE FROM users WHERE username = 'minh'", "users row minh"),
        (
            "INSERT INTO calendar_overrides VALUES ('2026-12-10', 'holiday', 'forged')",
            "calendar_overrides row 2026-12-10",
        ),
    ],
)
def test_verify_finds_an_edited_projection(copy: Motcua, edit: str, names: str) -> None:
    """GIVEN a projection row edited behind the log's back WHEN `verify` runs THEN the row
    is named (the projections are compared with a rebuild of a copy) and it exits 9."""
    _sql(copy.data_dir / "motcua.db", edit)
    result = copy.run("verify")
    assert result.returncode == 9
    assert names in one_line(result)
    assert copy.run("verify", "--json").returncode == 9  # still broken: verify rewrote nothing


def test_verify_finds_events_the_server_holds_but_the_store_lost(copy: Motcua) -> None:
    device = _device(copy)
    _sql(
        copy.data_dir / "motcua.db",
        f"INSERT OR REPLACE INTO meta VALUES ('sync_server_vector', '{{\"{device}\": 999}}')",
    )
    result = copy.run("verify")
    assert result.returncode == 9 and "999" in one_line(result)


# --- the disk: full, read-only, locked ------------------------------------------------------


def _in_namespace(script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a private mount namespace (its mounts vanish with it)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("mount namespaces need root here: " + probe.stderr.decode(errors="replace"))
    return subprocess.run(
        ["unshare", "-m", "sh", "-ec", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _motcua(cli: Motcua, *args: str) -> str:
    import shlex
    import sys

    values = {
        "MOTCUA_LANG": "en",
        "MOTCUA_USER": "lan",
        "MOTCUA_PASSWORD": "lan-password",
        "MOTCUA_DATA_DIR": str(cli.data_dir),
    }
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
    words = " ".join(shlex.quote(a) for a in args)
    return f"env {env} {shlex.quote(sys.executable)} -m desktop.cli.main {words}"


def _dossier_count(cli: Motcua) -> int:
    return len(cli.json("dossier", "list", **as_user("lan")))


def test_full_disk_during_a_receipt_loses_nothing(copy: Motcua, tmp_path: Path) -> None:
    """GIVEN the store on a disk with no space left WHEN a dossier is received THEN one
    line says the disk is full, exit 8; once space is freed, the store holds every
    dossier it held before and verifies."""
    before = _dossier_count(copy)
    applicant = tmp_path / "applicant.json"
    size = sum(f.stat().st_size for f in copy.data_dir.rglob("*") if f.is_file())
    disk, after_dir = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    after_dir.mkdir()
    result = _in_namespace(
        f"mount -t tmpfs -o size={size + 256 * 1024} tmpfs {disk}\n"
        f"cp -a {copy.data_dir}/. {disk}/\n"
        f"mount --bind {disk} {copy.data_dir}\n"
        f"dd if=/dev/zero of={copy.data_dir}/filler bs=4k 2>/dev/null || true\n"
        f"{_motcua(copy, *RECEIVE, '--applicant', str(applicant))} && exit 10 || echo rc=$?\n"
        f"rm {copy.data_dir}/filler\n"
        f"cp -a {copy.data_dir}/. {after_dir}/\n"
    )
    assert "rc=8" in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "disk is full" in result.stderr, result.stderr
    after = Motcua(after_dir, tmp_path)
    assert _dossier_count(after) == before
    assert after.json("verify")["ok"] is True


def test_read_only_folder_refuses_writes_in_one_line(copy: Motcua, tmp_path: Path) -> None:
    """GIVEN the data folder on a read-only disk WHEN a dossier is received THEN one line
    and exit 8, and the store is unchanged."""
    before = (copy.data_dir / "motcua.db").read_bytes()
    applicant = tmp_path / "applicant.json"
    result = _in_namespace(
        f"mount --bind {copy.data_dir} {copy.data_dir}\n"
        f"mount -o remount,bind,ro {copy.data_dir}\n"
        f"{_motcua(copy, *RECEIVE, '--applicant', str(applicant))} && exit 10 || echo rc=$?\n"
    )
    assert "rc=8" in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "read-only" in result.stderr
    assert (copy.data_dir / "motcua.db").read_bytes() == before


def test_locked_store_says_busy_and_loses_nothing(copy: Motcua) -> None:
    """GIVEN another program holding the store's write lock WHEN a user is added THEN
    after the busy timeout one line says the store is busy, exit 8, nothing half-done."""
    holder = sqlite3.connect(copy.data_dir / "motcua.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = copy.run(
            "user", "add", "thu", "--role", "officer", MOTCUA_NEW_PASSWORD="x-pass-12345"
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 8
    assert "busy" in one_line(result)
    assert "thu" not in {u["username"] for u in copy.json("user", "list")}


# --- commands as people expect ------------------------------------------------------------


def test_global_options_after_the_subcommand(copy: Motcua) -> None:
    """GIVEN `--json`, `--data-dir` and `--lang` after the subcommand WHEN it runs THEN
    they apply as they would before it."""
    env = {"MOTCUA_DATA_DIR": "/nonexistent"}
    after = copy.run("user", "list", "--json", "--data-dir", str(copy.data_dir), **env)
    before = copy.run("--json", "--data-dir", str(copy.data_dir), "user", "list", **env)
    assert after.returncode == 0 and json.loads(after.stdout) == json.loads(before.stdout)
    english = copy.run("dossier", "show", "NOPE", "--lang", "en", MOTCUA_LANG="vi")
    vietnamese = copy.run("dossier", "show", "NOPE", MOTCUA_LANG="vi")
    assert english.returncode == vietnamese.returncode == 4
    assert one_line(english) != one_line(vietnamese)


def test_help_and_parsing_errors_speak_vietnamese_by_default(copy: Motcua) -> None:
    vi_help = copy.run("user", "add", "--help", MOTCUA_LANG="vi")
    assert vi_help.returncode == 0
    assert "cách dùng: motcua user add" in vi_help.stdout
    assert "tên đăng nhập" in vi_help.stdout and "hiện trợ giúp này" in vi_help.stdout
    vi_error = copy.run("user", "add", MOTCUA_LANG="vi")
    assert vi_error.returncode == 2
    assert "lỗi: thiếu các tham số bắt buộc: name, --role" in vi_error.stderr
    en_error = copy.run("user", "add", "--lang", "en", MOTCUA_LANG="vi")
    assert "error: the following arguments are required: name, --role" in en_error.stderr


def test_tables_by_default_json_for_scripts(copy: Motcua) -> None:
    table = copy.run("user", "list", MOTCUA_LANG="vi").stdout.splitlines()
    assert table[0].split()[:2] == ["Người", "dùng"]  # a translated header row
    assert set(table[1]) <= {"-", " "}  # its rule
    assert any(line.startswith("lan ") and "officer" in line for line in table[2:])
    listed = copy.json("user", "list")
    assert {u["username"] for u in listed} == {"admin", "lan", "minh", "hung"}


def test_users_managed_as_events(copy: Motcua) -> None:
    """GIVEN an admin WHEN she adds, re-roles, disables, enables, unlocks and resets a
    user THEN each change is an event in the chain, and an existing name is refused."""
    before = copy.json("verify")["events_checked"]
    missing = copy.run("user", "add", "thu", "--role", "officer")
    assert missing.returncode == 2 and "MOTCUA_NEW_PASSWORD" in one_line(missing)
    again = copy.run("user", "add", "lan", "--role", "leader", MOTCUA_NEW_PASSWORD="new-pass-123")
    assert again.returncode == 2 and "lan" in one_line(again)
    copy.json("user", "add", "thu", "--role", "officer", MOTCUA_NEW_PASSWORD="thu-password")
    copy.json("user", "role", "thu", "specialist")
    copy.json("user", "disable", "thu")
    disabled = copy.run("dossier", "list", user="thu", password="thu-password")
    assert disabled.returncode == 7
    copy.json("user", "enable", "thu")
    for _ in range(5):
        copy.run("dossier", "list", user="thu", password="wrong-password")
    locked = {u["username"]: u for u in copy.json("user", "list")}["thu"]
    assert locked["locked_until"] and locked["role"] == "specialist"
    copy.json("user", "unlock", "thu")
    copy.json("user", "reset-password", "thu", MOTCUA_NEW_PASSWORD="thu-new-password")
    assert copy.run("dossier", "list", user="thu", password="thu-new-password").returncode == 0
    assert copy.json("verify")["events_checked"] == before + 6
    assert copy.run("user", "role", "nobody", "leader").returncode == 4


def test_calendar_overrides_listed_and_removed(copy: Motcua) -> None:
    copy.json("calendar", "override", "add", "10/12/2026", "holiday", "--reason", "QĐ 1")
    assert copy.json("calendar", "override", "list") == [
        {"day": "2026-12-10", "kind": "holiday", "reason": "QĐ 1"}
    ]
    copy.json("calendar", "override", "remove", "10/12/2026", "--reason", "QĐ 2")
    assert copy.json("calendar", "override", "list") == []
    gone = copy.run("calendar", "override", "remove", "10/12/2026", "--reason", "QĐ 3")
    assert gone.returncode == 4
    bad = copy.run("calendar", "override", "add", "31/02/2026", "holiday", "--reason", "x")
    assert bad.returncode == 2 and "31/02/2026" in bad.stderr


def test_enroll_without_a_scheme_and_an_unreachable_server(copy: Motcua) -> None:
    """GIVEN `host:port` without a scheme and nothing listening WHEN enrolling THEN one
    line in the user's language says the server cannot be reached (no class names)."""
    result = copy.run("enroll", "--server", "127.0.0.1:9", "--code", "ABCD", MOTCUA_LANG="vi")
    line = one_line(result)
    assert "http://127.0.0.1:9" in line and "không có kết nối" in line
    assert "Error" not in line


def test_fees_by_the_page_and_the_electronic_result(copy: Motcua, tmp_path: Path) -> None:
    """GIVEN certified copies of 3 and 250 pages WHEN received THEN the fee is 5.000 đ
    (2.000 + 2.000 + 1.000) plus the 200.000 đ cap: 205.000 đ; the electronic result is
    attached as a PDF, and a file that is not one is refused in one line."""
    import img2pdf
    from PIL import Image

    received = copy.json(
        "dossier",
        "receive",
        "--procedure",
        "CT-BSBC",
        "--component",
        "1",
        "--applicant",
        str(tmp_path / "applicant.json"),
        "--copies",
        "2",
        "--pages",
        "3",
        "--pages",
        "250",
        **as_user("lan"),
    )
    assert received["fees_vnd"] == 205_000
    Image.new("RGB", (60, 80), "white").save(tmp_path / "page.png")
    (tmp_path / "result.pdf").write_bytes(img2pdf.convert(str(tmp_path / "page.png")))
    attached = copy.run(
        "dossier",
        "attach",
        received["code"],
        "result",
        str(tmp_path / "result.pdf"),
        **as_user("lan"),
    )
    assert attached.returncode == 0, attached.stderr
    refused = copy.run(
        "dossier",
        "attach",
        received["code"],
        "result",
        str(tmp_path / "applicant.json"),
        **as_user("lan"),
    )
    assert refused.returncode == 2 and "PDF" in one_line(refused)


def test_dates_as_people_write_them_and_a_missing_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`stats --from 31/02/2026` names the day as dd/mm/yyyy (what it asks for), and
    `decode` of a missing file says the file is missing, not that it holds no code."""
    from core.services.branch import Branch

    data = str(tmp_path / "desk")
    Branch.init(Path(data), "TAYHO", "Tây Hồ", ("admin", "admin-pass-1")).close()
    with pytest.raises(SystemExit) as usage:
        main(["--data-dir", data, "--lang", "en", "stats", "--from", "31/02/2026", "--to", "x"])
    assert usage.value.code == 2
    assert "not a date (dd/mm/yyyy): 31/02/2026" in capsys.readouterr().err
    assert main(["--data-dir", data, "--lang", "en", "decode", str(tmp_path / "none.png")]) == 2
    assert "File not found" in capsys.readouterr().err


def test_an_applicant_file_that_cannot_be_read_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder, bytes that are not UTF-8 and broken JSON given as --applicant: exit 2,
    each named (JSON by line and column, not the parser's English words)."""
    from core.services.branch import Branch

    data = str(tmp_path / "desk")
    Branch.init(Path(data), "TAYHO", "Tây Hồ", ("admin", "admin-pass-1")).close()
    monkeypatch.setenv("MOTCUA_USER", "admin")
    monkeypatch.setenv("MOTCUA_PASSWORD", "admin-pass-1")
    (tmp_path / "bad.json").write_text('{"name": \n')
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe")
    cases = {
        str(tmp_path): "cannot be read",
        str(tmp_path / "bad.json"): "line 2, column 1",
        str(tmp_path / "bin.json"): "not UTF-8 text",
    }
    for applicant, words in cases.items():
        receive = ["dossier", "receive", "--procedure", "HT-KS", "--applicant", applicant]
        assert main(["--data-dir", data, "--lang", "en", *receive]) == 2, applicant
        assert words in capsys.readouterr().err, applicant


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (("--timeout", "-1"), "not a number of seconds above 0"),
        (("--timeout", "nan"), "not a number of seconds above 0"),
        (("--port", "99999"), "not a port (1 to 65535)"),
    ],
)
def test_doctor_options_out_of_range_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: tuple[str, str], words: str
) -> None:
    """Not a library's "Invalid timeout (-1.0, -1.0)" or "bind(): port must be 0-65535"
    as a finding, with exit 0: the option itself is refused, exit 2."""
    with pytest.raises(SystemExit) as usage:
        main(["--data-dir", str(tmp_path), "--lang", "en", "doctor", "--offline", *option])
    assert usage.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("code", ["", "xyz", "x" * 65])
def test_enroll_with_a_code_of_the_wrong_length(copy: Motcua, code: str) -> None:
    """GIVEN an enrolment code mistyped too short (or too long) WHEN enrolling THEN one
    line says what a code is (input: exit 2), before any server is asked; it was an
    "unexpected fault" (exit 70) with a traceback in the log."""
    result = copy.run("enroll", "--server", "127.0.0.1:9", "--code", code, MOTCUA_LANG="vi")
    assert result.returncode == 2
    assert "từ 4 đến 64 ký tự" in one_line(result)


def test_serving_the_lan_on_a_port_in_use(copy: Motcua) -> None:
    """GIVEN another program listening on the LAN port WHEN `motcua peers --serve` THEN one
    line says the port is in use (exit 8, as the server's `serve`); it was an
    AttributeError from the pool's clean-up that hid the bind's error (exit 70)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = copy.run(
            "peers", "--serve", "--host", "127.0.0.1", "--port", str(port), MOTCUA_LANG="vi"
        )
    assert result.returncode == 8
    assert f"Cổng {port} trên 127.0.0.1 đang được chương trình khác sử dụng" in one_line(result)
