"""The `motcua` command: branch IT, scripting and acceptance checks drive the core here."""

from pathlib import Path

from core.i18n import register_locale_dir

register_locale_dir(Path(__file__).with_name("locale"))
