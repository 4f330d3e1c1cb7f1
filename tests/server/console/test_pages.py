"""The console's statistics, users, reference data and audit pages over HTTP (no
browser), on SQLite and PostgreSQL: figures equal to ``motcua stats`` on a synced desk,
users and calendar changed through centre-signed events the desks learn, catalogue
previewed and published, the audit run in the background; auditors read only, branch
managers keep to their branches; bad input to every form is a message, never a 5xx."""

from __future__ import annotations

import io
import json
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select

from core.domain.timeutil import VIETNAM
from core.domain.workflow import Action
from sync_server import branch_admin, projections
from sync_server import schema as t
from sync_server.console import accounts, reference, stats
from tests.sync.fixtures import LEADER, OFFICER, SPECIALIST, Net, act, receive

from .helpers import Console, add_admin, csrf_of, text_of

GROUPINGS = ("all", "branch", "field", "procedure", "clerk", "channel", "month")


def events_count(net: Net) -> int:
    with net.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())


def month_params(branch: str, by: str) -> dict[str, str]:
    first, last = stats.this_month(datetime.now(VIETNAM).date())
    return {"branch": branch, "from": first.isoformat(), "to": last.isoformat(), "by": by}


def test_statistics_equal_motcua_stats_on_a_synced_desk(net: Net) -> None:
    """GIVEN two branches whose desktops received, processed, finished and withdrew
    dossiers and pushed them to the server
    WHEN the central admin exports the statistics of TAYHO for this month as CSV and XLSX,
    for each grouping
    THEN every figure of every group equals the desk's own report (``motcua stats``'
    ``branch.reports.report``); the XLSX keeps numbers and days as values with display
    formats; the page shows the chart and drills down to the dossiers;
    the other branch's dossiers are not counted."""
    tayho, badinh = net.branch("TAYHO"), net.branch("BADINH")
    desk, other = net.desktop(tayho), net.desktop(badinh)
    done = receive(desk)
    for action, user in (
        (Action.TRANSFER, SPECIALIST),
        (Action.START, SPECIALIST),
        (Action.SUBMIT, SPECIALIST),
        (Action.APPROVE, LEADER),
        (Action.FINISH, OFFICER),
    ):
        act(desk, done.code, action, user)
    working = receive(desk)
    act(desk, working.code, Action.TRANSFER)
    receive(desk, channel="online")
    receive(other)
    receive(other)
    net.agent(desk).sync_once()
    net.agent(other).sync_once()
    add_admin(net.engine)
    web = Console(net.server.url)
    web.login("root")
    first, last = stats.this_month(datetime.now(VIETNAM).date())
    start = datetime.combine(first, clock(0), VIETNAM)
    end = datetime.combine(last + timedelta(days=1), clock(0), VIETNAM) - timedelta(seconds=1)
    for by in GROUPINGS:
        expected = desk.reports.report(start, end, by).as_dict()
        answer = web.get("/console/stats/export.csv", params=month_params(tayho, by))
        assert answer.status_code == 200, answer.text[:300]
        assert answer.headers["content-type"].startswith("text/csv")
        got = stats.read_csv(answer.content.decode("utf-8-sig"))
        groups: dict[str, dict[str, object]] = expected["groups"]
        assert set(got) == {*groups, "overall"}, by
        for name, figures in [*groups.items(), ("overall", expected["overall"])]:
            row = got[name]
            for column, value in figures.items():
                if column == "channels":
                    for channel, n in value.items():
                        assert int(row[f"channel_{channel}"]) == n, (by, name, channel)
                else:
                    assert float(row[column]) == pytest.approx(float(value)), (by, name, column)
    overall = desk.reports.report(start, end, "all").overall
    assert overall.total == 3
    book = web.get("/console/stats/export.xlsx", params=month_params(tayho, "channel"))
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(r for r in rows if r and r[0] == "group")
    last_row = next(r for r in rows if r and r[0] == "overall")
    assert last_row[header.index("total")] == overall.total
    # Numbers and dates stay values; their display format is the spreadsheet's own, so
    # a Vietnamese reader sees 1.234 and 95,50 and the days as dd/mm/yyyy.
    assert sheet["B1"].value == datetime.combine(first, clock(0))
    assert sheet["B1"].number_format == "dd/mm/yyyy"
    overall_cells = next(r for r in sheet.iter_rows() if r[0].value == "overall")
    rate = overall_cells[header.index("on_time_rate")]
    assert rate.value == pytest.approx(overall.on_time_rate) and rate.number_format == "#,##0.00"
    assert overall_cells[header.index("total")].number_format == "#,##0"
    page = web.get("/console/stats", params=month_params(tayho, "procedure"))
    assert page.status_code == 200
    assert "<svg" in page.text and "Export CSV" in page.text
    every = web.get("/console/stats", params=month_params("", "branch")).text
    assert "TAYHO" in every and "BADINH" in every
    drill = web.get(
        "/console/stats/dossiers", params={**month_params(tayho, "all"), "group": "all"}
    )
    assert drill.status_code == 200
    for view in (done, working):
        assert view.code in drill.text
    assert f"/console/dossiers/{tayho}/{done.id}" in drill.text

    # A server upgraded from before dossier_facts: the same figures from the records,
    # then from the facts the server writes for them.
    def every_export() -> list[dict[str, dict[str, str]]]:
        return [
            stats.read_csv(
                web.get(
                    "/console/stats/export.csv", params=month_params(branch, by)
                ).content.decode("utf-8-sig")
            )
            for branch in ("", tayho)
            for by in (*GROUPINGS, "received_unit", "processing_unit")
        ]

    counted = every_export()
    with net.engine.begin() as conn:
        conn.execute(projections.cursors.update().values(facts_ready=False))
        conn.execute(projections.facts.delete())
    assert every_export() == counted
    assert projections.backfill_facts(net.engine) == {tayho: 3, badinh: 2}
    assert every_export() == counted


def test_users_are_changed_through_centre_events_the_desk_learns(net: Net) -> None:
    """GIVEN a branch with a synced desk and the central admin in the console
    WHEN she adds a user (then the same name again), changes her role, disables and
    enables her, resets her password and unlocks her
    THEN each change is a centre-signed event in the branch's chain carrying the admin's
    name as ``by``; the existing name is refused with a message and nothing is written;
    after a sync the desk knows the new user with her new role and password."""
    branch = net.branch("TAYHO")
    desk = net.desktop(branch)
    add_admin(net.engine, "lan-admin")
    web = Console(net.server.url)
    web.login("lan-admin")
    page = web.get("/console/users", params={"branch": branch})
    assert page.status_code == 200 and "hung" in page.text
    token = csrf_of(page.text)
    base = {"csrf": token, "branch": branch}
    added = web.post(
        "/console/users",
        {
            **base,
            "op": "add",
            "username": "thu",
            "full_name": "Lê Thu",
            "role": "officer",
            "password": "mat-khau-thu-1",
        },
    )
    assert added.status_code == 200 and "thu" in text_of(added.text)
    before = events_count(net)
    again = web.post(
        "/console/users",
        {**base, "op": "add", "username": "thu", "role": "officer", "password": "mat-khau-2x"},
    )
    assert again.status_code == 400 and "already exists" in text_of(again.text)
    assert events_count(net) == before
    for form in (
        {"op": "role", "username": "thu", "role": "leader"},
        {"op": "disable", "username": "thu"},
        {"op": "enable", "username": "thu"},
        {"op": "reset", "username": "thu", "password": "mat-khau-moi-9"},
        {"op": "unlock", "username": "thu"},
    ):
        answer = web.post("/console/users", {**base, **form})
        assert answer.status_code == 200, (form, text_of(answer.text)[:300])
        assert 'class="done"' in answer.text
    assert events_count(net) == before + 5
    users = branch_admin.branch_users(net.engine, branch)
    assert users["thu"]["role"] == "leader" and not users["thu"]["disabled"]
    with net.engine.connect() as conn:
        bodies = (
            conn.execute(
                select(t.events.c.body).where(
                    t.events.c.branch == branch, t.events.c.type.like("user.%")
                )
            )
            .scalars()
            .all()
        )
    mine = [json.loads(b) for b in bodies if json.loads(b)["payload"].get("by")]
    assert len(mine) == 6
    assert {w["payload"]["by"] for w in mine} == {"console:lan-admin"}
    assert {w["actor"] for w in mine} == {"central"}
    net.agent(desk).sync_once()
    assert desk.login("thu", "mat-khau-moi-9").username == "thu"


def test_auditor_reads_only_and_a_branch_manager_keeps_to_her_branches(net: Net) -> None:
    """GIVEN an auditor and a branch manager of TAYHO
    WHEN they open the users and reference pages, and post changes anyway
    THEN the auditor sees no form and every post is refused 403, nothing written; the
    manager changes TAYHO's users and calendar but not BADINH's nor the national ones."""
    tayho, badinh = net.branch("TAYHO"), net.branch("BADINH")
    add_admin(net.engine, "kiemtra", accounts.AUDITOR)
    add_admin(net.engine, "quanly", accounts.BRANCH_MANAGER, branches=(tayho,))
    auditor = Console(net.server.url)
    auditor.login("kiemtra")
    page = auditor.get("/console/users", params={"branch": tayho}).text
    assert 'id="add-user"' not in page and 'value="reset"' not in page
    ref = auditor.get("/console/reference").text
    assert 'id="calendar-form"' not in ref and 'id="propose"' not in ref
    token = csrf_of(page)
    before = events_count(net)
    user_form = {"csrf": token, "branch": tayho, "op": "unlock", "username": "lan"}
    cal_form = {
        "csrf": token,
        "scope": tayho,
        "day": "2026-12-24",
        "kind": "holiday",
        "reason": "QĐ 1",
        "op": "set",
    }
    assert auditor.post("/console/users", user_form).status_code == 403
    assert auditor.post("/console/reference/calendar", cal_form).status_code == 403
    catalogue = {"csrf": token, "op": "preview", "document": "[]"}
    assert auditor.post("/console/reference/catalogue", catalogue).status_code == 403
    assert auditor.get("/console/audit").status_code == 200
    assert events_count(net) == before
    manager = Console(net.server.url)
    manager.login("quanly")
    page = manager.get("/console/users").text
    assert 'id="add-user"' in page and badinh not in text_of(page)
    token = csrf_of(page)
    assert manager.get("/console/users", params={"branch": badinh}).status_code == 404
    refused = {"csrf": token, "branch": badinh, "op": "unlock", "username": "lan"}
    assert manager.post("/console/users", refused).status_code == 404  # not hers to see
    national = {**cal_form, "csrf": token, "scope": "*"}
    assert manager.post("/console/reference/calendar", national).status_code == 403
    assert (
        manager.post("/console/reference/calendar", {**cal_form, "csrf": token}).status_code == 200
    )
    assert manager.post("/console/users", {**refused, "branch": tayho}).status_code == 200
    assert manager.get("/console/audit").status_code == 403
    assert events_count(net) == before + 2


def test_catalogue_preview_and_publish(net: Net) -> None:
    """GIVEN the catalogue in force
    WHEN the admin edits one procedure's processing time, previews and publishes it;
    then sends a whole catalogue of two procedures
    THEN the preview shows the change field by field; the publication is signed by the
    centre in the national chain, ``by`` the admin, and is the catalogue in force; the
    two-procedure catalogue lists the dropped codes and is refused unless removals are
    allowed; a document over the body limit is a 4xx."""
    net.branch("TAYHO")
    add_admin(net.engine)
    web = Console(net.server.url)
    web.login("root")
    current = json.loads(web.get("/console/reference/catalogue.json").text)["procedures"]
    code = current[0]["code"]
    page = web.get("/console/reference", params={"edit": code})
    assert page.status_code == 200 and "processing_time" in page.text
    edited = {**json.loads(reference.procedure_json(net.engine, code))}
    edited["processing_time"] = int(edited["processing_time"]) + 3
    text = json.dumps(edited, ensure_ascii=False)
    token = csrf_of(page.text)
    form = {"csrf": token, "op": "preview", "mode": "procedure", "document": text}
    preview = web.post("/console/reference/catalogue", form)
    assert preview.status_code == 200, text_of(preview.text)[:300]
    shown = text_of(preview.text)
    assert code in shown and "processing_time" in shown and 'id="publish"' in preview.text
    before = events_count(net)
    done = web.post("/console/reference/catalogue", {**form, "op": "publish"})
    assert done.status_code == 200, text_of(done.text)[:300]
    assert events_count(net) == before + 1
    now_in_force = {p.code: p for p in reference.in_force(net.engine)}
    assert now_in_force[code].processing_time == edited["processing_time"]
    assert len(now_in_force) == len({p["code"] for p in current})
    payload = branch_admin.last_payload(net.engine, "*", "catalogue.published")
    assert payload is not None and payload["by"] == "console:root"
    small = json.dumps({"procedures": current[:2]}, ensure_ascii=False)
    whole = {"csrf": token, "op": "preview", "mode": "catalogue"}
    preview = web.post(
        "/console/reference/catalogue",
        data=whole,
        files={"file": ("catalogue.json", small.encode(), "application/json")},
    )
    assert preview.status_code == 200 and current[-1]["code"] in text_of(preview.text)
    publish = {**whole, "op": "publish", "document": small}
    refused = web.post("/console/reference/catalogue", publish)
    assert refused.status_code == 400 and events_count(net) == before + 1
    allowed = web.post("/console/reference/catalogue", {**publish, "allow_removals": "1"})
    assert allowed.status_code == 200 and events_count(net) == before + 2
    assert len(reference.in_force(net.engine)) == 2
    whole_catalogue = json.dumps({"procedures": current}, ensure_ascii=False)
    assert len(whole_catalogue) > 16 * 1024  # more than an anonymous body: it is taken
    taken = web.post("/console/reference/catalogue", {**whole, "document": whole_catalogue})
    assert taken.status_code == 200
    huge = json.dumps({"procedures": current * 40}, ensure_ascii=False)
    too_big = web.post("/console/reference/catalogue", {**whole, "document": huge})
    assert too_big.status_code == 413


def test_calendar_overrides_and_due_preview(net: Net) -> None:
    """GIVEN a branch
    WHEN the admin sets a national day off and a branch day off, previews an
    appointment across them, then removes the branch's
    THEN both are listed, the preview skips them, and the removal lists it no more."""
    branch = net.branch("TAYHO")
    add_admin(net.engine)
    web = Console(net.server.url)
    web.login("root")
    token = web.csrf("/console/reference")
    monday = date(2026, 12, 7)
    for scope, day in (("*", monday), (branch, monday + timedelta(days=1))):
        answer = web.post(
            "/console/reference/calendar",
            {
                "csrf": token,
                "scope": scope,
                "day": day.isoformat(),
                "kind": "holiday",
                "reason": "QĐ thử",
                "op": "set",
            },
        )
        assert answer.status_code == 200, text_of(answer.text)[:300]
    assert [o["day"] for o in branch_admin.overrides(net.engine, "*")] == [monday.isoformat()]
    procedure = next(
        p
        for p in reference.in_force(net.engine)
        if p.processing_unit == "working_days" and p.processing_time >= 3
    )
    plain = reference.due_preview(
        net.engine, "", procedure.code, datetime(2026, 12, 4, 9, tzinfo=VIETNAM)
    )
    shifted = reference.due_preview(
        net.engine, branch, procedure.code, datetime(2026, 12, 4, 9, tzinfo=VIETNAM)
    )
    assert shifted.due_at > plain.due_at
    page = web.get(
        "/console/reference",
        params={"branch": branch, "procedure": procedure.code, "received": "2026-12-04T09:00"},
    )
    assert page.status_code == 200 and 'id="due-at"' in page.text
    gone = web.post(
        "/console/reference/calendar",
        {
            "csrf": token,
            "scope": branch,
            "day": (monday + timedelta(days=1)).isoformat(),
            "reason": "QĐ hủy",
            "op": "remove",
        },
    )
    assert gone.status_code == 200
    assert branch_admin.overrides(net.engine, branch) == []


def test_audit_runs_in_the_background_and_logs_failed_logins(net: Net) -> None:
    """GIVEN pushed events and a failed console login
    WHEN the admin starts the verification and polls its progress
    THEN it ends with every chain intact, and the security log lists the failed login."""
    branch = net.branch("TAYHO")
    desk = net.desktop(branch)
    receive(desk)
    net.agent(desk).sync_once()
    add_admin(net.engine)
    web = Console(net.server.url)
    assert web.login("root", "wrong-password!").status_code == 401
    web.login("root")
    page = web.get("/console/audit")
    assert "Failed console login" in text_of(page.text)
    started = web.post("/console/audit", {"csrf": csrf_of(page.text)})
    assert started.status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        progress = web.get("/console/audit/progress").text
        if "hx-trigger" not in progress:
            break
        time.sleep(0.2)
    assert 'id="audit-ok"' in progress, text_of(progress)


BAD = ["", "x" * 300, "\x00", "'; drop table events; --", "2026-13-45", "ệ" * 150, "-1"]


def test_bad_input_to_every_new_form_is_a_message_never_a_5xx(net: Net) -> None:
    """GIVEN the statistics, users, reference and audit forms
    WHEN each gets malformed values in every field, no CSRF token, or an unreadable body
    THEN every answer is a 4xx page with a message (or the page again), never a 5xx,
    and nothing is written to any chain."""
    branch = net.branch("TAYHO")
    add_admin(net.engine)
    web = Console(net.server.url)
    web.login("root")
    token = web.csrf("/console/users")
    before = events_count(net)
    for value in BAD:
        for params in (
            {"branch": value},
            {"from": value},
            {"to": value},
            {"by": value},
            {"from": "2026-12-31", "to": "2026-01-01"},
            {"from": "2000-01-01", "to": "2026-01-01"},
        ):
            for path in ("/console/stats", "/console/stats/export.csv", "/console/stats/dossiers"):
                answer = web.get(path, params={**params, "group": value})
                assert answer.status_code < 500, (path, params)
        assert web.get("/console/users", params={"branch": value}).status_code < 500
        for field in ("branch", "procedure", "received"):
            params = {"branch": "", "procedure": "HT-KS", "received": "2026-12-04T09:00"}
            answer = web.get("/console/reference", params={**params, field: value})
            assert answer.status_code < 500, (field, value)
        for op in ("add", "role", "disable", "enable", "reset", "unlock", value):
            for field in ("username", "role", "password", "full_name", "branch"):
                form = {
                    "csrf": token,
                    "branch": branch,
                    "op": op,
                    "username": "lan" if op == "add" else "nobody",  # exists / does not
                    "role": "officer",
                    "password": "short" if field == "username" else "mat-khau-dai-1",
                    field: value,
                }
                answer = web.post("/console/users", form)
                assert answer.status_code in (400, 403, 404), (op, field, value, answer.status_code)
                assert 'class="error"' in answer.text
        for op in ("set", "remove", value):
            for field in ("scope", "day", "kind", "reason"):
                if field == "reason" and value.strip():
                    continue  # any words are a reason: below, the reason is left blank
                form = {
                    "csrf": token,
                    "scope": branch,
                    "op": op,
                    "day": "2026-12-24",
                    "kind": "holiday",
                    "reason": "",
                    field: value,
                }
                answer = web.post("/console/reference/calendar", form)
                assert answer.status_code in (400, 403, 404), (op, field, value, answer.status_code)
        for op in ("preview", "publish"):
            form = {"csrf": token, "op": op, "document": value}
            answer = web.post("/console/reference/catalogue", form)
            assert answer.status_code == 400 and 'class="error"' in answer.text, (op, value)
    for doc in ("{}", "[1, 2]", '{"procedures": [{"code": 1}]}', "null", "[]"):
        answer = web.post(
            "/console/reference/catalogue", {"csrf": token, "op": "preview", "document": doc}
        )
        assert answer.status_code == 400 and 'class="error"' in answer.text, doc
    for path in (
        "/console/users",
        "/console/reference/calendar",
        "/console/reference/catalogue",
        "/console/audit",
    ):
        for body in (b"\xff\xfe\x00garbage", b"%%%%", b"", b"csrf=nope"):
            for kind in ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain"):
                answer = web.post(path, body, headers={"Content-Type": kind})
                assert answer.status_code == 403, (path, body, kind, answer.status_code)
                assert answer.headers["content-type"].startswith("text/html")
    assert web.get("/console/stats/export.pdf").status_code == 404
    assert events_count(net) == before


def test_the_groups_table_is_paged_and_the_exports_keep_every_row() -> None:
    """A report grouped by branch over thousands of branches shows its table a hundred
    rows at a time (the CSV has every row); a page number past the end shows the last."""
    from core.reports import ReportBuilder, Tally
    from core.reports.ontime import Bucket

    now = datetime(2026, 11, 20, 9, 0, tzinfo=VIETNAM)
    builder = ReportBuilder(now - timedelta(days=10), now, now, "branch")
    tally = Tally(True, True, "counter", False, 0, False, False, False, False)
    for n in range(250):
        builder.count(f"B{n:04d}", tally, Bucket.ON_TIME, True)
    result = builder.build()
    first, last = stats.group_page(result, 1), stats.group_page(result, 99)
    assert (first.pages, first.total, first.first) == (3, 250, 1)
    assert [name for name, _s in first.rows][:2] == ["B0000", "B0001"]
    assert (last.page, last.first, len(last.rows)) == (3, 201, 50)
    assert len(stats.read_csv(stats.as_csv(result, []))) == 251  # every branch and overall
