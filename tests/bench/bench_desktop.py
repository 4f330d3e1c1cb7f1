"""Desktop benchmarks: cold start to the login screen, dashboard load with 100,000 dossiers.

Each measurement runs in a fresh process (Kivy owns one window per process), headless
with SDL's offscreen driver, and prints one number; the baselines run the same way:
an empty Kivy window for the start, the same dashboard over an empty store for the load.

python -m tests.bench.bench_desktop probe {empty|login|dashboard} [DATA_DIR]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .harness import Report

DOSSIERS = 100_000
SEED_DOSSIERS = 400
PASSWORD = "bench-pass-1"
RUNS = 3


# --- probes (run in a child process) ---------------------------------------------------
def _probe_empty() -> None:
    from desktop.app import prepare_environment

    prepare_environment(headless=True)
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.uix.label import Label

    Window.add_widget(Label(text="Một Cửa"))
    EventLoop.start()
    EventLoop.idle()


def _probe_login(data_dir: Path) -> None:
    from desktop.app import prepare_environment

    prepare_environment(headless=True)
    from desktop.harness import Harness

    h = Harness.start(data_dir)
    assert h.shell.manager.current == "login"


def _probe_dashboard(data_dir: Path) -> None:
    from desktop.app import prepare_environment

    prepare_environment(headless=True)
    from desktop.harness import Harness

    h = Harness.start(data_dir)
    h.login("admin", PASSWORD)
    times = []
    for _ in range(5):
        screen = h.shell.screens["dashboard"]
        for tile in screen.tiles.values():
            tile.number.text = ""
        start = time.perf_counter()
        screen.refresh()
        h.pump(until=lambda s=screen: s.tiles["received_today"].number.text != "")
        times.append(time.perf_counter() - start)
    print(f"RESULT {statistics.median(times) * 1000:.3f}", flush=True)


def probe(kind: str, data_dir: str = "") -> None:
    start = time.perf_counter()
    if kind == "empty":
        _probe_empty()
    elif kind == "login":
        _probe_login(Path(data_dir))
    else:
        _probe_dashboard(Path(data_dir))
        os._exit(0)
    print(f"RESULT {(time.perf_counter() - start) * 1000:.3f}", flush=True)
    os._exit(0)


def _run_probe(kind: str, data_dir: Path | None = None) -> tuple[float, float]:
    """(wall ms from spawn to exit, the probe's own figure in ms)."""
    args = [sys.executable, "-m", "tests.bench.bench_desktop", "probe", kind]
    if data_dir is not None:
        args.append(str(data_dir))
    env = {**os.environ, "KIVY_NO_ARGS": "1", "MOTCUA_LANG": "vi"}
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, check=True)
    wall = (time.perf_counter() - start) * 1000
    figure = float(done.stdout.strip().splitlines()[-1].split()[1])
    return wall, figure


# --- stores ------------------------------------------------------------------------------
def _new_store(folder: Path) -> None:
    from core.services.branch import Branch

    Branch.init(folder, "BENCH", "Chi nhánh đo hiệu năng", ("admin", PASSWORD)).close()


def _big_store(folder: Path) -> None:
    """SEED_DOSSIERS received and moved through the real services, then cloned in SQL.

    The clones are last year's dossiers, returned to the citizen (as most of a branch's
    history is); the seeds stay open, so a clerk's queues hold a realistic few hundred.
    """
    import random

    from core.domain.workflow import Action
    from core.services.branch import Branch
    from core.services.dossiers import Intake
    from desktop.demo import applicant

    branch = Branch.init(folder, "BENCH", "Chi nhánh đo hiệu năng", ("admin", PASSWORD))
    admin = branch.login("admin", PASSWORD)
    branch.admin.add_user(admin, "officer", "officer", PASSWORD)
    officer = branch.login("officer", PASSWORD)
    rng = random.Random(1)
    codes = list(branch.procedures())[:10]
    for index in range(SEED_DOSSIERS):
        code = codes[index % len(codes)]
        keys = [c.key for c in branch.procedures()[code].components]
        view, _ = branch.dossiers.receive(officer, Intake(code, applicant(rng, index), keys))
        if index % 3 == 0:
            branch.dossiers.act(officer, view.code, Action.TRANSFER, details={"to": "admin"})
    copies = DOSSIERS // SEED_DOSSIERS - 1
    sql = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :copies) "
        "INSERT INTO dossiers (id, code, branch, procedure_code, field, applicant_name, "
        "id_number, phone, state, national_status, received_at, received_by, due_at, end_at, "
        "holder, conflict, last_event_hlc, doc) "
        "SELECT d.id || '-' || n.i, d.code || '-' || n.i, d.branch, d.procedure_code, d.field, "
        "d.applicant_name, d.id_number, d.phone, 'returned', 10, "
        "'2025-' || printf('%02d', 1 + n.i % 12) || substr(d.received_at, 8), d.received_by, "
        "'2025-' || printf('%02d', 1 + n.i % 12) || substr(d.due_at, 8), "
        "'2025-' || printf('%02d', 1 + n.i % 12) || substr(d.due_at, 8), d.holder, "
        "d.conflict, d.last_event_hlc, d.doc FROM dossiers d CROSS JOIN n"
    )
    from sqlalchemy import text

    branch.store.write(lambda conn: conn.execute(text(sql), {"copies": copies}))
    branch.close()


# --- the benchmark -----------------------------------------------------------------------
def _best(kind: str, data_dir: Path | None = None) -> tuple[float, float]:
    runs = [_run_probe(kind, data_dir) for _ in range(RUNS)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def run(report: Report) -> None:
    root = Path(tempfile.mkdtemp(prefix="motcua-bench-desktop-"))
    try:
        empty_store, big_store = root / "empty", root / "big"
        _new_store(empty_store)
        empty_wall, _ = _best("empty")
        login_wall, _ = _best("login", empty_store)
        report.figure(
            "desktop cold start to login screen",
            login_wall,
            "ms",
            "empty Kivy window start",
            empty_wall,
            aim="≤ baseline + 2000 ms",
        )
        started = time.perf_counter()
        _big_store(big_store)
        print(f"(built a store of {DOSSIERS:,} dossiers in {time.perf_counter() - started:.1f} s)")
        _, small = _best("dashboard", empty_store)
        _, big = _best("dashboard", big_store)
        report.figure(
            f"dashboard load, {DOSSIERS:,} dossiers",
            big,
            "ms",
            "dashboard load, empty store",
            small,
            aim="≤ 300 ms",
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "probe":
        probe(*sys.argv[2:4])
    else:
        run(Report())
