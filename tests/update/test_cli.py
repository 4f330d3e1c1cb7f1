"""`motcua update …` and `motcua-server release …`: the commands branch IT and the
central admin run, with their refusals as one clear line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.domain.timeutil import VIETNAM
from core.services.branch import Branch
from core.update import state as st
from desktop.cli.main import main as motcua
from sync_server.cli import main as motcua_server

from .conftest import Centre


def run(capsys: pytest.CaptureFixture[str], desk: Path, *args: str) -> tuple[int, dict, str]:
    code = motcua(["--data-dir", str(desk), "--json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_pin_keeps_a_version_and_unpin_follows_the_newest(
    centre: Centre, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.update import service

    centre.publish("2.0.0")
    centre.publish("3.0.0")
    assert run(capsys, centre.desk, "update", "pin", "1.0.0")[1] == {"pinned": "1.0.0"}
    assert service.check_and_stage(centre.desk, centre.url)["available"] == ""
    assert centre.launch().stdout.strip() == "motcua-desktop 1.0.0"
    run(capsys, centre.desk, "update", "pin", "2.0.0")
    assert service.check_and_stage(centre.desk, centre.url)["staged"] == "2.0.0"
    assert centre.launch().stdout.strip() == "motcua-desktop 2.0.0"
    assert service.check_and_stage(centre.desk, centre.url)["available"] == ""  # kept at 2
    code, status, _ = run(capsys, centre.desk, "update", "status")
    assert code == 0 and status["pinned"] == "2.0.0" and status["running"] == "2.0.0"
    run(capsys, centre.desk, "update", "unpin")
    assert service.check_and_stage(centre.desk, centre.url)["staged"] == "3.0.0"
    code, _, err = run(capsys, centre.desk, "update", "pin", "latest")
    assert code == 2 and "latest is not a version like 1.2.3" in err and "Traceback" not in err


def test_old_unsynced_events_hold_the_update_until_forced(
    centre: Centre, capsys: pytest.CaptureFixture[str]
) -> None:
    days_ago = datetime.now(VIETNAM) - timedelta(days=5)
    Branch.init(
        centre.desk, "TAYHO", "Chi nhánh Tây Hồ", ("admin", "admin-pass-1"), clock=lambda: days_ago
    ).close()
    centre.publish("2.0.0")
    code, result, _ = run(capsys, centre.desk, "update", "check", "--server", centre.url)
    assert code == 0 and result["staged"] == "2.0.0"
    assert "unsynced events older than 3 days" in result["held"]
    assert centre.launch().stdout.strip() == "motcua-desktop 1.0.0"  # not applied
    code, _, err = run(capsys, centre.desk, "update", "install")
    assert code == 2 and "add --force" in err and "Traceback" not in err
    assert centre.launch().stdout.strip() == "motcua-desktop 1.0.0"
    code, result, _ = run(capsys, centre.desk, "update", "install", "--force")
    assert code == 0 and result["staged"] == "2.0.0"
    assert centre.launch().stdout.strip() == "motcua-desktop 2.0.0"


def test_recent_unsynced_events_do_not_hold(
    centre: Centre, capsys: pytest.CaptureFixture[str]
) -> None:
    Branch.init(centre.desk, "TAYHO", "Chi nhánh Tây Hồ", ("admin", "admin-pass-1")).close()
    centre.publish("2.0.0")
    code, result, _ = run(capsys, centre.desk, "update", "check", "--server", centre.url)
    assert code == 0 and result["staged"] == "2.0.0" and "held" not in result
    assert st.load(centre.desk).held == ""


def test_a_refused_update_is_one_line_with_its_reason(
    centre: Centre, capsys: pytest.CaptureFixture[str]
) -> None:
    Branch.init(centre.desk, "TAYHO", "Chi nhánh Tây Hồ", ("admin", "admin-pass-1")).close()
    centre.publish("2.0.0")
    stored = next((centre.repo / "targets").rglob("*.tar.gz"))
    stored.write_bytes(stored.read_bytes()[::-1])
    code, _, err = run(capsys, centre.desk, "update", "check", "--server", centre.url)
    assert code == 9 and "does not match the centre's signed hash" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_trust_takes_only_a_signed_root(
    centre: Centre, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    bogus = tmp_path / "root.json"
    bogus.write_text('{"signed": {"_type": "root"}, "signatures": []}')
    code, _, err = run(capsys, fresh, "update", "trust", str(bogus))
    assert code == 2 and "is not the centre's signed update root" in err
    root = centre.repo / "metadata" / "1.root.json"
    code, result, _ = run(capsys, fresh, "update", "trust", str(root))
    assert code == 0 and result["root_version"] == 1
    code, _, err = run(capsys, fresh, "update", "trust", str(root))
    assert code == 2 and "already trusts" in err
    code, _, err = run(capsys, tmp_path / "none", "update", "check", "--server", centre.url)
    assert code != 0 and "Traceback" not in err


def test_release_commands_of_the_central_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, keys = str(tmp_path / "srv"), tmp_path / "keys"
    app = tmp_path / "app"
    app.mkdir()
    (app / "motcua").write_text("#!/bin/sh\n")

    def server(*args: str) -> tuple[int, str, str]:
        code = motcua_server(["--data-dir", data, "--json", "release", *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = server("init", "--keys", str(keys))
    assert code == 0 and sorted(p.name for p in keys.iterdir()) == ["root.pem", "targets.pem"]
    assert (keys.stat().st_mode & 0o077) == 0 and ((keys / "root.pem").stat().st_mode & 0o077) == 0
    assert not list((tmp_path / "srv" / "updates" / "metadata").glob("*.pem"))
    assert server("init", "--keys", str(keys))[0] == 2
    code, out, _ = server("publish", str(app), "--version", "1.2.0", "--keys", str(keys))
    assert code == 0 and json.loads(out)["version"] == "1.2.0"
    code, _, err = server("publish", str(app), "--version", "1.1.0", "--keys", str(keys))
    assert code == 2 and "not newer than the published 1.2.0" in err
    code, _, err = server("publish", str(app), "--version", "1.3.0", "--keys", str(tmp_path))
    assert code == 4 and "No signing key" in err  # the offline folder is needed to publish
    code, out, _ = server("list")
    assert [r["version"] for r in json.loads(out)["releases"]] == ["1.2.0"]
    code, out, _ = server("refresh", "--force")
    assert code == 0 and json.loads(out)["resigned"] == "snapshot, timestamp"
