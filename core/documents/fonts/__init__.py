"""The Unicode font vendored with the application (DejaVu Serif Condensed).

Vendored rather than taken from the system so that forms and receipt rasters look the
same on every counter, Linux or Windows. Licence: LICENSE-DejaVu.txt (free, Bitstream
Vera derived).
"""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent
FAMILY = "DejaVuSerifCondensed"

FILES = {
    "": FONT_DIR / f"{FAMILY}.ttf",
    "B": FONT_DIR / f"{FAMILY}-Bold.ttf",
    "I": FONT_DIR / f"{FAMILY}-Italic.ttf",
    "BI": FONT_DIR / f"{FAMILY}-BoldItalic.ttf",
}


def font_file(style: str = "") -> Path:
    """The TTF for a style: "" regular, "B" bold, "I" italic, "BI" bold italic."""
    return FILES[style]
