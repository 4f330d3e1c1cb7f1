"""`motcua-desktop --tour OUT_DIR`: drive the main flows headless and save every screen.

Runs on the demo branch (created in the data dir when it holds no store), in the chosen
language, with SDL's offscreen video driver; exits 0 when every step worked.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from core.domain.workflow import Action

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from core.services.branch import Branch

log = logging.getLogger(__name__)

APPLICANT = {
    "full_name": "Nguyễn Thị Hoa",
    "id_number": "001190012345",
    "date_of_birth": "1990-05-17",
    "phone": "0912345678",
    "address": "12 Xuân Diệu, phường Tây Hồ, Hà Nội",
}


def run_tour(data_dir: Path, out_dir: Path, language: str) -> int:
    from desktop import demo

    os.environ["MOTCUA_LANG"] = language
    demo.ensure(data_dir)
    demo_conflict(data_dir)
    from desktop.harness import Harness

    h = Harness.start(data_dir)
    try:
        Tour(h, out_dir).run()
    finally:
        h.close()
    return 0


class Tour:
    def __init__(self, harness: object, out_dir: Path) -> None:
        from desktop.harness import Harness

        assert isinstance(harness, Harness)
        self.h = harness
        self.out = out_dir
        self.count = 0

    def shot(self, name: str) -> None:
        self.count += 1
        self.h.screenshot(self.out / f"{self.count:02d}-{name}.png")

    def run(self) -> None:
        h = self.h
        self.shot("login")
        h.login("canbo1", "motcua-demo")
        self.shot("dashboard")
        code = self.intake()
        self.incomplete()
        h.go("dossier", code=code)
        h.pump(until=lambda: not h.shell.ops.busy)
        h.settle()
        self.shot("dossier")
        self.page_viewer()
        h.screen.choose(Action.TRANSFER)
        h.screen.detail_field.input.text = "chuyenvien1"
        h.settle()
        self.shot("dossier-transfer")
        h.screen.confirm(Action.TRANSFER)
        h.settle()
        h.go("queues")
        self.shot("queues")
        h.go("returns")
        if h.screen.table.keys:
            h.screen.select(h.screen.table.keys[0])
        h.settle()
        self.shot("returns")
        h.go("lookup")
        h.screen.query.input.text = "nguyen"
        h.screen.search()
        h.settle()
        self.shot("lookup")
        h.go("reports")
        self.shot("reports")
        h.go("conflicts")
        self.shot("conflicts")
        h.shell.logout()
        h.login("lanhdao1", "motcua-demo")
        h.go("conflicts")
        h.settle()
        self.shot("conflicts-leader")
        self.apology(code)
        h.shell.logout()
        h.login("admin", "motcua-demo")
        h.go("settings")
        h.screen.test_reader()
        h.settle()
        self.shot("settings")
        self.kiosk(code)

    def page_viewer(self) -> None:
        h = self.h
        screen = h.screen
        h.pump(until=lambda: getattr(screen, "all_pages", None))
        screen.view_page(1)
        h.pump(until=lambda: screen.dialog.showing_picture)
        self.shot("dossier-page")
        screen.dialog.dismiss()
        h.settle()

    def apology(self, code: str) -> None:
        from datetime import timedelta

        from core.domain.timeutil import parse_moment, to_vietnam

        h = self.h
        h.go("dossier", code=code)
        screen = h.screen
        h.pump(until=lambda: screen.detail is not None)
        screen.choose(Action.REAPPOINT)
        dialog = screen.dialog
        later = to_vietnam(parse_moment(screen.detail.view.due_at)) + timedelta(days=5)
        dialog.day.input.text = later.strftime("%d/%m/%Y")
        dialog.time.input.text = "16:00"
        dialog.reason.input.text = "Chờ ý kiến xác minh của Sở Tư pháp"
        h.settle()
        self.shot("dossier-apology")
        dialog.confirm()
        h.pump(until=lambda: getattr(screen, "last_form", None))
        h.settle()

    def intake(self) -> str:
        h = self.h
        h.go("intake")
        screen = h.screen
        screen.new_intake()
        screen.search.input.text = "khai sinh"
        h.settle()
        self.shot("intake-procedure")
        screen._pick_first()
        h.settle()
        page = screen.applicant_page
        page.fields["id_number"].input.text = "12345"
        screen._applicant_next()
        h.settle()
        self.shot("intake-applicant-invalid")
        for name, value in APPLICANT.items():
            page.fields[name].input.text = value
        screen._applicant_next()
        h.settle()
        screen.components_page.check_all()
        h.settle()
        key = next(iter(screen.components_page.checks))
        screen.ask_import(key)
        folder = sample_pages(Path(tempfile.mkdtemp(prefix="motcua-tour-pages-")))
        screen.dialog.chooser.path = str(folder)
        screen.dialog.chooser.selection = [str(p) for p in sorted(folder.glob("*.png"))]
        h.settle()
        self.shot("intake-import")
        screen.dialog.confirm()
        h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == 2)
        h.settle()
        self.shot("intake-documents")
        screen.go_step(3)
        h.settle()
        self.shot("intake-return")
        screen._return_next()
        h.settle()
        self.shot("intake-review")
        screen.receive()
        h.pump(until=lambda: screen.step == 5)
        self.shot("intake-slip")
        return str(screen.outcome.code)

    def incomplete(self) -> None:
        h = self.h
        screen = h.screen
        screen.new_intake()
        screen.search.input.text = "ket hon"
        h.settle()
        screen._pick_first()
        h.settle()
        for name, value in APPLICANT.items():
            screen.applicant_page.fields[name].input.text = value
        screen._applicant_next()
        h.settle()
        screen.go_step(3)
        screen._return_next()
        h.settle()
        screen.receive()
        h.pump(until=lambda: screen.step == 5)
        self.shot("intake-incomplete-guidance")

    def kiosk(self, code: str) -> None:
        h = self.h
        h.shell.logout()
        h.shell.kiosk = True
        h.go("kiosk")
        self.shot("kiosk")
        h.screen.code.input.text = code
        h.screen.secret.input.text = "001190012345"
        h.screen.look_up()
        h.settle()
        self.shot("kiosk-status")


def sample_pages(folder: Path) -> Path:
    """Two A4-shaped pages of a request form, as a scanner would have saved them."""
    from PIL import Image, ImageDraw, ImageFont

    from desktop import theme

    folder.mkdir(parents=True, exist_ok=True)
    title = ImageFont.truetype(str(theme.FONT_BOLD), 34)
    body = ImageFont.truetype(str(theme.FONT_REGULAR), 22)
    lines = (
        ("TỜ KHAI ĐĂNG KÝ KHAI SINH", "Kính gửi: UBND phường Tây Hồ"),
        ("GIẤY CHỨNG SINH", "Bệnh viện Phụ sản Hà Nội"),
    )
    for number, (heading, line) in enumerate(lines, start=1):
        image = Image.new("L", (827, 1169), 250)
        draw = ImageDraw.Draw(image)
        draw.text((413, 110), heading, font=title, fill=20, anchor="mm")
        draw.text((90, 200), line, font=body, fill=30)
        for y in range(270, 1050, 46):
            draw.line((90, y, 737, y), fill=150, width=2)
        image.save(folder / f"{number:02d}.png", dpi=(100, 100))
    return folder


def demo_conflict(data_dir: Path) -> None:
    """A second desk of the branch refuses a dossier this desk transferred meanwhile, and
    its events arrive here: a real conflict for the Conflicts screen (once per demo)."""
    from core.domain.workflow import Role
    from core.services.branch import Branch
    from core.services.dossiers import Intake
    from core.services.users import User
    from core.storage import replication

    a = Branch.open(data_dir)
    try:
        if a.dossiers.browse(limit=1) and _has_conflict(a):
            return
        officer = User("canbo1", "Nguyễn Văn An", Role.OFFICER)
        b = Branch.init(
            Path(tempfile.mkdtemp(prefix="motcua-desk-b-")) / "store",
            a.branch_code,
            "Quầy 2",
            ("admin", "motcua-demo"),
        )
        for one, other in ((a, b), (b, a)):

            def trust(conn: Connection, o: Branch = other) -> None:
                replication.add_device(conn, o.device_id, o.branch_code, o.key.public_b64, "desk")

            one.store.write(trust)
        procedure = a.procedures()["HT-KS"]
        applicant = {**APPLICANT, "full_name": "Phạm Minh Đức", "id_number": "001090004321"}
        intake = Intake("HT-KS", applicant, [c.key for c in procedure.components])
        view, _changes = a.dossiers.receive(officer, intake)
        _exchange(a, b)
        a.dossiers.act(officer, view.code, Action.TRANSFER, details={"to": "chuyenvien1"})
        b.dossiers.act(officer, view.code, Action.REFUSE, note="Thiếu chữ ký người yêu cầu")
        _exchange(b, a)
        b.close()
    finally:
        a.close()


def _has_conflict(branch: Branch) -> bool:
    from desktop import queries

    return bool(queries.conflicted(branch, limit=1))


def _exchange(source: Branch, target: Branch) -> None:
    """What the sync agent does between two replicas: send every event the target lacks."""
    from core.services.sync import LocalReplica
    from core.storage import replication

    with target.store.read() as conn:
        vector = replication.vector(conn)
    events = LocalReplica(source).events_above(vector, 100_000)
    LocalReplica(target).ingest(target.branch_code, events, 0)
