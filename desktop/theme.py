"""The in-house theme: colours, fonts, sizes and spacing, in one place.

Every widget asks this module for its looks; nothing else names a colour or a size.
The font is Noto Sans (vendored under ``desktop/fonts``, full Vietnamese coverage) and is
registered as Kivy's default, so every label renders Vietnamese diacritics correctly.
"""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).with_name("fonts")
FONT_REGULAR = FONT_DIR / "NotoSans-Regular.ttf"
FONT_BOLD = FONT_DIR / "NotoSans-Bold.ttf"
FONT_NAME = "MotcuaSans"

RGBA = tuple[float, float, float, float]


def _hex(code: str, alpha: float = 1.0) -> RGBA:
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


# Colours: a calm administrative palette with one accent and clear state colours.
BACKGROUND = _hex("#F3F5F8")
SURFACE = _hex("#FFFFFF")
SURFACE_ALT = _hex("#E9EEF5")
NAV = _hex("#17324D")
NAV_ACTIVE = _hex("#24507A")
PRIMARY = _hex("#1F5FA8")
PRIMARY_DARK = _hex("#174A84")
ON_PRIMARY = _hex("#FFFFFF")
TEXT = _hex("#1B2430")
TEXT_MUTED = _hex("#5B6676")
BORDER = _hex("#C9D2DE")
FOCUS = _hex("#F2A900")
SUCCESS = _hex("#1E7B45")
WARNING = _hex("#B26A00")
DANGER = _hex("#B3261E")
INFO = _hex("#2B6CB0")
SECONDARY = _hex("#E3E8EF")
ON_SECONDARY = TEXT
CHART = (_hex("#1F5FA8"), _hex("#1E7B45"), _hex("#B26A00"), _hex("#B3261E"), _hex("#6B46C1"))

# Type sizes (pixels; the window is at least 1366×768).
FONT_SMALL = 14
FONT_BODY = 16
FONT_LARGE = 19
FONT_TITLE = 24
FONT_HERO = 34
FONT_KIOSK = 26

# Spacing and sizes.
GAP = 8
PAD = 16
RADIUS = 6
ROW = 40  # a button, a text input, a table row
NAV_WIDTH = 230
TOP_BAR = 52
STATUS_BAR = 34
MIN_SIZE = (1366, 768)

_registered = False


def register_fonts() -> None:
    """Make Noto Sans Kivy's default font (call once, after importing kivy)."""
    global _registered
    if _registered:
        return
    from kivy.core.text import LabelBase

    LabelBase.register(
        FONT_NAME,
        fn_regular=str(FONT_REGULAR),
        fn_bold=str(FONT_BOLD),
        fn_italic=str(FONT_REGULAR),
        fn_bolditalic=str(FONT_BOLD),
    )
    LabelBase.register(
        "Roboto",
        fn_regular=str(FONT_REGULAR),
        fn_bold=str(FONT_BOLD),
        fn_italic=str(FONT_REGULAR),
        fn_bolditalic=str(FONT_BOLD),
    )
    _registered = True
