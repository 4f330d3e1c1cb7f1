"""The building blocks every national form shares, drawn with fpdf2.

National motto header, centred titles, "label: value" lines, tables with borders,
signature blocks, the QR. Text is NFC-normalised and drawn with the vendored Unicode
font, embedded (subset) in the PDF.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import datetime

import segno
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import FontFace

from ..fonts import FAMILY, FILES
from .formatting import date_line
from .model import Unit

MOTTO_STATE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
PAGE_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}  # mm, portrait


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class FormPdf(FPDF):
    """An A4 or A5 page with the form helpers; sizes scale with ``base`` (points)."""

    def __init__(
        self,
        page: str = "A4",
        base: float = 12.0,
        margin: float = 18.0,
        leading: float = 1.45,
        landscape: bool = False,
    ) -> None:
        orientation = "landscape" if landscape else "portrait"
        super().__init__(orientation=orientation, unit="mm", format=PAGE_SIZES[page])
        self.leading = leading
        for style, path in FILES.items():
            self.add_font(FAMILY, style, str(path))
        self.base = base
        self.set_margins(margin + 5 if page == "A4" else margin, margin * 0.8, margin)
        self.set_auto_page_break(True, margin=margin * 0.8)
        self.set_creator("Một Cửa")
        self.add_page()
        self.font("")

    # -- text -----------------------------------------------------------------------

    def font(self, style: str = "", scale: float = 1.0) -> None:
        self.set_font(FAMILY, style, self.base * scale)

    @property
    def line_h(self) -> float:
        return self.font_size * self.leading

    @property
    def content_w(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def text_block(
        self, text: str, style: str = "", scale: float = 1.0, align: str = "J", w: float = 0
    ) -> None:
        self.font(style, scale)
        self.multi_cell(
            w or self.content_w,
            self.line_h,
            nfc(text),
            align=Align.coerce(align),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def field(self, label: str, value: str, w: float = 0) -> None:
        """ "Label: value", the value in bold, wrapped within ``w`` (default: full width)."""
        saved = self.r_margin
        if w:
            self.set_right_margin(self.w - self.l_margin - w)
        self.set_x(self.l_margin)
        self.font("")
        self.write(self.line_h, nfc(f"{label}: "))
        self.font("B")
        self.write(self.line_h, nfc(value) if value else "……………………")
        self.ln(self.line_h)
        self.set_right_margin(saved)

    def centered(self, text: str, style: str = "B", scale: float = 1.0) -> None:
        self.text_block(text, style, scale, align="C")

    def gap(self, lines: float = 0.5) -> None:
        self.ln(self.line_h * lines)

    # -- blocks ---------------------------------------------------------------------

    def national_header(self, unit: Unit, number: str, when: datetime | None) -> None:
        """Issuing unit and number at the left; motto and date line at the right."""
        top = self.get_y()
        left_w = self.content_w * 0.42
        right_x = self.l_margin + left_w
        right_w = self.content_w - left_w
        self.set_xy(self.l_margin, top)
        if unit.parent:
            self._column(unit.parent.upper(), left_w, "", 0.9)
        self._column(unit.name.upper(), left_w, "B", 0.9)
        self._rule_under(self.l_margin, left_w, 0.25)
        left_bottom = self.get_y() + 1.5
        self.set_xy(right_x, top)
        self._column(MOTTO_STATE, right_w, "B", 0.9, x=right_x)
        self._column(MOTTO, right_w, "B", 1.0, x=right_x)
        self._rule_under(right_x, right_w, 0.55)
        right_bottom = self.get_y() + 1.5
        self.set_y(max(left_bottom, right_bottom))
        if number:
            self.set_x(self.l_margin)
            self.font("", 0.95 if len(number) < 24 else 0.8)
            self.cell(left_w, self.line_h, nfc(f"Số: {number}"), align="C")
        if when is not None:
            self.set_x(right_x)
            self.font("I", 0.95)
            self.cell(right_w, self.line_h, nfc(date_line(unit.place, when)), align="C")
        self.ln(self.line_h * 1.6)

    def _column(self, text: str, w: float, style: str, scale: float, x: float = 0) -> None:
        self.font(style, scale)
        self.set_x(x or self.l_margin)
        self.multi_cell(w, self.line_h * 0.9, nfc(text), align="C", new_x=XPos.LEFT)

    def _rule_under(self, x: float, w: float, share: float) -> None:
        y = self.get_y() + 0.6
        self.set_line_width(0.25)
        self.line(x + w * (1 - share) / 2, y, x + w * (1 + share) / 2, y)
        self.set_y(y)

    def form_title(self, text: str, subtitle: str = "") -> None:
        self.centered(text, "B", 1.15)
        if subtitle:
            self.centered(subtitle, "I", 0.95)
        self.gap(0.5)

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        align: Sequence[str],
        scale: float = 0.9,
    ) -> None:
        """A bordered table; headings bold and centred; cells wrap."""
        self.font("", scale)
        with self.table(
            col_widths=tuple(widths),
            width=self.content_w,
            text_align=tuple(Align.coerce(a) for a in align),
            line_height=self.line_h * 0.95,
            headings_style=FontFace(emphasis="BOLD"),
            padding=(0.8, 1.0),
        ) as table:
            head = table.row()
            for heading in headings:
                head.cell(nfc(heading), align=Align.C)
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(nfc(value))
        self.gap(0.4)

    def signatures(self, blocks: Sequence[tuple[str, str, str]], space: float = 4.0) -> None:
        """Side by side: (title, hint, name) — "NGƯỜI TIẾP NHẬN", "(Ký…)", the name."""
        if self.will_page_break(self.line_h * (space + 3)):
            self.add_page()
        top = self.get_y()
        width = self.content_w / len(blocks)
        for index, (title, hint, name) in enumerate(blocks):
            x = self.l_margin + index * width
            self.set_xy(x, top)
            self._column(title, width, "B", 1.0, x=x)
            self._column(hint, width, "I", 0.9, x=x)
            self.set_xy(x, self.get_y() + self.line_h * space)
            self._column(name, width, "B", 1.0, x=x)
        self.ln(self.line_h)

    def qr(self, payload: str, x: float, y: float, size: float) -> None:
        """The QR code (error correction M, quiet zone of 2 modules) as a 1-bit image."""
        code = segno.make_qr(payload, error="m")
        png = io.BytesIO()
        code.save(png, kind="png", scale=4, border=2)
        png.seek(0)
        self.image(png, x=x, y=y, w=size, h=size)
