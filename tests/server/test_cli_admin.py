"""`motcua-server` as the central admin uses it: one configuration, a store never made by
a read, users and catalogues checked before they are signed, security events logged."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "MOTCUA_SERVER_DATA_DIR"}
        }
        self.env = {
            **inherited,
            "MOTCUA_LANG": "en",
            "MOTCUA_SERVER_ENV_FILE": "/dev/null",
            "PYTHONPATH": str(ROOT),
            **env,
        }

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "sync_server.cli", "--data-dir", str(self.data_dir), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        return result

    def json(self, *args: str, **env: str) -> Any:
        result = self.run("--json", *args, **env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("motcua-server: ")
    return lines[0]


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Server:
    server = Server(tmp_path_factory.mktemp("centre") / "data")
    server.json("migrate")
    server.json("branch", "add", "HN01", "--name", "Tây Hồ")
    return server


def test_a_read_command_never_creates_a_store(tmp_path: Path) -> None:
    server = Server(tmp_path / "none")
    for command in (
        ("branch", "list"),
        ("device", "list"),
        ("verify",),
        ("user", "list", "--branch", "X"),
    ):
        result = server.run(*command)
        assert result.returncode == 8 and "migrate" in one_line(result), command
    assert not (tmp_path / "none").exists()


def test_user_add_refuses_an_existing_name(centre: Server) -> None:
    """GIVEN a clerk added by the centre WHEN the same name is added again with another
    role THEN it is refused and she keeps her role (no silent replacement)."""
    pw = {"MOTCUA_NEW_PASSWORD": "clerk-pass-123"}
    centre.json("user", "add", "lan", "--branch", "HN01", "--role", "officer", **pw)
    again = centre.run("user", "add", "lan", "--branch", "HN01", "--role", "leader", **pw)
    assert again.returncode == 2 and "already exists" in one_line(again)
    missing = centre.run("user", "add", "minh", "--branch", "HN01", "--role", "officer")
    assert missing.returncode == 2 and "MOTCUA_NEW_PASSWORD" in one_line(missing)
    centre.json("user", "role", "lan", "specialist", "--branch", "HN01")
    centre.json("user", "disable", "lan", "--branch", "HN01")
    centre.json("user", "unlock", "lan", "--branch", "HN01")
    centre.json("user", "reset-password", "lan", "--branch", "HN01", **pw)
    (lan,) = centre.json("user", "list", "--branch", "HN01")
    assert (lan["username"], lan["role"], lan["disabled"]) == ("lan", "specialist", True)
    assert centre.run("user", "enable", "nobody", "--branch", "HN01").returncode == 4
    assert centre.json("verify")["ok"] is True


def test_catalogue_publish_is_checked_and_shows_its_diff(centre: Server, tmp_path: Path) -> None:
    """GIVEN the catalogue in force WHEN an empty, malformed, shrinking or changed one is
    published THEN the first three are refused and the last shows what changes."""
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    refused = centre.run("catalogue", "publish", str(empty))
    assert refused.returncode == 2 and "schema" in one_line(refused)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert "not valid JSON" in one_line(centre.run("catalogue", "publish", str(garbage)))
    in_force = centre.json("catalogue", "show")
    shrunk = tmp_path / "shrunk.json"
    dropped = in_force[-1]["code"]
    kept = [p for p in in_force if p["code"] != dropped]
    shrunk.write_text(json.dumps(kept, ensure_ascii=False))
    drops = centre.run("catalogue", "publish", str(shrunk))
    assert drops.returncode == 2 and "--allow-removals" in one_line(drops)
    changed = [dict(p) for p in in_force]
    changed[-1]["name"] += " (sửa đổi)"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(changed, ensure_ascii=False))
    dry = centre.json("catalogue", "publish", str(edited), "--dry-run")
    assert dry == {
        "added": [],
        "removed": [],
        "changed": [dropped],
        "procedures": len(in_force),
        "published": False,
    }
    done = centre.json("catalogue", "publish", str(edited))
    assert done["published"] is True
    assert centre.json("catalogue", "show")[-1]["name"].endswith("(sửa đổi)")
    same = centre.run("catalogue", "publish", str(edited))
    assert same.returncode == 2 and "nothing to publish" in one_line(same)


def test_the_published_schema_is_the_one_checked() -> None:
    from core.services.catalogue_schema import json_schema

    published = json.loads((ROOT / "docs" / "catalogue.schema.json").read_text("utf-8"))
    assert published == json_schema()


def test_desktop_catalogue_json_is_publishable(tmp_path: Path) -> None:
    """The output of `motcua --json catalog list` is a valid catalogue document."""
    from core.services.catalogue import procedure_to_dict, shipped_catalogue
    from core.services.catalogue_schema import validate

    document = json.loads(json.dumps([procedure_to_dict(p) for p in shipped_catalogue()]))
    assert len(validate(document)) == len(shipped_catalogue())


def test_configuration_from_the_env_file(tmp_path: Path) -> None:
    """GIVEN an env file naming the data dir WHEN `config` runs without --data-dir THEN
    it uses it and says where each setting came from; a malformed line is named."""
    env_file = tmp_path / "server.env"
    env_file.write_text(f"# the centre\nMOTCUA_SERVER_DATA_DIR={tmp_path / 'from-file'}\n")
    server = Server(tmp_path / "unused")
    result = subprocess.run(
        [sys.executable, "-m", "sync_server.cli", "--json", "config", "--env-file", str(env_file)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    config = json.loads(result.stdout)
    assert config["data_dir"] == str(tmp_path / "from-file")
    assert config["sources"] == {"MOTCUA_SERVER_DATA_DIR": "env file"}
    shown = server.run(
        "config", "--env-file", str(env_file), MOTCUA_LANG="vi", MOTCUA_FOLD="on-read"
    )
    assert "MOTCUA_SERVER_DATA_DIR: dòng lệnh" in shown.stdout  # run passes --data-dir
    assert "MOTCUA_FOLD: biến môi trường" in shown.stdout
    assert "khi bảng điều khiển đọc" in shown.stdout and "on-read" not in shown.stdout
    env_file.write_text("this is not a setting\n")
    bad = server.run("config", "--env-file", str(env_file))
    assert bad.returncode == 2 and "line 1" in one_line(bad)


def test_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    server = Server(tmp_path / "pg", DATABASE_URL="postgresql://motcua@127.0.0.1:9/motcua")
    result = server.run("branch", "list")
    assert result.returncode == 8 and "cannot be reached" in one_line(result)


def test_device_commands_on_an_unknown_or_revoked_device(centre: Server) -> None:
    """An unknown device is "not found" (exit 4, as on the desk); revoking a revoked
    device changes nothing: no second event for the desks, no second security line."""
    for verb in ("revoke", "clear"):
        unknown = centre.run("device", verb, "no-such-desk")
        assert unknown.returncode == 4 and "no-such-desk" in one_line(unknown)


def test_an_emptied_store_is_not_replaced_by_an_empty_one(tmp_path: Path) -> None:
    """GIVEN a centre whose server.db was truncated to nothing (its key and scans still
    there)
    WHEN the service's `migrate`, or `serve`, runs
    THEN exit 8 naming the lost store and the way out, and the file stays as it was (no
    store made under the old key, which would leave every desk unknown); `migrate
    --new-store` makes one when that is what the operator wants."""
    server = Server(tmp_path / "centre")
    server.json("migrate")
    server.json("branch", "add", "HN01", "--name", "Tây Hồ")
    database = tmp_path / "centre" / "server.db"
    database.write_bytes(b"")
    for command in (("migrate",), ("serve", "--port", "0")):
        refused = server.run(*command)
        assert refused.returncode == 8, refused.stderr
        line = one_line(refused)
        assert "lost or emptied" in line and "--new-store" in line
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT name FROM sqlite_master").fetchall() == []
    assert server.json("migrate", "--new-store")["revision"]
    assert server.json("branch", "list") == []


def test_serve_refuses_an_address_it_cannot_listen_on(tmp_path: Path) -> None:
    """GIVEN a port held by another program, a port past 65535, an address not of this
    machine, --workers 0
    WHEN `serve` runs
    THEN one line each, before any "server started": exit 8 for the port in use (the
    machine's state), 2 for the rest (the operator's typing)."""
    server = Server(tmp_path / "centre")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        taken = server.run("serve", "--port", str(port))
    assert taken.returncode == 8 and "already in use" in one_line(taken)
    assert "server started" not in taken.stderr
    for args, words in (
        (("--port", "99999"), "65535"),
        (("--host", "256.1.1.1", "--port", "0"), "cannot listen"),
        (("--workers", "0", "--port", "0"), "--workers"),
    ):
        refused = server.run("serve", *args)
        assert refused.returncode == 2, refused.stderr
        assert words in one_line(refused)


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"MOTCUA_DB_CONNECTIONS": "abc"}, "MOTCUA_DB_CONNECTIONS"),
        ({"MOTCUA_DB_CONNECTIONS": "0"}, "MOTCUA_DB_CONNECTIONS"),
        ({"MOTCUA_FOLD": "sometimes"}, "MOTCUA_FOLD"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(
    tmp_path: Path, setting: dict[str, str], named: str
) -> None:
    """GIVEN a setting the server cannot use WHEN any command runs, `config` first (the
    command for checking them) THEN exit 2 and one line naming it: no traceback."""
    result = Server(tmp_path / "centre", **setting).run("config")
    assert result.returncode == 2, result.stderr
    assert named in one_line(result) and "Traceback" not in result.stderr + result.stdout


def test_serve_logs_its_start_and_security_events_as_json(tmp_path: Path) -> None:
    """GIVEN a running server WHEN a request is signed by no enrolled device THEN its
    log holds the start line (version, database, address, workers) and the refusal."""
    server = Server(tmp_path / "live")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sync_server.cli",
                "--data-dir",
                str(server.data_dir),
                "serve",
                "--port",
                str(port),
            ],
            env=server.env,
            stderr=sink,
            stdout=sink,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(base + "/v1/health", timeout=1).raise_for_status()
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline and proc.poll() is None
                    time.sleep(0.2)
            answer = requests.post(base + "/v1/pull", json={}, timeout=5)
            assert answer.status_code == 401
        finally:
            proc.terminate()
            proc.wait(30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    start = next(line for line in lines if line.get("event") == "start")
    assert start["workers"] == 1 and start["address"] == f"127.0.0.1:{port}"
    assert start["database"].startswith("sqlite") and start["version"]
    refusal = next(line for line in lines if line.get("event") == "security")
    assert refusal["status"] == 401 and refusal["path"] == "/v1/pull"
