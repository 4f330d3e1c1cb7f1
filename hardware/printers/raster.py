"""Vietnamese text as a 1-bit raster for receipt printers (code pages mangle it)."""

from __future__ import annotations

import unicodedata

from PIL import Image, ImageDraw, ImageFont

from core.documents.fonts import font_file
from core.ports.printer import TicketLine

PAPER_DOTS = {80: 576, 58: 384}  # printable dots at 203 dpi
PADDING = 4


def render_lines(lines: tuple[TicketLine, ...], width: int = PAPER_DOTS[80]) -> Image.Image:
    """The lines stacked top to bottom, wrapped to ``width`` dots, black on white."""
    rows: list[tuple[str, ImageFont.FreeTypeFont, str]] = []
    for line in lines:
        font = ImageFont.truetype(str(font_file("B" if line.bold else "")), line.size)
        text = unicodedata.normalize("NFC", line.text)
        rows += [(part, font, line.align) for part in _wrap(text, font, width)]
    heights = [_height(font) for _, font, _ in rows]
    image = Image.new("1", (width, max(sum(heights) + 2 * PADDING, 1)), 1)
    draw = ImageDraw.Draw(image)
    y = PADDING
    for (text, font, align), height in zip(rows, heights, strict=True):
        x = 0 if align == "left" else (width - int(draw.textlength(text, font=font))) // 2
        draw.text((max(x, 0), y), text, font=font, fill=0)
        y += height
    return image


def _height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent + 2


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    return [*lines, current] if current or not lines else lines
