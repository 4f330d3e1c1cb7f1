"""The console and the citizens' lookup in a real browser: Playwright driving Debian's
headless Chromium (``/usr/bin/chromium``) against a live server on loopback, with data
pushed by real desktops. Every request the pages make must stay on the server (a closed
network): anything else is aborted and fails the test. Screenshots go to
``/tmp/console-*.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from core.domain.dossier import DossierView
from core.domain.workflow import Action
from tests.sync.fixtures import APPLICANT, SPECIALIST, Net, act, receive
from tests.sync.live import live_server

from .helpers import PASSWORD, add_admin

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp")
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 800, "height": 1280}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    url: str
    net: Net
    received: DossierView
    other: DossierView
    browser: Browser
    outside: list[str]

    def context(self, viewport: dict[str, int], lang: str = "vi") -> BrowserContext:
        context = self.browser.new_context(viewport=viewport, locale="vi-VN")
        if lang != "vi":
            host = self.url.split("//")[1].split(":")[0]
            context.add_cookies(
                [{"name": "motcua_lang", "value": lang, "domain": host, "path": "/"}]
            )

        def local_only(route: Route) -> None:
            if route.request.url.startswith(self.url):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        context.route("**/*", local_only)
        return context


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: scripts/system-deps.sh installs it")
    root = tmp_path_factory.mktemp("console-browser")
    with live_server("sqlite", root / "server") as server, sync_playwright() as pw:
        net = Net(server, root)
        tayho, badinh = net.branch("TAYHO"), net.branch("BADINH")
        desk, other_desk = net.desktop(tayho), net.desktop(badinh)
        received = receive(desk)
        act(desk, received.code, Action.TRANSFER)
        act(desk, received.code, Action.START, SPECIALIST)
        second = receive(desk)
        other = receive(other_desk)
        net.agent(desk).sync_once()
        net.agent(other_desk).sync_once()
        add_admin(net.engine, "root", full_name="Trần Thị Quản Trị")
        add_admin(net.engine, "khoa")
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield Site(server.url, net, received, other, browser, [])
        finally:
            browser.close()
            net.close()
    assert second.code


@pytest.fixture
def admin(site: Site) -> Iterator[Page]:
    """A page logged in as the central admin, at 1366×768."""
    context = site.context(DESKTOP)
    page = context.new_page()
    login(page, site, "root")
    expect(page.locator("h1")).to_have_text("Tổng quan")
    yield page
    context.close()
    assert site.outside == [], "every request stays on the server"


def login(page: Page, site: Site, name: str, password: str = PASSWORD) -> None:
    page.goto(site.url + "/console/")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_login_lockout(site: Site) -> None:
    """GIVEN the login page, in Vietnamese by default
    WHEN an account gets five wrong passwords, then its right one
    THEN each wrong one says so on the page, the fifth locks the account, and the right
    password is refused while it is locked."""
    context = site.context(DESKTOP)
    page = context.new_page()
    page.goto(site.url + "/console/")
    expect(page.locator("h1")).to_have_text("Đăng nhập trang quản trị trung tâm")
    shot(page, "login")
    for _ in range(4):
        login(page, site, "khoa", "sai-mat-khau")
        expect(page.locator("#error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
    login(page, site, "khoa", "sai-mat-khau")
    expect(page.locator("#error")).to_contain_text("tài khoản bị khóa trong 15 phút")
    login(page, site, "khoa")
    expect(page.locator("#error")).to_contain_text("bị khóa")
    shot(page, "lockout")
    context.close()


def test_overview_with_pushed_data(site: Site, admin: Page) -> None:
    """GIVEN two branches whose desktops pushed dossiers
    WHEN the central admin logs in at 1366×768
    THEN the overview shows every branch, its devices with their last sync, today's
    events and this month's dossiers, without sideways scrolling."""
    tayho = admin.locator("#branch-TAYHO")
    expect(tayho.locator("h2")).to_contain_text("Chi nhánh TAYHO")
    expect(tayho.locator(".dossiers-month")).to_have_text("2")
    assert int(tayho.locator(".events-today").inner_text()) >= 5
    expect(tayho.locator("tr.device")).to_have_count(1)
    expect(tayho.locator("tr.device td").nth(1)).to_have_text(
        re.compile(r"\d\d:\d\d \d\d/\d\d/\d{4}")
    )
    expect(admin.locator("#branch-BADINH .dossiers-month")).to_have_text("1")
    assert no_sideways_scroll(admin)
    shot(admin, "overview")


def test_overview_on_a_tablet(site: Site) -> None:
    """The overview on a tablet (800×1280), in English: the same figures, no sideways
    scrolling."""
    context = site.context(TABLET, lang="en")
    page = context.new_page()
    login(page, site, "root")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("#branch-TAYHO .dossiers-month")).to_have_text("2")
    assert no_sideways_scroll(page)
    shot(page, "overview-tablet")
    context.close()


def test_dossier_search_and_detail(site: Site, admin: Page) -> None:
    """GIVEN the dossiers page
    WHEN the admin types a name without diacritics (htmx searches as she types), then a
    citizen ID, then opens a dossier
    THEN the matching dossiers of every branch appear, and the detail shows the dossier
    read-only with its timeline."""
    admin.click("nav >> text=Hồ sơ")
    rows = admin.locator("#results table.results tbody tr")
    expect(rows).to_have_count(3)  # the newest dossiers first, before any search
    admin.fill("#q", "nguyen van an khong co")
    expect(admin.locator("#results .error")).to_contain_text("Không có hồ sơ nào khớp")
    admin.wait_for_url(re.compile(r"q=nguyen"))  # htmx searched as she typed, no reload
    admin.fill("#q", "nguyen van an")
    expect(rows).to_have_count(3)
    admin.select_option("#branch", "BADINH")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(site.other.code)
    admin.select_option("#branch", "")
    admin.fill("#q", APPLICANT["id_number"])
    admin.press("#q", "Enter")
    expect(rows).to_have_count(3)
    shot(admin, "dossiers")
    admin.click(f"text={site.received.code}")
    expect(admin.locator("h1")).to_contain_text(site.received.code)
    timeline = admin.locator("ol.timeline li")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(0)).to_contain_text("Tiếp nhận")
    expect(admin.locator("h1 .badge").first).to_have_text("đang giải quyết")
    assert no_sideways_scroll(admin)
    shot(admin, "dossier")


def test_a_form_without_its_csrf_token_is_refused(site: Site, admin: Page) -> None:
    """GIVEN the logged-in admin's page
    WHEN its logout form is sent with the CSRF token taken out
    THEN a page says the form expired (403), and she is still logged in."""
    admin.evaluate(
        "document.querySelector('form[action=\"/console/logout\"] input[name=csrf]').remove()"
    )
    with admin.expect_response(lambda r: r.url.endswith("/console/logout")) as answer:
        admin.click("text=Đăng xuất")
    assert answer.value.status == 403
    expect(admin.locator(".error")).to_contain_text("Biểu mẫu đã hết hạn")
    shot(admin, "csrf-refused")
    admin.goto(site.url + "/console/")
    expect(admin.locator("h1")).to_have_text("Tổng quan")
    admin.click("text=Đăng xuất")
    expect(admin.locator("h1")).to_have_text("Đăng nhập trang quản trị trung tâm")


def test_citizens_lookup_on_a_phone(site: Site) -> None:
    """GIVEN the lookup page on a phone, without logging in
    WHEN a citizen types the code and the key from her slip, then a wrong key
    THEN she reads her status in plain Vietnamese, the appointment and what to do next;
    with the wrong key, a message that tells nothing about the dossier."""
    context = site.context(PHONE)
    page = context.new_page()
    page.goto(site.url + "/tra-cuu")
    expect(page.locator("h1")).to_have_text("Tra cứu hồ sơ")
    shot(page, "lookup-form")
    page.fill("#code", site.received.code)
    page.fill("#secret", site.received.lookup_token)
    page.click("button[type=submit]")
    result = page.locator("#result")
    expect(result.locator(".status")).to_have_text("Đang được xử lý")
    expect(result).to_contain_text("Ngày hẹn trả kết quả")
    expect(result.locator(".next")).to_contain_text("Mời quay lại vào ngày hẹn")
    assert no_sideways_scroll(page)
    shot(page, "lookup-result")
    page.click("text=Tra cứu hồ sơ khác")
    page.fill("#code", site.received.code)
    page.fill("#secret", "ZZZZ2345")
    page.click("button[type=submit]")
    expect(page.locator("#error")).to_contain_text("Không tìm thấy hồ sơ")
    expect(page.locator("#result")).to_have_count(0)
    assert APPLICANT["full_name"] not in page.content()
    shot(page, "lookup-wrong")
    context.close()
    assert site.outside == []


def test_numbers_follow_the_chosen_language(site: Site) -> None:
    """GIVEN the statistics page in English, then the overview in Vietnamese
    WHEN the figures are shown
    THEN English writes a decimal point and no space before %, Vietnamese a comma; the
    period's days are dd/mm/yyyy in both."""
    context = site.context(DESKTOP, lang="en")
    page = context.new_page()
    login(page, site, "root")
    page.goto(site.url + "/console/stats")
    expect(page.locator("#on-time-rate")).to_have_text(re.compile(r"^\d{1,3}\.\d\d%$"))
    expect(page.locator("section.card h2 .code").first).to_contain_text(
        re.compile(r"^01/\d\d/\d{4} – \d\d/\d\d/\d{4}")
    )
    page.goto(site.url + "/console/lang/vi?next=/console/")
    expect(page.locator("main > p").first).to_contain_text(re.compile(r"\d,\d GiB"))
    context.close()
    assert site.outside == []


def test_form_01_link_opens_the_lookup_with_the_code(site: Site) -> None:
    """GIVEN form 01's QR link on a phone (``/tra-cuu?code=…``)
    WHEN it is opened
    THEN the code is filled in, the cursor waits in the key field, and nothing about the
    dossier shows until the key is given."""
    context = site.context(PHONE)
    page = context.new_page()
    page.goto(f"{site.url}/tra-cuu?code={site.received.code}")
    expect(page.locator("#code")).to_have_value(site.received.code)
    expect(page.locator("#secret")).to_be_focused()
    expect(page.locator("#result")).to_have_count(0)
    page.fill("#secret", site.received.lookup_token)
    page.click("button[type=submit]")
    expect(page.locator("#result .status")).to_have_text("Đang được xử lý")
    context.close()
    assert site.outside == []


def test_api_docs_offline(site: Site) -> None:
    """GIVEN a browser that can reach the server only
    WHEN it opens /docs
    THEN Swagger UI renders the API's operations from the server's own files."""
    context = site.context(DESKTOP, lang="en")
    page = context.new_page()
    page.goto(site.url + "/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    assert page.locator(".opblock").count() >= 10
    shot(page, "docs")
    context.close()
    assert site.outside == []


def test_statistics_users_reference_and_audit_pages(site: Site, admin: Page) -> None:
    """GIVEN the pushed dossiers and the central admin at 1366×768, in Vietnamese
    WHEN she opens the statistics (by procedure) and drills down, adds a branch user,
    previews an appointment and a catalogue edit, and runs the audit
    THEN each page shows its figures, chart, forms and outcome without sideways scrolling;
    the audit's progress is polled by htmx until every chain is found intact."""
    admin.click("nav >> text=Thống kê")
    expect(admin.locator("h1")).to_have_text("Thống kê (Quyết định 766)")
    admin.select_option("#by", "procedure")
    admin.click("form.filters button[type=submit]")
    expect(admin.locator("#total")).to_have_text("3")
    # Vietnamese numbers: a decimal comma, then a no-break space before the percent sign.
    expect(admin.locator("#on-time-rate")).to_have_text(re.compile(r"^\d{1,3},\d\d\s%$"))
    expect(admin.locator("#groups tbody td").last).to_have_text(re.compile(r"^\d{1,3},\d\d\s%$"))
    expect(admin.locator("svg.chart")).to_contain_text(re.compile(r"\d,\d\s%"))
    expect(admin.locator("svg.chart g")).to_have_count(1)
    expect(admin.locator("#groups tbody tr")).to_have_count(1)
    assert no_sideways_scroll(admin)
    shot(admin, "stats")
    admin.click("#groups tbody tr a")
    expect(admin.locator("#drill tbody tr")).to_have_count(3)
    expect(admin.locator("#drill")).to_contain_text(site.received.code)
    shot(admin, "stats-dossiers")

    admin.click("nav >> text=Người dùng")
    admin.select_option("#branch", "TAYHO")
    admin.click("form.filters button[type=submit]")
    expect(admin.locator("#users tbody tr")).to_have_count(4)  # the desk's admin, 3 clerks
    admin.fill("#new-username", "thu")
    admin.fill("#new-full-name", "Lê Thị Thu")
    admin.select_option("#new-role", "officer")
    admin.fill("#new-password", "mat-khau-thu-1")
    admin.click("#add-user button[type=submit]")
    expect(admin.locator(".done")).to_contain_text("thu")
    expect(admin.locator("#users tbody tr")).to_have_count(5)
    admin.fill("#new-username", "thu")
    admin.fill("#new-password", "mat-khau-thu-2")
    admin.click("#add-user button[type=submit]")
    expect(admin.locator(".error")).to_contain_text("thu")
    assert no_sideways_scroll(admin)
    shot(admin, "users")

    admin.click("nav >> text=Danh mục")
    expect(admin.locator("h1")).to_have_text("Danh mục")
    admin.select_option("#due-branch", "TAYHO")
    admin.fill("#received", "2026-12-04T09:00")
    admin.click("#due button[type=submit]")
    expect(admin.locator("#due-at")).to_contain_text("/2026")
    admin.locator("#catalogue table a").first.click()
    expect(admin.locator("#document")).to_contain_text("processing_time")
    text = admin.locator("#document").input_value()
    admin.fill("#document", text.replace('"sets": 1', '"sets": 2'))
    admin.click("#propose button[type=submit]")
    expect(admin.locator("#proposal")).to_contain_text("sets")
    assert no_sideways_scroll(admin)
    shot(admin, "reference")

    stranger = site.context(DESKTOP).new_page()
    login(stranger, site, "nobody", "sai-mat-khau")  # a failed login, for the security log
    expect(stranger.locator("#error")).to_be_visible()
    stranger.context.close()
    admin.click("nav >> text=Kiểm toán")
    admin.click("#verify button")
    expect(admin.locator("#audit-ok")).to_contain_text("nguyên vẹn", timeout=20_000)
    expect(admin.locator("#incidents")).to_contain_text("Đăng nhập bảng điều khiển thất bại")
    assert no_sideways_scroll(admin)
    shot(admin, "audit")
