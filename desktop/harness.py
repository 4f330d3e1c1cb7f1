"""Driving the real application frame by frame: for the headless tour and the UI tests.

``Harness.start(data_dir)`` builds the app in the existing (offscreen) window without
entering Kivy's blocking main loop; ``pump`` renders frames until a condition holds,
so a script can type, press, wait for the workers and look at what the screen shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.uix.widget import Widget

from desktop.ui.widgets import McButton, texts_of

LOGIN_TIMEOUT_S = 30.0
# How long a step may take before the harness gives up: generous, since a loaded 2-core
# CI machine renders a frame in seconds at worst; a real hang still fails, and names the
# busy job, the transition and the last frames' durations.
STEP_TIMEOUT_S = 30.0


class Harness:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.frame_times: list[float] = []

    @classmethod
    def start(cls, data_dir: Path, kiosk: bool = False) -> Harness:
        from desktop.app import build_app

        for child in list(Window.children):
            Window.remove_widget(child)
        app = build_app(data_dir, kiosk=kiosk)
        app._run_prepare()
        if EventLoop.status != "started":
            EventLoop.start()
        harness = cls(app)
        harness.pump(frames=3)
        return harness

    def close(self) -> None:
        if self.app.shell is not None:
            self.shell.unbind_keys()
        self.pump(frames=2)
        Window.remove_widget(self.app.root)
        if self.app.services is not None:
            self.app.services.close()

    @property
    def shell(self) -> Any:
        return self.app.shell

    @property
    def busy(self) -> bool:
        """Workers running, or (before the store is unlocked) the passphrase checked."""
        if self.app.shell is None:
            return bool(self.app.unlock.checking)
        return bool(self.shell.ops.busy)

    @property
    def screen(self) -> Any:
        return self.shell.screens[self.shell.manager.current]

    # --- time ------------------------------------------------------------------------
    def frame(self) -> None:
        EventLoop.idle()
        self.frame_times.append(time.perf_counter())

    def pump(
        self,
        until: Callable[[], Any] | None = None,
        timeout: float = STEP_TIMEOUT_S,
        frames: int = 0,
    ) -> None:
        """Render frames until ``until()`` is true and the workers are idle."""
        deadline = time.monotonic() + timeout
        for _ in range(frames):
            self.frame()
        while until is not None or self.busy:
            self.frame()
            if not self.busy and (until is None or until()):
                self.frame()
                return
            if time.monotonic() > deadline:
                shown = self.texts()[:8]
                raise TimeoutError(f"{self._where()}: condition not met; showing {shown}")

    def settle(self, quiet_frames: int = 3, timeout: float = STEP_TIMEOUT_S) -> None:
        """Frames until the workers and the screen transition have been idle a while."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < quiet_frames:
            self.frame()
            busy = self.busy or (
                self.app.shell is not None and self.shell.manager.transition.is_active
            )
            quiet = 0 if busy else quiet + 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._where()}: still busy; showing {self.texts()[:8]}")

    def _where(self) -> str:
        if self.app.shell is None:
            return "unlock form"
        doing = "; ".join(worker.describe() for worker in self.shell.ops.workers)
        moving = "transition running" if self.shell.manager.transition.is_active else "still"
        times = self.frame_times[-6:]
        frames = ", ".join(f"{b - a:.2f}" for a, b in pairwise(times))
        return (
            f"screen {self.shell.manager.current!r}, status {self.status()!r} ({doing}; "
            f"{moving}; last frames {frames} s)"
        )

    # --- looking ---------------------------------------------------------------------
    def texts(self, widget: Widget | None = None) -> list[str]:
        if widget is None and self.app.shell is None:
            widget = self.app.root  # the unlock form
        return texts_of(widget or self.screen)

    def shows(self, *fragments: str) -> bool:
        status = texts_of(self.shell.status) if self.app.shell is not None else []
        shown = "\n".join(self.texts() + status)
        return all(fragment in shown for fragment in fragments)

    def status(self) -> str:
        return str(self.shell.status.text)

    def screenshot(self, path: Path) -> Path:
        """Save the window as PNG (rows tightly packed: 1366 × 3 bytes is not 4-aligned)."""
        from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
        from PIL import Image

        self.pump(frames=3)
        width, height = Window.size
        data = glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE)
        image = Image.frombytes("RGBA", (width, height), data).transpose(
            Image.Transpose.FLIP_TOP_BOTTOM
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        image.convert("RGB").save(path, compress_level=1)  # fast; the tour saves ~25
        return path

    # --- acting ----------------------------------------------------------------------
    def button(self, text: str, widget: Widget | None = None) -> McButton:
        """The enabled button whose label starts with ``text`` (as the user reads it)."""
        root = widget or (self.screen if self.app.shell is not None else self.app.root)
        for child in root.walk(restrict=True):
            if isinstance(child, McButton) and child.text.startswith(text) and not child.disabled:
                return child
        raise LookupError(f"no button {text!r}; showing {self.texts(root)[:60]}")

    def press(self, text: str, widget: Widget | None = None) -> None:
        self.button(text, widget).trigger_action(duration=0)
        self.settle()

    def key(self, name: str, *modifiers: str) -> None:
        self.shell.handle_key(name, list(modifiers))
        self.settle()

    def go(self, route: str, **params: Any) -> None:
        self.shell.go(route, **params)
        self.settle()

    def login(self, username: str, password: str) -> None:
        screen = self.shell.screens["login"]
        if self.shell.user is not None:
            self.shell.logout()
        screen.username.input.text = username
        screen.password.input.text = password
        screen.submit()
        # A login verifies an Argon2 hash (made to be slow) and opens the user's key; on a
        # loaded 2-core machine, with the sync agent writing beside it, that can take
        # seconds: the waits are generous, and a timeout names what each worker runs.
        self.pump(
            until=lambda: (
                self.shell.user is not None
                or screen.message.text
                not in ("", screen.message.text if self.shell.ops.busy else "\0")
            ),
            timeout=LOGIN_TIMEOUT_S,
        )
        self.settle(timeout=LOGIN_TIMEOUT_S)
