"""Pages per document: import files, thumbnails, reorder, delete, receive → PDF/A attached,
and the dossier's pages viewer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pikepdf
from PIL import Image, ImageDraw

from core.documents.pdfa import pdfa_status
from core.i18n import _
from core.services import documents

from .flows import fill_applicant, login, open_dossier, receive, start_intake


def write_pages(folder: Path) -> list[Path]:
    """Three scans told apart by their width (the PDF keeps each page's size)."""
    paths = []
    for number, width in enumerate((600, 700, 800), start=1):
        image = Image.new("L", (width, 900), 255)
        ImageDraw.Draw(image).rectangle((40, 40, width - 40, 120), fill=0)
        path = folder / f"trang-{number}.png"
        image.save(path, dpi=(100, 100))
        paths.append(path)
    return paths


def page_widths(pdf: bytes) -> list[int]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [round(float(p.mediabox[2])) for p in doc.pages]


def test_imported_pages_are_reordered_deleted_and_attached(harness: Any, tmp_path: Path) -> None:
    h = harness
    login(h, "officer")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    assert screen.step == 2
    page = screen.components_page
    key = next(iter(page.checks))

    # Import through the dialog the "Import files" button opens.
    buttons = [b for b in h.shell.walk() if getattr(b, "text", "") == _("Import files")]
    buttons[0].dispatch("on_press")
    h.settle()
    dialog = screen.dialog
    assert dialog is not None
    dialog.chooser.path = str(tmp_path)
    dialog.chooser.selection = [str(p) for p in write_pages(tmp_path)]
    dialog.import_button.dispatch("on_press")
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == 3)
    h.settle()
    strip = page.strips[key].children[0]
    assert len(strip.thumbs) == 3 and page.page_cells[key].text == "3"
    assert page.checks[key].active  # pages mean the document was received
    assert h.shows(_("Page {n}").format(n=3))

    # Move page 3 to the front, then delete the (new) second page: 800, 700 remain.
    def press(thumb: int, label: str) -> None:
        strip = page.strips[key].children[0]
        button = next(b for b in strip.thumbs[thumb].walk() if getattr(b, "text", "") == label)
        button.dispatch("on_press")
        h.settle()

    press(2, "‹")
    press(1, "‹")
    press(1, "×")
    assert [p.page.width for p in screen.draft.pages[key]] == [800, 700]
    assert page.page_cells[key].text == "2"

    receive(h, screen)
    code = screen.outcome.code
    files = documents.files(h.shell.services.branch, code)
    assert [(k, f["pages"]) for k, f in files] == [(key, 2)]
    pdf = documents.read(h.shell.services.branch, str(files[0][1]["sha256"]))
    assert pdfa_status(pdf) == "2B"
    assert page_widths(pdf) == [576, 504]  # 800 and 700 pixels at 100 dpi, in that order

    # The dossier shows the stored pages, rendered off the UI thread.
    detail = open_dossier(h, code)
    sha = str(files[0][1]["sha256"])
    h.pump(
        until=lambda: (
            detail.page_slots[sha].children
            and hasattr(detail.page_slots[sha].children[0], "thumbs")
        )
    )
    assert len(detail.page_slots[sha].children[0].thumbs) == 2
    assert h.shows(_("Pages attached"))


def test_a_file_that_is_not_a_page_is_refused_in_words(harness: Any, tmp_path: Path) -> None:
    h = harness
    login(h, "officer")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    key = next(iter(screen.components_page.checks))
    bad = tmp_path / "note.png"
    bad.write_bytes(b"not an image")
    screen.import_files(key, [bad])
    h.pump(until=lambda: "note.png" in h.status())
    assert key not in screen.draft.pages


def test_a_thumbnail_opens_the_page_full_size_with_next_and_previous(
    harness: Any, tmp_path: Path
) -> None:
    h = harness
    login(h, "officer")
    screen = start_intake(h, "khai sinh")
    fill_applicant(h, screen)
    key = next(iter(screen.components_page.checks))
    screen.import_files(key, write_pages(tmp_path)[1:])  # 700 then 800 pixels wide
    h.pump(until=lambda: len(screen.draft.pages.get(key, [])) == 2)
    receive(h, screen)
    detail = open_dossier(h, screen.outcome.code)
    h.pump(until=lambda: getattr(detail, "all_pages", None))
    strip = next(iter(detail.page_slots.values())).children[0]
    thumb_picture = strip.thumbs[0].children[-1]
    thumb_picture.dispatch("on_press")  # a click on the first thumbnail
    viewer = detail.dialog
    h.pump(until=lambda: viewer.showing_picture)
    first = viewer.image.texture.size
    assert first[1] >= 1000  # full size, not the 132-pixel thumbnail
    assert viewer.previous.disabled and not viewer.next.disabled
    assert "1" in viewer.caption.text and "2" in viewer.caption.text

    h.key("275")  # →
    h.pump(until=lambda: viewer.index == 1 and viewer.showing_picture)
    second = viewer.image.texture.size
    assert second[0] > first[0]  # the 800-pixel page is wider than the 700-pixel one
    assert viewer.next.disabled and not viewer.previous.disabled
    h.press("‹ " + _("Previous"), viewer)
    assert viewer.image.texture.size == first
    h.key("escape")
    assert detail.dialog is None and h.screen.route == "dossier"  # Esc closed only the page
