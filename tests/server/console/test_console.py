"""The console over HTTP (no browser): accounts, sessions, CSRF, lockout, what each role
sees, the citizens' lookup, bad input — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shlex
from collections import namedtuple
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from core.domain.workflow import Action
from sync_server import cli, identity
from sync_server.console import accounts, catalogue, queries, sessions
from sync_server.console.tables import accounts as account_table
from sync_server.console.tables import device_seen
from sync_server.console.tables import sessions as session_table
from tests.sync.fixtures import APPLICANT, Net, act, receive

from .helpers import PASSWORD, Console, add_admin, csrf_of, text_of


def session_count(net: Net) -> int:
    with net.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(session_table)).scalar_one())


def test_login_session_and_logout(net: Net) -> None:
    """GIVEN a central admin made with `motcua-server admin add`
    WHEN she opens the console, logs in, then logs out
    THEN she is sent to the login page first, lands on the overview after, and after
    logout her old cookie opens nothing; the verifier stored is Argon2id."""
    data = ["--data-dir", str(net.server.settings.data_dir)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", net.server.settings.database_url)
        mp.setenv("MOTCUA_NEW_PASSWORD", PASSWORD)
        assert cli.main([*data, "admin", "add", "root", "--role", "central-admin"]) == 0
        assert cli.main([*data, "admin", "add", "root", "--role", "auditor"]) == 2  # exists
        mp.setenv("MOTCUA_NEW_PASSWORD", "short")
        assert cli.main([*data, "admin", "add", "x", "--role", "auditor"]) == 2
    with net.engine.connect() as conn:
        verifier = conn.execute(select(account_table.c.password_hash)).scalar_one()
    assert verifier.startswith("$argon2id$")
    assert PasswordHasher().verify(verifier, PASSWORD)
    web = Console(net.server.url)
    first = web.get("/console/")
    assert first.url.endswith("/console/login?next=/console/")
    after = web.login("root")
    assert after.status_code == 200 and after.url.endswith("/console/")
    assert "Overview" in after.text
    cookie = web.http.cookies.get("motcua_session")
    assert web.post("/console/logout", {"csrf": csrf_of(after.text)}).url.endswith("/login")
    stranger = Console(net.server.url)
    stranger.http.cookies.set("motcua_session", cookie)
    assert stranger.get("/console/").url.endswith("/console/login?next=/console/")


def test_forms_without_their_csrf_token_are_refused(net: Net) -> None:
    """GIVEN a logged-in admin
    WHEN a login or a logout is posted without its CSRF token, or with another's
    THEN it is refused with a page saying so (403) and nothing changes: no session is
    opened, the admin's session stays."""
    add_admin(net.engine)
    web = Console(net.server.url)
    web.login("root")
    assert session_count(net) == 1
    refused = web.post("/console/logout", {"csrf": "not-the-token"})
    assert refused.status_code == 403
    assert "expired" in text_of(refused.text)
    assert web.get("/console/").url.endswith("/console/")
    assert session_count(net) == 1
    other = Console(net.server.url)
    form = {"username": "root", "password": PASSWORD}
    no_token = other.post("/console/login", form)
    assert no_token.status_code == 403
    assert session_count(net) == 1


def test_wrong_passwords_lock_the_account(net: Net) -> None:
    """GIVEN an account
    WHEN five wrong passwords are tried
    THEN the account is locked: even the right password is refused, with a message that
    says for how long; a name that is no account gets the same answers."""
    add_admin(net.engine)
    web = Console(net.server.url)
    for _ in range(4):
        wrong = web.login("root", "wrong-password!")
        assert wrong.status_code == 401
        assert "Wrong user name or password" in wrong.text
    locked = web.login("root", "wrong-password!")
    assert "locked for 15 min" in text_of(locked.text)
    right = web.login("root")
    assert right.status_code == 401 and "locked" in right.text
    assert session_count(net) == 0
    for _ in range(5):
        ghost = web.login("nobody", "wrong-password!")
    assert "locked" in text_of(ghost.text)
    with net.engine.begin() as conn:  # the lock has run out
        conn.execute(update(account_table).values(locked_until="2000-01-01T00:00:00+07:00"))
    assert web.login("root").url.endswith("/console/")


def test_sessions_expire(net: Net) -> None:
    """GIVEN a logged-in admin whose session ran past its expiry
    WHEN she opens a page
    THEN she is asked to log in again, and the session is gone."""
    add_admin(net.engine)
    web = Console(net.server.url)
    web.login("root")
    with net.engine.begin() as conn:
        conn.execute(update(session_table).values(expires_at="2000-01-01T00:00:00+07:00"))
    assert "/console/login" in web.get("/console/dossiers").url
    assert session_count(net) == 0
    assert sessions.IDLE < sessions.LIFETIME


def test_overview_and_search_show_pushed_data(net: Net) -> None:
    """GIVEN two branches whose desktops pushed dossiers, a revoked device, a flagged one
    and one silent for two days, and a nearly full disk
    WHEN the central admin opens the overview and searches
    THEN each branch shows its devices, events today, dossiers this month and the flags;
    the search finds a dossier by code, by name without diacritics, by citizen ID and by
    phone; the detail shows its timeline."""
    a_branch, b_branch = net.branch("TAYHO"), net.branch("BADINH")
    desk, other = net.desktop(a_branch), net.desktop(b_branch)
    view = receive(desk)
    act(desk, view.code, Action.TRANSFER)
    receive(other)
    net.agent(desk).sync_once()
    net.agent(other).sync_once()
    spare, rogue = net.desktop(a_branch), net.desktop(b_branch)
    identity.revoke(net.engine, net.key, spare.device_id)
    with net.engine.begin() as conn:
        conn.execute(
            update(identity.t.devices)
            .where(identity.t.devices.c.device_id == rogue.device_id)
            .values(flagged="equivocation: sequence 3")
        )
        conn.execute(
            update(device_seen)
            .where(device_seen.c.device_id == other.device_id)
            .values(seen_at="2020-01-01T08:00:00+07:00")
        )
    usage = namedtuple("usage", "total used free")
    net.server.app_server  # noqa: B018 - the app is live
    console = net.server.server.config.app.state.console  # type: ignore[union-attr]
    console.disk_usage = lambda _path: usage(100 << 30, 99 << 30, 1 << 30)
    add_admin(net.engine)
    web = Console(net.server.url)
    page = text_of(web.login("root").text)
    assert "The server's disk is nearly full: 1.0 GiB free (1%)" in page
    assert "Chi nhánh TAYHO" in page and "Chi nhánh BADINH" in page
    assert "Revoked" in page and "Flagged: equivocation" in page
    assert "Silent for over 24 h" in page
    tayho = page.split("Chi nhánh TAYHO")[1].split("Chi nhánh")[0]
    with net.engine.connect() as conn:
        pushed = conn.execute(
            select(func.count())
            .select_from(identity.t.events)
            .where(identity.t.events.c.origin_device == desk.device_id)
        ).scalar_one()
    assert pushed >= 2  # the receipt and the transfer, at least
    assert f"Events received today {pushed}" in tayho
    assert "Dossiers received this month 1" in tayho
    # The one dossier is in progress within its deadline: on time; none in conflict.
    assert "On-time rate this month 100.00%" in tayho
    assert "Open conflicts 0" in tayho
    # Both branches have a device needing attention; found by name without diacritics.
    assert "2 branches; 2 with a device needing attention (listed first). Page 1 of 1." in page
    found = text_of(web.get("/console/", params={"q": "chi nhanh badinh"}).text)
    assert "Chi nhánh BADINH" in found and "Chi nhánh TAYHO" not in found
    assert "1 branches; 1 with" in found
    nothing = text_of(web.get("/console/", params={"q": "nowhere"}).text)
    assert "No branch matches “nowhere”." in nothing
    assert web.get("/console/", params={"page": "x" * 9}).status_code == 200
    root = accounts.find(net.engine, "root")
    assert root is not None
    first, second = (queries.overview(net.engine, root, page=n, size=1) for n in (1, 2))
    assert (first.pages, first.matching, first.attention) == (2, 2, 2)
    assert [b.code for b in first.lines + second.lines] == ["BADINH", "TAYHO"]
    assert first.lines[0].on_time_rate == 100.0 and first.lines[0].dossiers_month == 1
    for query in (
        view.code,
        "nguyen van an",
        "NGUYỄN văn",
        APPLICANT["id_number"],
        APPLICANT["phone"],
    ):
        found = web.get("/console/dossiers", params={"q": query})
        assert found.status_code == 200
        assert view.code in found.text, query
    only_b = web.get("/console/dossiers", params={"q": "nguyen", "branch": b_branch}).text
    assert view.code not in only_b
    nothing = web.get("/console/dossiers", params={"q": "zzzz"})
    assert "No dossier matches" in text_of(nothing.text)
    detail = web.get(f"/console/dossiers/{a_branch}/{view.id}")
    assert detail.status_code == 200
    assert "Transfer" in text_of(detail.text) and "Receive" in text_of(detail.text)


def test_a_branch_manager_sees_only_its_branches(net: Net) -> None:
    """GIVEN a branch manager of TAYHO, and dossiers in TAYHO and BADINH
    WHEN she opens the overview, searches, and opens a BADINH dossier by its address
    THEN she sees TAYHO only, and the BADINH dossier is not found for her."""
    a_branch, b_branch = net.branch("TAYHO"), net.branch("BADINH")
    desk, other = net.desktop(a_branch), net.desktop(b_branch)
    mine, theirs = receive(desk), receive(other)
    net.agent(desk).sync_once()
    net.agent(other).sync_once()
    add_admin(net.engine, "quanly", accounts.BRANCH_MANAGER, branches=(a_branch,))
    web = Console(net.server.url)
    page = text_of(web.login("quanly").text)
    assert "Chi nhánh TAYHO" in page and "BADINH" not in page
    found = web.get("/console/dossiers", params={"q": "nguyen van an"}).text
    assert mine.code in found and theirs.code not in found
    assert web.get(f"/console/dossiers/{b_branch}/{theirs.id}").status_code == 404
    assert web.get("/console/dossiers", params={"branch": b_branch}).status_code == 404


def test_citizens_lookup(net: Net) -> None:
    """GIVEN a dossier pushed by a desktop
    WHEN a citizen looks it up with the slip's key, the QR text, her citizen ID, a wrong
    key, and an unknown code; then opens form 01's link (``/tra-cuu?code=…``)
    THEN the right ones show the status in plain words, the appointment and what to do;
    the wrong key and the unknown code get the same answer, which reveals nothing; the
    link fills in the code only (anything not a code is dropped) and shows no status."""
    branch = net.branch("TAYHO")
    desk = net.desktop(branch)
    view = receive(desk)
    net.agent(desk).sync_once()
    phone = Console(net.server.url, lang="vi")

    def look(code: str, secret: str = "") -> tuple[int, str]:
        token = csrf_of(phone.get("/tra-cuu").text)
        answer = phone.post("/tra-cuu", {"csrf": token, "code": code, "secret": secret})
        return answer.status_code, text_of(answer.text)

    for code, secret in (
        (view.code, view.lookup_token),
        (view.code.lower(), view.lookup_token.lower()),
        (f"MC1|{view.code}|{view.lookup_token}", ""),
        (view.code, APPLICANT["id_number"]),
    ):
        status, page = look(code, secret)
        assert status == 200, page
        assert "Đã tiếp nhận, đang chờ xử lý" in page
        assert "Ngày hẹn trả kết quả" in page
        assert APPLICANT["full_name"] not in page
    wrong = look(view.code, "ZZZZZZZZ")
    unknown = look("TAYHO-991231-9999", "ZZZZZZZZ")
    assert wrong == unknown
    assert wrong[0] == 404 and "Không tìm thấy hồ sơ" in wrong[1]
    # Form 01's link fills in the code (any case), and still asks for the key: no status.
    linked = phone.get("/tra-cuu", params={"code": view.code.lower()}).text
    assert f'value="{view.code}"' in linked and "autofocus" in linked
    assert "Đã tiếp nhận" not in text_of(linked)
    for junk in ("<script>", "x" * 500, "TAYHO-1"):
        assert 'id="code" name="code" value=""' in phone.get("/tra-cuu", params={"code": junk}).text


def test_lookup_is_rate_limited_per_address(net: Net) -> None:
    """GIVEN a citizen (or a script) guessing keys from one address
    WHEN ten guesses failed
    THEN the next lookup, even a right one, is refused for a while (429)."""
    branch = net.branch("TAYHO")
    desk = net.desktop(branch)
    view = receive(desk)
    net.agent(desk).sync_once()
    phone = Console(net.server.url)
    token = csrf_of(phone.get("/tra-cuu").text)
    for n in range(10):
        guess = phone.post(
            "/tra-cuu", {"csrf": token, "code": view.code, "secret": f"AAAAAA{n:02d}"}
        )
        assert guess.status_code == 404
    right = {"csrf": token, "code": view.code, "secret": view.lookup_token}
    limited = phone.post("/tra-cuu", right)
    assert limited.status_code == 429
    assert "Too many lookups" in text_of(limited.text)


BAD_BODIES = [
    b"\xff\xfe\x00garbage",
    b"csrf=&username=" + b"a" * 5000,
    b"%%%%",
    b"code=%FF%FE&secret=%00",
    b"username=root&password=&csrf=x",
    b"",
]


def test_bad_input_to_every_form_is_a_message_never_a_5xx(net: Net) -> None:
    """GIVEN the login, logout and lookup forms
    WHEN each gets malformed bodies, wrong content types, overlong fields, a multipart
    body without a boundary, and fields of the wrong shape
    THEN every answer is a 4xx page (or the form again) with a message; nothing is
    stored: no session, no account change."""
    add_admin(net.engine)
    web = Console(net.server.url)
    web.get("/console/login")
    web.get("/tra-cuu")
    for path in ("/console/login", "/tra-cuu", "/console/logout"):
        for body in BAD_BODIES:
            for kind in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "application/json",
                "text/plain",
            ):
                answer = web.post(path, body, headers={"Content-Type": kind})
                assert answer.status_code < 500, (path, body, kind, answer.text[:200])
                assert answer.headers["content-type"].startswith("text/html"), (path, kind)
    token = csrf_of(web.get("/tra-cuu").text)
    for code, secret in (("", ""), ("x" * 80, "y"), ("TAYHO-261123-0001", "!"), ("MC1|x", "")):
        answer = web.post("/tra-cuu", {"csrf": token, "code": code, "secret": secret})
        assert answer.status_code == 400
        assert 'class="error"' in answer.text
    for query in ("%", "_", "'; drop table dossiers; --", "\x00", "ệ" * 200):
        assert web.get("/console/dossiers", params={"q": query}).status_code < 500
    assert session_count(net) == 0
    with net.engine.connect() as conn:
        assert conn.execute(select(account_table.c.failures)).scalar_one() <= 2


def test_api_docs_work_offline(net: Net) -> None:
    """GIVEN the server on a network with no way out
    WHEN /docs is opened
    THEN it loads Swagger UI from the server's own files, and those are served."""
    web = Console(net.server.url)
    page = web.get("/docs").text
    assert "http" not in page.replace(net.server.url, "").split("<script>")[0].lower().replace(
        "http-equiv", ""
    )
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/console/static/swagger/{asset}" in page
        assert web.get(f"/console/static/swagger/{asset}").status_code == 200
    assert web.get("/console/static/htmx.min.js").status_code == 200


def test_console_templates_are_translated() -> None:
    """Every message of the console's templates is in its Vietnamese and English
    catalogues (``python -m sync_server.console.catalogue check``)."""
    assert catalogue.missing() == {}


def test_console_doc_commands_parse() -> None:
    """Each `motcua-server …` command shown in docs/console.md parses."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "console.md").read_text("utf-8")
    commands = re.findall(r"motcua-server ((?:admin|rebuild|device)[^`\n#]*)", doc)
    assert len(commands) >= 6
    parser = cli.build_parser()
    for command in commands:
        words = shlex.split(command.replace("ID", "dev-1"))
        assert parser.parse_args(words).handler is not None, command


def test_a_dossiers_scans_and_control_slip_are_shown(net: Net, tmp_path: Path) -> None:
    """GIVEN a dossier of TAYHO with a scan its desk uploaded, and another scan attached
    but not uploaded yet
    WHEN the central admin opens the dossier, then its file; a branch manager of BADINH
    asks for the same file; the admin asks for a hash the dossier does not name
    THEN the page lists both files (the second not on the server yet) and the control
    slip's rows (receipt, transfer); the file comes back as the PDF, shown inline; the
    manager of another branch and the unknown hash get 404, and so does the missing one."""
    from core.services.sync import LocalReplica
    from tests.sync.fixtures import attach_blob

    a_branch, b_branch = net.branch("TAYHO"), net.branch("BADINH")
    desk = net.desktop(a_branch)
    view = receive(desk)
    act(desk, view.code, Action.TRANSFER)
    scan = tmp_path / "to-khai.pdf"
    scan.write_bytes(b"%PDF-1.7\n" + b"to khai " * 500 + b"\n%%EOF\n")
    sha = LocalReplica(desk).add_blob(scan)
    attach_blob(desk, view.id, sha, "to-khai.pdf")
    absent = "ab" * 32
    attach_blob(desk, view.id, absent, "giay-to.pdf")
    net.agent(desk).sync_once()
    add_admin(net.engine)
    add_admin(net.engine, "quanly", accounts.BRANCH_MANAGER, branches=(b_branch,))
    web = Console(net.server.url)
    web.login("root")
    page = web.get(f"/console/dossiers/{a_branch}/{view.id}")
    shown = text_of(page.text)
    assert "to-khai.pdf" in shown and "giay-to.pdf (not on the server yet)" in shown
    assert "Control slip (form 06)" in shown and "Transfer" in shown.split("Control slip")[1]
    link = f"/console/dossiers/{a_branch}/{view.id}/files/{sha}"
    assert link in page.text
    pdf = web.get(link)
    assert pdf.status_code == 200 and pdf.content == scan.read_bytes()
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == "inline"
    for other in (absent, "cd" * 32, "../../server.key"):
        assert web.get(f"/console/dossiers/{a_branch}/{view.id}/files/{other}").status_code == 404
    manager = Console(net.server.url)
    manager.login("quanly")
    assert manager.get(link).status_code == 404
