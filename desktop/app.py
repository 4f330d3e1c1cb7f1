"""`motcua-desktop`: the counter application.

motcua-desktop [--data-dir DIR] [--kiosk] [--lang vi|en] [--tour OUT_DIR]

Kivy reads its environment when first imported, so ``main`` parses the arguments and
prepares the environment (headless for the tour) before importing anything of Kivy.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from core import __version__

    parser = argparse.ArgumentParser(prog="motcua-desktop", description="Một Cửa counter desktop")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data-dir", type=Path, default=None, help="store location")
    parser.add_argument("--kiosk", action="store_true", help="citizen lookup kiosk, full screen")
    parser.add_argument("--lang", choices=["vi", "en"], default=None, help="interface language")
    parser.add_argument(
        "--tour",
        type=Path,
        default=None,
        metavar="OUT_DIR",
        help="headless: drive the main flows, save a PNG of each screen, exit",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="open the window, draw the first screen once, exit 0 (display, GL and fonts work)",
    )
    return parser.parse_args(argv)


def prepare_environment(headless: bool, size: tuple[int, int] = (1366, 768)) -> None:
    """Set Kivy's environment and configuration; call before importing kivy."""
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # leave stdout/stderr alone
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("KIVY_WINDOW", "sdl2")
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "log_level", "warning")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "minimum_width", "1024")
    Config.set("graphics", "minimum_height", "700")


def default_data_dir() -> Path:
    from desktop.cli.framework import default_data_dir as cli_default

    return Path(cli_default())


def build_app(data_dir: Path, kiosk: bool = False) -> Any:
    """The Kivy App over the store in ``data_dir`` (environment already prepared). A store
    whose key only the branch passphrase opens starts on the unlock form."""
    from kivy.app import App
    from kivy.clock import Clock

    from core.i18n import set_language
    from desktop import theme
    from desktop.composition import compose
    from desktop.settings import DesktopSettings
    from desktop.unlock import PassphraseNeeded, UnlockView, ask_in_window

    theme.register_fonts()

    def post(callback: Any) -> None:
        Clock.schedule_once(lambda _dt: callback(), 0)

    set_language(os.environ.get("MOTCUA_LANG") or DesktopSettings.load(data_dir).language)
    try:
        services = compose(data_dir, post, prompt=ask_in_window)
    except PassphraseNeeded:
        services = None

    class MotcuaApp(App):
        title = "Một Cửa"
        services: Any = None
        shell: Any = None
        root: Any = None

        def build(self) -> Any:
            from kivy.core.window import Window

            Window.clearcolor = theme.BACKGROUND
            if kiosk:
                Window.fullscreen = "auto"
            if services is not None:
                return self.start(services)
            self.unlock = UnlockView(
                data_dir,
                lambda secret: compose(data_dir, post, passphrase=secret),
                self.unlocked,
                post,
            )
            return self.unlock

        def start(self, opened: Any) -> Any:
            from core.update.launcher import mark_started
            from desktop.shell import Shell
            from desktop.updates import watch as watch_updates

            self.services = opened
            opened.updates = watch_updates(opened, post)  # after each sync: check, stage
            set_language(os.environ.get("MOTCUA_LANG") or opened.settings.language)
            self.shell = Shell(opened, kiosk=kiosk)
            # The first screen is up: this version works (the launcher keeps it).
            Clock.schedule_once(lambda _dt: mark_started(), 0.5)
            return self.shell

        def unlocked(self, opened: Any) -> None:
            """The passphrase opened the store: the counter replaces the form."""
            window = self.root_window
            window.remove_widget(self.unlock)
            shell = self.start(opened)
            self.root = shell
            window.add_widget(shell)

        def on_stop(self) -> None:
            if self.services is not None:
                self.services.close()

    return MotcuaApp()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.lang:
        os.environ["MOTCUA_LANG"] = args.lang
    prepare_environment(headless=args.tour is not None)
    data_dir = args.data_dir or default_data_dir()
    if args.tour is not None:
        from desktop.tour import run_tour

        return run_tour(data_dir, args.tour, args.lang or "vi")
    from core import logfile
    from core.cli.failures import explain
    from core.i18n import describe, set_language

    set_language(args.lang)
    logfile.attach(data_dir, desk_only=False)  # the rotating log support and `doctor` read
    try:
        app = build_app(data_dir, kiosk=args.kiosk)
    except Exception as exc:  # a damaged store or key, a full disk: one line, not a trace
        refusal = explain(exc)
        if refusal is None:
            raise
        print(describe(refusal), file=sys.stderr)
        return refusal.exit_code
    if args.check:
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: app.stop(), 0)  # the first frame is drawn, then stop
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
