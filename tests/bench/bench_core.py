"""Core benchmarks: receiving, projection rebuild, search at a million dossiers.

Each figure sits beside a baseline measured in the same run on the same machine:
- receiving 10,000 dossiers through the service vs raw sqlite3 inserts of the same rows;
- rebuilding projections from 100,000 events vs reading and decoding those events;
- search p50/p95 over 1,000,000 dossiers (FTS5 on folded text) vs a LIKE scan.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from core.domain.text import fold
from core.domain.timeutil import parse_moment
from core.domain.workflow import Action, Role
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.users import User
from core.storage import event_store, projection
from core.storage.db import Store, migrate

from .harness import Report, stopwatch

SURNAMES = (
    ["Nguyễn"] * 38
    + ["Trần"] * 11
    + ["Lê"] * 10
    + ["Phạm"] * 7
    + ["Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"] * 2
)
MIDDLE = ["Văn", "Thị", "Minh", "Hữu", "Đức", "Thanh", "Ngọc", "Quốc", "Xuân", "Thu"]
GIVEN = [
    "An",
    "Anh",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Nga",
    "Ngọc",
    "Phong",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Trung",
    "Tú",
    "Tuấn",
    "Vân",
    "Việt",
    "Yến",
]


def person(rng: random.Random, n: int) -> dict[str, str]:
    year = rng.randint(1950, 2005)
    century_digit = "0" if year < 2000 else "2"
    return {
        "full_name": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
        "id_number": f"001{century_digit}{year % 100:02d}{n % 1_000_000:06d}",
        "date_of_birth": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        "phone": f"09{rng.randint(10_000_000, 99_999_999)}",
        "address": f"Số {rng.randint(1, 200)} Lạc Long Quân, Tây Hồ, Hà Nội",
        "email": "",
    }


def new_branch(folder: Path) -> tuple[Branch, User]:
    branch = Branch.init(folder, "TAYHO", "Chi nhánh Tây Hồ", ("admin", "admin-pass-1"))
    branch.codespace = type(branch.codespace)("TAYHO", tuple(range(20)), 500)
    return branch, User("lan", "lan", Role.OFFICER)


def bench_receive(report: Report, folder: Path, count: int) -> Branch:
    rng = random.Random(7)
    branch, officer = new_branch(folder / "svc")
    people = [person(rng, n) for n in range(count)]
    components = [c.key for c in branch.procedures()["HT-XNHN"].components if c.mandatory]
    days = [
        parse_moment(f"2026-{m:02d}-{d:02d}T09:00") for m in range(1, 11) for d in (2, 9, 16, 23)
    ]
    with stopwatch() as elapsed:
        for n, applicant in enumerate(people):
            intake = Intake("HT-XNHN", applicant, components, received_at=days[n % len(days)])
            branch.dossiers.receive(officer, intake)
    service_rate = count / elapsed()
    (folder / "raw").mkdir()
    raw_rate = raw_insert_rate(branch, folder / "raw")
    report.figure(
        "receive dossiers (service, 1 event + projections each)",
        service_rate,
        "dossiers/s",
        "raw sqlite3 insert of the same rows",
        raw_rate,
        aim="within 3x of raw (ratio >= 0.33)",
    )
    return branch


def raw_insert_rate(branch: Branch, folder: Path) -> float:
    """The same event, dossier and search rows, inserted by plain sqlite3 into a fresh store
    of the same schema and pragmas, one transaction per dossier as at the counter."""
    with branch.store.read() as conn:
        events = [event_store.event_row(e) for e in event_store.all_events(conn) if e.dossier_id]
        rows = [dict(r._mapping) for r in conn.execute(projection.t.dossiers.select())]
    bodies = [projection.search_body(projection.view_from_json(r["doc"])) for r in rows]
    fresh = Store(folder / "raw.db")
    migrate(fresh.writer)
    fresh.close()
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL"):
        db.execute(f"PRAGMA {pragma}")
    columns = [c for c in rows[0] if c != "num"]
    event_sql = (
        f"INSERT INTO events ({', '.join(events[0])}) VALUES ({', '.join('?' * len(events[0]))})"
    )
    dossier_sql = (
        f"INSERT INTO dossiers ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    with stopwatch() as elapsed:
        for event, row, body in zip(events, rows, bodies, strict=True):
            db.execute("BEGIN IMMEDIATE")
            db.execute(event_sql, list(event.values()))
            num = db.execute(dossier_sql, [row[c] for c in columns]).lastrowid
            db.execute("INSERT INTO dossier_search(rowid, body) VALUES (?, ?)", (num, body))
            db.execute("COMMIT")
    db.close()
    return len(rows) / elapsed()


def bench_rebuild(report: Report, branch: Branch, per_dossier: int) -> None:
    """Grow the log to ~100k events with real transitions, then rebuild every projection."""
    users = {
        r: User(n, n, r)
        for n, r in [("lan", Role.OFFICER), ("minh", Role.SPECIALIST), ("hung", Role.LEADER)]
    }
    path = [
        (Role.OFFICER, Action.TRANSFER),
        (Role.SPECIALIST, Action.START),
        (Role.SPECIALIST, Action.SUBMIT),
        (Role.LEADER, Action.REJECT),
        (Role.SPECIALIST, Action.SUBMIT),
        (Role.LEADER, Action.APPROVE),
        (Role.SPECIALIST, Action.FINISH),
        (Role.OFFICER, Action.REGISTER_POSTAL),
        (Role.OFFICER, Action.DELIVER),
    ]
    codes = [v.code for v in branch.dossiers.browse(limit=10**9)]
    with stopwatch() as elapsed:
        for code in codes:
            for role, action in path[: per_dossier - 1]:
                branch.dossiers.act(
                    users[role],
                    code,
                    action,
                    note="ghi chú",
                    details={"postal_address": "Số 1 Tràng Tiền"},
                )
    with branch.store.read() as conn:
        total = event_store.count(conn)
    rate = len(codes) * (per_dossier - 1) / elapsed()
    print(f"   (grew the log to {total:,} events; transitions {rate:,.0f}/s)")
    with stopwatch() as read_elapsed, branch.store.read() as conn:
        decoded = sum(1 for _ in event_store.all_events(conn))
    with stopwatch() as rebuild_elapsed:
        replayed = branch.store.write(projection.rebuild)
    assert decoded == replayed == total
    report.figure(
        f"projection rebuild of {total:,} events",
        rebuild_elapsed(),
        "s",
        "reading and decoding the same events",
        read_elapsed(),
        aim="seconds, linear in events",
    )


def fill_store(branch: Branch, count: int) -> None:
    """Add `count` realistic dossiers to the branch store, rows written directly.

    This benchmark measures search, so the rows skip the event path: each is a copy of a
    real dossier row with a new person, code and search entry.
    """
    rng = random.Random(11)
    with branch.store.read() as conn:
        template = dict(conn.execute(projection.t.dossiers.select().limit(1)).one()._mapping)
    view = projection.view_from_json(template["doc"])
    doc = template["doc"].replace(view.applicant["full_name"], "__NAME__")
    columns = [c for c in template if c != "num"]
    insert = f"INSERT INTO dossiers ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    db = sqlite3.connect(branch.store.path, isolation_level=None)
    db.execute("BEGIN")
    for n in range(count):
        p = person(rng, n + 10_000_000)
        day = date(2020, 1, 1) + timedelta(days=n // 1000)  # 1,000 a day, numbers 9000-9999
        code = f"TAYHO-{day:%y%m%d}-{9000 + n % 1000:04d}"
        row = {
            **template,
            "id": f"bench-{n}",
            "code": code,
            "applicant_name": p["full_name"],
            "id_number": p["id_number"],
            "phone": p["phone"],
            "doc": doc.replace("__NAME__", p["full_name"]).replace(view.code, code),
        }
        num = db.execute(insert, [row[c] for c in columns]).lastrowid
        body = fold(
            f"{code} {code.replace('-', ' ')} {p['full_name']} {p['id_number']} {p['phone']}"
        )
        db.execute("INSERT INTO dossier_search (rowid, body) VALUES (?, ?)", (num, body))
    db.execute("COMMIT")
    db.close()


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))]


def bench_search(report: Report, branch: Branch, count: int) -> None:
    with stopwatch() as built:
        fill_store(branch, count)
    print(f"   (added {count:,} dossiers in {built():.0f} s)")
    with branch.store.read() as conn:
        sample = conn.exec_driver_sql(
            "SELECT code, applicant_name, id_number, phone FROM dossiers WHERE num % 4999 = 0"
        ).all()
    queries: list[str] = []
    for code, name, id_number, phone in sample[:200]:
        parts = name.split()
        queries += [name, f"{parts[0]} {parts[-1]}", id_number, phone[:6], code]
    random.Random(3).shuffle(queries)
    fts = timed(branch.dossiers.search, queries)
    raw_db = sqlite3.connect(branch.store.path)
    like_sql = "SELECT rowid FROM dossier_search WHERE body LIKE ? ORDER BY rowid DESC LIMIT 50"
    like = timed(lambda q: raw_db.execute(like_sql, (f"%{fold(q)}%",)).fetchall(), queries[:40])
    raw_db.close()
    total = count + 10_000
    report.figure(
        f"search p50 over {total:,} dossiers ({len(fts)} queries)",
        percentile(fts, 0.5),
        "ms",
        "LIKE scan p50",
        percentile(like, 0.5),
    )
    report.figure(
        f"search p95 over {total:,} dossiers",
        percentile(fts, 0.95),
        "ms",
        "LIKE scan p95",
        percentile(like, 0.95),
        aim="<= 50 ms",
    )


def timed(search: Callable[[str], object], queries: list[str]) -> list[float]:
    """Milliseconds per query, results fully read."""
    times = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - start) * 1000)
    return times


def run(report: Report, receive_count: int = 10_000, million: int = 1_000_000) -> None:
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp:
        folder = Path(tmp)
        branch = bench_receive(report, folder, receive_count)
        bench_rebuild(report, branch, per_dossier=10)
        bench_search(report, branch, million)
        branch.close()
