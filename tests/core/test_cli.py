"""The `motcua` command as branch IT and scripts use it: JSON out, one clear error line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.domain.timeutil import VIETNAM

from .conftest import APPLICANT


class Motcua:
    def __init__(self, data_dir: Path, tmp: Path) -> None:
        self.data_dir = data_dir
        self.tmp = tmp
        self.env = {**os.environ, "MOTCUA_DATA_DIR": str(data_dir), "MOTCUA_LANG": "en"}

    def run(
        self, *args: str, user: str = "admin", password: str = "admin-pass-1", **env: str
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**self.env, "MOTCUA_USER": user, "MOTCUA_PASSWORD": password, **env}
        result = subprocess.run(
            [sys.executable, "-m", "desktop.cli.main", *args],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # Whatever a command is asked, it never answers with a traceback.
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self.run("--json", *args, **kwargs)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def new_branch(tmp: Path) -> Motcua:
    """A branch made by `motcua init`, with an officer, a specialist and a leader."""
    cli = Motcua(tmp / "data", tmp)
    cli.json("init", "--unit-code", "TAYHO", "--branch-name", "Chi nhánh Tây Hồ")
    for name, role in [("lan", "officer"), ("minh", "specialist"), ("hung", "leader")]:
        cli.json("user", "add", name, "--role", role, MOTCUA_NEW_PASSWORD=f"{name}-password")
    (tmp / "applicant.json").write_text(json.dumps(APPLICANT, ensure_ascii=False), encoding="utf-8")
    return cli


@pytest.fixture(scope="module")
def motcua(tmp_path_factory: pytest.TempPathFactory) -> Motcua:
    return new_branch(tmp_path_factory.mktemp("cli"))


def as_user(name: str) -> dict[str, str]:
    return {"user": name, "password": f"{name}-password"}


def test_full_flow_by_command(motcua: Motcua) -> None:
    """GIVEN an initialised branch WHEN a dossier is received and taken through every step
    by the right roles THEN each step prints the dossier with its state and national status."""
    applicant = str(motcua.tmp / "applicant.json")
    # Dated weeks back from today, as a clerk enters a dossier received during an outage:
    # a desk refuses moments ahead of its clock, or more than two years back.
    day = datetime.now(VIETNAM).date() - timedelta(days=20)
    when = f"{day.isoformat()}T09:00"
    received = motcua.json(
        "dossier",
        "receive",
        "--procedure",
        "HT-XNHN",
        "--applicant",
        applicant,
        "--received",
        when,
        "--component",
        "1",
        "--component",
        "giay-to-tuy-than",
        **as_user("lan"),
    )
    # Three working days (the calendar's own tests hold the holidays: test_calendar.py).
    due = motcua.json("calendar", "due", "--received", when, "--working-days", "3")
    assert received["due_at"] == due["due_at"]
    assert received["national_status"] == 2 and received["state"] == "received"
    code = received["code"]
    acted = f"{(day + timedelta(days=1)).isoformat()}T10:00"
    for who, action in [
        ("lan", "transfer"),
        ("minh", "start"),
        ("minh", "submit"),
        ("hung", "approve"),
        ("minh", "finish"),
        ("lan", "return"),
    ]:
        doc = motcua.json("dossier", "act", code, action, "--at", acted, **as_user(who))
    assert doc["state"] == "returned" and doc["national_status"] == 10
    listed = motcua.json("dossier", "list", "--status", "10", **as_user("lan"))
    assert [d["code"] for d in listed] == [code]
    assert motcua.json("dossier", "search", "nguyen van an", **as_user("lan"))[0]["code"] == code
    period = (
        "--from",
        (day - timedelta(days=1)).isoformat(),
        "--to",
        (day + timedelta(days=2)).isoformat(),
    )
    stats = motcua.json("stats", *period, "--by", "procedure", **as_user("hung"))
    overall = stats["overall"]
    assert (overall["total"], overall["finished_on_time"], overall["on_time_rate"]) == (1, 1, 100.0)
    # Nothing can be dated ahead of the desk's clock: such a step would be set aside.
    ahead = motcua.run(
        "dossier", "act", code, "transfer", "--at", "2099-01-01T10:00", **as_user("lan")
    )
    assert ahead.returncode == 2 and "2099" in ahead.stderr and "Traceback" not in ahead.stderr
    assert motcua.json("verify")["ok"] is True


def test_incomplete_dossier_prints_guidance_and_exits_3(motcua: Motcua) -> None:
    result = motcua.run(
        "--json",
        "dossier",
        "receive",
        "--procedure",
        "HT-XNHN",
        "--applicant",
        str(motcua.tmp / "applicant.json"),
        **as_user("lan"),
    )
    assert result.returncode == 3
    guidance = json.loads(result.stdout)
    assert guidance["outcome"] == "supplement_guidance" and len(guidance["missing"]) == 2
    assert result.stderr.startswith("motcua: Dossier incomplete for HT-XNHN")


@pytest.mark.parametrize(
    ("args", "who", "code", "message"),
    [
        (("dossier", "act", "TAYHO-270203-0099", "transfer"), "lan", 4, "No dossier with code"),
        (
            ("dossier", "receive", "--procedure", "NOPE", "--applicant", "{applicant}"),
            "lan",
            4,
            "No procedure",
        ),
        (
            ("dossier", "receive", "--procedure", "HT-KS", "--applicant", "/nonexistent.json"),
            "lan",
            2,
            "not found",
        ),
        (
            ("calendar", "due", "--received", "not-a-date", "--working-days", "3"),
            "lan",
            2,
            "Not a valid date-time",
        ),
        (("user", "add", "thu", "--role", "officer"), "lan", 5, "may not"),
    ],
)
def test_bad_input_gives_one_clear_line(
    motcua: Motcua, args: tuple[str, ...], who: str, code: int, message: str
) -> None:
    filled = [a.replace("{applicant}", str(motcua.tmp / "applicant.json")) for a in args]
    result = motcua.run(*filled, **as_user(who))
    assert result.returncode == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


def test_wrong_password_is_refused(motcua: Motcua) -> None:
    result = motcua.run("dossier", "list", user="lan", password="nope-nope")
    assert result.returncode == 7 and "Wrong user name or password" in result.stderr


def test_vietnamese_is_the_default_language(motcua: Motcua) -> None:
    result = motcua.run("dossier", "show", "TAYHO-000000-0000", MOTCUA_LANG="", **as_user("lan"))
    assert "Không có hồ sơ mã TAYHO-000000-0000" in result.stderr


def test_calendar_commands(motcua: Motcua) -> None:
    due = motcua.json("calendar", "due", "--received", "2027-02-03T09:00", "--working-days", "3")
    assert due["due_at"] == "2027-02-15T09:00:00+07:00"
    holidays = motcua.json("calendar", "holidays", "2026")
    assert "2026-11-24" in [h["date"] for h in holidays["holidays"]]
    assert holidays["workday_saturdays"] == ["2026-08-22"]
    motcua.json("calendar", "override", "add", "2026-12-31", "holiday", "--reason", "QĐ nghỉ")
    assert (
        motcua.json("calendar", "due", "--received", "2026-12-30T09:00", "--working-days", "1")[
            "due_at"
        ]
        == "2027-01-04T09:00:00+07:00"
    )


def test_catalog_commands(motcua: Motcua) -> None:
    listed = motcua.json("catalog", "list")
    assert len(listed) >= 25
    assert {"code", "name", "field", "processing_time", "processing_unit", "components"} <= set(
        listed[0]
    )
    shown = motcua.json("catalog", "show", "HT-KS")
    # Birth registration is settled within the working day (Decision 1872/QĐ-BTP 2020).
    assert shown["processing_unit"] == "within_day" and shown["cutoff"] == "15:00"
    assert all({"name", "mandatory"} <= set(c) for c in shown["components"])
    # JSON keeps the catalogue's own form (what `motcua-server catalogue publish` takes) ...
    by_page = motcua.json("catalog", "show", "CT-BSBC")["fees"][0]
    assert (by_page["per"], by_page["tiers"], by_page["cap_vnd"]) == (
        "page",
        [[1, 2000], [3, 1000]],
        200000,
    )
    # ... and people read words: no codes, no program's notation
    table = motcua.run("catalog", "show", "CT-BSBC", MOTCUA_LANG="vi", **as_user("lan")).stdout
    assert "Chứng thực" in table and "Cấp xã" in table and "trong ngày làm việc" in table
    assert (
        "theo trang (từ trang 1: 2.000 đ; từ trang 3: 1.000 đ); tối đa 200.000 đ một bản" in table
    )
    assert not any(
        raw in table
        for raw in ("certification", "commune", "within_day", "FeeRule", "national_code")
    )
    waived = motcua.run("catalog", "show", "HT-XNHN", MOTCUA_LANG="vi", **as_user("lan")).stdout
    assert "miễn cho: " in waived


def test_init_twice_is_refused_and_keeps_the_store(motcua: Motcua) -> None:
    result = motcua.run("init", "--unit-code", "X", "--branch-name", "Y")
    assert result.returncode == 2 and "already exists" in result.stderr
    assert motcua.json("verify")["ok"] is True


def test_every_field_of_a_sync_and_a_restore_has_a_label() -> None:
    """The tables show labels in the clerk's language: a key without one is printed as
    the program's own name for it (``push_duplicates``)."""
    from core.sync.agent import SyncSummary
    from desktop.cli.labels import LABELS

    restore_keys = {"old_device_id", "unsent_events", "next", "unsent_export", "warning", "blobs"}
    missing = (set(SyncSummary().as_dict()) | restore_keys | {"code_blocks"}) - set(LABELS)
    assert not missing


def test_a_dossier_is_shown_to_people_in_words_and_to_scripts_in_codes(motcua: Motcua) -> None:
    """GIVEN a dossier received by command WHEN it is shown THEN a person reads its state,
    field, return and fee in Vietnamese words and đồng, the applicant's details labelled
    (they were `received`, `civil_status`, `counter`, `15000`, `full_name: …`); `--json`
    keeps the codes scripts read."""
    applicant = str(motcua.tmp / "applicant.json")
    components = ("--component", "1", "--component", "giay-to-tuy-than")
    received = motcua.json(
        "dossier", "receive", "--procedure", "HT-XNHN", "--applicant", applicant,
        *components, **as_user("lan"),
    )  # fmt: skip
    assert (received["state"], received["field"], received["return_method"]) == (
        "received",
        "civil_status",
        "counter",
    )
    shown = motcua.run("dossier", "show", received["code"], MOTCUA_LANG="vi", **as_user("lan"))
    assert shown.returncode == 0, shown.stderr
    lines = {
        label.strip(): value.strip()
        for label, _, value in (line.partition("  ") for line in shown.stdout.splitlines())
        if value
    }
    assert lines["Trạng thái"] == "đã tiếp nhận"
    assert lines["Lĩnh vực"] == "Hộ tịch"
    assert lines["Hình thức trả"] == "Tại quầy"
    assert lines["Phí, lệ phí (VNĐ)"] == f"{received['fees_vnd']:,} đ".replace(",", ".")
    assert lines["Người nộp"].startswith(f"Họ và tên: {APPLICANT['full_name']}, ")
    assert "full_name" not in shown.stdout and "received_unit" not in shown.stdout
