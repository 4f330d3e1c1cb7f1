"""Runtime hook of the frozen Một Cửa: runs before the entry script, in every bundle.

- The application never writes next to itself: no bytecode caches beside the bundled
  sources Alembic loads (the migrations), and Kivy keeps its ``config.ini`` and icons in
  the user's data folder (``KIVY_HOME``) rather than in ``~/.kivy``.
- A windowed program (the desktop on Windows and macOS) has no console: its output goes
  to nothing rather than failing on a missing ``sys.stdout``.
- Programs the application starts (``lp``, ``tesseract``, ``gs``, ``scanimage``) load the
  system's libraries: the bootloader points ``LD_LIBRARY_PATH`` at the bundle for this
  process only (the loader has read it already), so the caller's value is put back.
"""

import os
import sys


def _motcua_rthook() -> None:
    sys.dont_write_bytecode = True
    if sys.stdout is None or sys.stderr is None:
        nowhere = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (kept while the app runs)
        sys.stdout = sys.stdout or nowhere
        sys.stderr = sys.stderr or nowhere
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
        if original is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = original
    kivy_bundled = os.path.isdir(os.path.join(getattr(sys, "_MEIPASS", ""), "kivy_install"))
    if kivy_bundled and "KIVY_HOME" not in os.environ:
        import platformdirs

        home = os.path.join(platformdirs.user_data_dir("motcua", "MotCua"), "kivy")
        try:
            os.makedirs(home, exist_ok=True)
        except OSError:
            return  # Kivy says why when it needs the folder; the command line does not
        os.environ["KIVY_HOME"] = home


_motcua_rthook()
del _motcua_rthook
