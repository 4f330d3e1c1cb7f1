"""The central console at the scale of a country's centres (issue 13): the overview and the
statistics pages over 3,000 branches × 1,000 dossiers on PostgreSQL, through a real
``motcua-server serve`` process and the console's own login.

The dossiers are seeded straight into the server's projection (``dossiers``) from two
records a real desk folded (one returned, one in progress), their ids, branches and
moments varied in SQL: 3,000,000 rows in about a minute, received over the last year
(≈ 83 per branch per month), a fifth of the finished ones late. Each branch has two
enrolled devices. Every figure is beside a baseline measured in the same run: the same
page for one branch.

``MOTCUA_BENCH_BRANCHES`` and ``MOTCUA_BENCH_DOSSIERS`` make the seed smaller for a try.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from core.domain.timeutil import VIETNAM
from core.domain.workflow import State
from core.services.branch import Branch
from core.services.dossiers import Intake
from sync_server import projections
from sync_server.db import make_engine, migrate
from tests.server.console.helpers import PASSWORD, Console, add_admin

from .bench_sync import fresh_db, postgres, server_process
from .harness import Report, stopwatch

BRANCHES = int(os.environ.get("MOTCUA_BENCH_BRANCHES", "3000"))
DOSSIERS = int(os.environ.get("MOTCUA_BENCH_DOSSIERS", "1000"))
ROUNDS = 20
APPLICANT = {
    "full_name": "Nguyễn Văn An",
    "id_number": "001090012345",
    "date_of_birth": "1990-01-01",
    "phone": "0912345678",
    "address": "12 Xuân Diệu, Tây Hồ, Hà Nội",
}
# Placeholders in the template records, replaced in SQL for every seeded dossier.
MARKS = {
    "id": "@@ID@@",
    "code": "@@CODE@@",
    "branch": "@@BR@@",
    "received": "2000-01-01T01:01:01+07:00",
    "due": "2000-01-02T02:02:02+07:00",
    "end": "2000-01-03T03:03:03+07:00",
}


def templates(tmp: Path) -> dict[str, dict[str, Any]]:
    """Projection rows (with placeholders) of a returned and of an in-progress dossier,
    as the server's fold writes them."""
    desk = Branch.init(tmp / "template-desk", "TEMPLATE", "Mẫu", ("admin", "admin-pass-1"))
    try:
        admin = desk.login("admin", "admin-pass-1")
        desk.admin.add_user(admin, "officer", "officer", "officer-pass-1", "Trần Thị Bình")
        officer = desk.login("officer", "officer-pass-1")
        papers = [c.key for c in desk.procedures()["HT-KS"].components if c.mandatory]
        view, _changes = desk.dossiers.receive(
            officer, Intake("HT-KS", APPLICANT, components=papers)
        )
    finally:
        desk.close()
    common = {
        "id": MARKS["id"],
        "code": MARKS["code"],
        "branch": MARKS["branch"],
        "received_at": MARKS["received"],
        "due_at": MARKS["due"],
        "deadline_at": MARKS["due"],
    }
    open_view = replace(view, **common, last_at=MARKS["received"])
    done_view = replace(
        view, **common, state=State.RETURNED, end_at=MARKS["end"], last_at=MARKS["end"]
    )
    return {
        "open": projections.row_of(MARKS["branch"], open_view),
        "done": projections.row_of(MARKS["branch"], done_view),
    }


BR = "'B' || lpad(b::text, 4, '0')"  # SQL: branch b's code
# SQL: how long the n-th dossier of branch b takes, 1 to 9 days (due in 7: 2 in 9 late).
TAKES = "(1 + (b * 7919 + n * 104729) % 9) * interval '1 day'"


def _moment(expression: str) -> str:
    """SQL: a timestamptz as the ISO text the projection keeps (Vietnam time, +07:00)."""
    return (
        f"to_char(({expression}) AT TIME ZONE 'UTC' + interval '7 hours', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"+07:00"\')'
    )


def _filled(column: str) -> str:
    """SQL: the template's text with this row's values in place of the placeholders."""
    value = f"(CASE WHEN done THEN :done_{column} ELSE :open_{column} END)"
    for mark, expression in (
        (MARKS["id"], "dossier_id"),
        (MARKS["code"], "code"),
        (MARKS["branch"], "br"),
        (MARKS["received"], "recv"),
        (MARKS["due"], "due"),
        (MARKS["end"], "ended"),
    ):
        value = f"replace({value}, '{mark}', {expression})"
    return value


def seed(url: str, rows: dict[str, dict[str, Any]]) -> None:
    """Branches, two devices each, and BRANCHES × DOSSIERS dossiers received over a year."""
    engine = create_engine(url)
    columns = [c for c in rows["open"] if c != "branch"]
    params = {f"{kind}_{c}": rows[kind][c] for kind in rows for c in columns}
    now = "now()"
    step = f"interval '{365 * 24 * 60 // DOSSIERS} minutes'"
    spread = f"({now} - n * {step} - b * interval '7 seconds')"  # n-th receipt of branch b
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO branches (code, name, created_at) SELECT 'B' || lpad(b::text, 4, '0'),"
                " 'Chi nhánh ' || b, '2025-01-01T00:00:00+07:00' FROM generate_series(1, :n) b"
            ),
            {"n": BRANCHES},
        )
        conn.execute(
            text(
                "INSERT INTO devices (device_id, branch, public_key, label, code_blocks, revoked,"
                f" flagged, enrolled_at) SELECT 'dev-' || b || '-' || k, {BR},"
                " md5(b || '-' || k), 'quầy ' || k, '[]', false, '', '2025-01-01T00:00:00+07:00'"
                " FROM generate_series(1, :n) b, generate_series(1, 2) k"
            ),
            {"n": BRANCHES},
        )
        select_values = ", ".join(
            _filled(c)
            if isinstance(rows["open"][c], str)
            else f"(CASE WHEN done THEN :done_{c} ELSE :open_{c} END)"
            for c in columns
        )
        body = f"""
            INSERT INTO dossiers (branch, {", ".join(columns)})
            SELECT br, {select_values} FROM (
                SELECT br, dossier_id, code, done,
                       {_moment("r")} AS recv, {_moment("r + interval '7 days'")} AS due,
                       {_moment(f"r + {TAKES}")} AS ended
                FROM (
                    SELECT b, n, 'B' || lpad(b::text, 4, '0') AS br,
                           'd-' || b || '-' || n AS dossier_id,
                           'B' || lpad(b::text, 4, '0') || '-' || lpad(n::text, 6, '0') AS code,
                           {spread} AS r,
                           {spread} + {TAKES} < {now} AS done
                    FROM generate_series(1, :branches) b, generate_series(1, :dossiers) n
                ) raw
            ) s
        """
        conn.execute(text(body), {**params, "branches": BRANCHES, "dossiers": DOSSIERS})
        # As after an upgrade: the server writes each branch's statistics facts from
        # its records (the same code as a fold), timed apart.
        conn.execute(
            text(
                "INSERT INTO projection_cursor (branch, folded_seq, facts_ready)"
                " SELECT code, 0, false FROM branches"
            )
        )
    engine.dispose()


def backfill(url: str) -> int:
    engine = make_engine(url)
    try:
        written = sum(projections.backfill_facts(engine).values())
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return written
    finally:
        engine.dispose()


def last_month_end(today: date) -> datetime:
    """The last second of the month before `today`'s, Vietnam time."""
    return datetime.combine(today.replace(day=1), time(0), VIETNAM) - timedelta(seconds=1)


def close_last_month(url: str, today: date) -> int:
    """As the fold leaves them once a month is over: the dossiers received by its end and
    still in progress then (or ended since) have events after it (their ``last_s``
    moves on) and their facts as of its end kept in ``dossier_facts_closed``. Returns
    how many."""
    end_s = int(last_month_end(today).timestamp())
    columns = [c.name for c in projections.facts.columns]
    kept = ", ".join("LEAST(last_s, :end)" if c == "last_s" else c for c in columns)
    went_on = "received_s <= :end AND (ended_s IS NULL OR ended_s > :end) AND NOT refused"
    moved = went_on + " AND last_s <= :end + 3600"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            made = conn.execute(
                text(
                    f"INSERT INTO dossier_facts_closed ({', '.join(columns)}, month_end_s)"
                    f" SELECT {kept}, :end FROM dossier_facts WHERE {went_on}"
                ),
                {"end": end_s},
            ).rowcount
            conn.execute(
                text(
                    f"UPDATE dossier_facts SET last_s = GREATEST(last_s, :end + 3600) WHERE {moved}"
                ),
                {"end": end_s},
            )
        # What autovacuum does soon after: the updated rows' old versions gone, so
        # that the indexes do not lead to them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) dossier_facts"))
            conn.execute(text("VACUUM (ANALYZE) dossier_facts_closed"))
        return int(made)
    finally:
        engine.dispose()


def _timed_get(console: Console, path: str) -> float:
    with stopwatch() as elapsed:
        answer = console.get(path)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return elapsed()


def p95(console: Console, path: str, rounds: int = ROUNDS) -> float:
    _timed_get(console, path)  # warm: the first read fills PostgreSQL's cache
    times = sorted(_timed_get(console, path) for _ in range(rounds))
    return times[max(0, round(0.95 * len(times)) - 1)] * 1000


def median(console: Console, path: str, rounds: int = 5) -> float:
    _timed_get(console, path)
    return statistics.median(_timed_get(console, path) for _ in range(rounds))


def run(report: Report) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-console-"))
    scale = f"{BRANCHES:,} branches × {DOSSIERS:,} dossiers"
    with postgres() as pg_admin, fresh_db(pg_admin) as url:
        engine = make_engine(url)
        migrate(engine)
        add_admin(engine, "bench")
        engine.dispose()
        with stopwatch() as seeding:
            seed(url, templates(tmp))
        print(f"seeded {scale} in {seeding():.0f} s", flush=True)
        with stopwatch() as writing:
            written = backfill(url)
        print(f"statistics facts of {written:,} dossiers written in {writing():.0f} s", flush=True)
        closed = close_last_month(url, datetime.now(VIETNAM).date())
        print(f"{closed:,} dossiers went on past the end of last month", flush=True)
        with server_process(tmp / "server", url) as base:
            console = Console(base)
            answer = console.login("bench", PASSWORD)
            assert answer.status_code == 200 and "/console/login" not in answer.url, answer.url
            # Days as the console counts them: Vietnam's (a period that ended yesterday
            # there would fold again every dossier with an event since, from the log the
            # seed does not have).
            today = datetime.now(VIETNAM).date()
            month_ago = today - timedelta(days=30)
            one = "B0001"
            report.figure(
                f"console overview, {scale}, p95",
                p95(console, "/console/"),
                "ms",
                "the sign-in page of the same server",
                p95(console, "/console/login"),
                aim="p95 <= 300 ms",
            )
            report.figure(
                f"console statistics page (this month, by branch), {scale}, p95",
                p95(console, "/console/stats?by=branch"),
                "ms",
                "the same page for one branch",
                p95(console, f"/console/stats?by=branch&branch={one}"),
                aim="p95 <= 300 ms",
            )
            last_30 = f"/console/stats?by=branch&from={month_ago}&to={today}"
            report.figure(
                f"a month's cross-branch statistics (30 days, by branch), {scale}",
                median(console, last_30),
                "s",
                "the same month for one branch",
                median(console, f"{last_30}&branch={one}"),
                aim="<= 1 s",
            )
            end = last_month_end(today)
            closed_month = (
                f"/console/stats?by=branch&from={end.date().replace(day=1)}&to={end.date()}"
            )
            report.figure(
                f"last month's cross-branch statistics (a closed month, by branch; "
                f"{closed:,} dossiers went on past its end), {scale}",
                median(console, closed_month),
                "s",
                "the same month for one branch",
                median(console, f"{closed_month}&branch={one}"),
                aim="<= 1 s",
            )
