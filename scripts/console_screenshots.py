"""Regenerate the console's screenshots in docs/img/ (docs/console.md shows them).

    .venv/bin/python scripts/console_screenshots.py [--out docs/img] [--keep DIR]

Builds demo data the way `make run` does, with the real commands: two demo branches
(``python -m desktop.demo``: users and dossiers in every state), a sync server on
loopback, each desk enrolled and synchronised, a central admin account. Then Debian's
chromium (Playwright) opens the overview, the statistics, a dossier and the citizens'
lookup at 1366×768, in Vietnamese, and each PNG is reduced to a 256-colour palette so it
stays small (the pages are flat colours and text: nothing visible is lost).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import requests
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1366, "height": 768}
PASSWORD = "motcua-demo"  # desktop.demo's users
ADMIN, ADMIN_PASSWORD = "quantri", "mat-khau-trung-tam"
BRANCHES = (
    ("TAYHO", "Trung tâm Phục vụ hành chính công phường Tây Hồ", "Quầy 1"),
    ("BADINH", "Trung tâm Phục vụ hành chính công phường Ba Đình", "Quầy tiếp nhận"),
)
MAX_BYTES = 200_000


def run(*args: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(data: Path) -> Iterator[str]:
    """`motcua-server serve` on loopback until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data.parent / "server.log").open("w")
    command = [BIN / "motcua-server", "--data-dir", data, "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen([*map(str, command), "--port", str(port)], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                requests.get(url + "/v1/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:  # a graceful shutdown that hangs: the data is scratch
            process.kill()
            process.wait(10)
        log.close()


def demo_data(work: Path) -> Path:
    """The branches on the server, their demo desks, and the console's admin."""
    data = work / "server"
    server_cli = [BIN / "motcua-server", "--data-dir", data]
    for code, name, _label in BRANCHES:
        run(*server_cli, "branch", "add", code, "--name", name)
    env = {"MOTCUA_NEW_PASSWORD": ADMIN_PASSWORD}
    run(*server_cli, "admin", "add", ADMIN, "--role", "central-admin", "--full-name",
        "Trần Thị Lan", env=env)  # fmt: skip
    for code, name, _label in BRANCHES:
        desk = work / code
        run(BIN / "motcua", "--data-dir", desk, "init", "--unit-code", code, "--branch-name",
            name, env={"MOTCUA_USER": "admin", "MOTCUA_PASSWORD": PASSWORD})  # fmt: skip
        run(BIN / "python", "-m", "desktop.demo", desk)
    return data


def enrol_and_sync(work: Path, url: str) -> None:
    server_cli = [BIN / "motcua-server", "--data-dir", work / "server", "--json"]
    login = {"MOTCUA_USER": "admin", "MOTCUA_PASSWORD": PASSWORD}
    for code, _name, label in BRANCHES:
        enrolment = json.loads(run(*server_cli, "enroll-code", "--branch", code))["code"]
        desk = [BIN / "motcua", "--data-dir", work / code]
        run(*desk, "enroll", "--server", url, "--code", enrolment, "--label", label, env=login)
        run(*desk, "sync", "--once", env=login)


def a_dossier(work: Path) -> tuple[str, str]:
    """The code and lookup key of a TAYHO dossier being processed, its appointment still
    ahead if one is (from the desk)."""
    from core.domain.timeutil import parse_moment
    from core.services.branch import Branch

    branch = Branch.open(work / "TAYHO")
    try:
        found = branch.dossiers.browse("processing")
        now = branch.clock()
        ahead = [v for v in found if parse_moment(v.due_at) > now]
        view = (ahead or found)[0]
        return view.code, view.lookup_token
    finally:
        branch.close()


def save(page: Page, path: Path, whole: bool = False) -> None:
    """The viewport (or the whole page) as a palette PNG, kept under MAX_BYTES."""
    image = Image.open(BytesIO(page.screenshot(full_page=whole))).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size // 1000} kB")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is over {MAX_BYTES // 1000} kB")


def shoot(url: str, out: Path, code: str, key: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
        page = context.new_page()
        page.goto(url + "/console/login")
        page.fill("#username", ADMIN)
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Tổng quan")
        save(page, out / "console-overview.png", whole=True)
        page.goto(url + "/console/stats?by=procedure")
        expect(page.locator("#on-time-rate")).to_be_visible()
        save(page, out / "console-statistics.png", whole=True)
        page.goto(url + f"/console/dossiers?q={code}")
        page.click(f"text={code}")
        expect(page.locator("ol.timeline li").first).to_be_visible()
        save(page, out / "console-dossier.png", whole=True)
        page.goto(url + f"/tra-cuu?code={code}")
        page.fill("#secret", key)
        page.click("button[type=submit]")
        expect(page.locator("#result")).to_be_visible()
        save(page, out / "console-lookup.png")
        browser.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--keep", type=Path, help="build the demo data here and keep it")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is missing: scripts/system-deps.sh installs it")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="motcua-shots-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        data = demo_data(work)
        with server(data) as url:
            enrol_and_sync(work, url)
            code, key = a_dossier(work)
            shoot(url, args.out.resolve(), code, key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
