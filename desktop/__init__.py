"""Một Cửa desktop: the Kivy application and the `motcua` command (the composition roots).

Kivy is imported only by the application modules (``desktop.app`` and below), never by
this package's ``__init__``, so the `motcua` command starts without a window system.
"""

from pathlib import Path

from core.i18n import register_locale_dir

LOCALE_DIR = Path(__file__).with_name("locale")
register_locale_dir(LOCALE_DIR)
