"""Codes read at the counter: a serial reader's lines and keyboard-wedge bursts.

The composition root opens the configured reader (``open_reader``) and gives the wedge
assembler; this module only runs them. A serial reader is read on its own thread (it
blocks); each code comes back on the main thread to one ``handler`` (the shell), which
decides what it means: a slip QR opens the dossier, a citizen ID card QR fills the
applicant form. Key presses of a wedge are fed by the shell with their time.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from core.ports.codes import CodeReader, Decoded

from .worker import Post, run_now

log = logging.getLogger(__name__)
Handler = Callable[[Decoded], None]
Problem = Callable[[BaseException], None]
POLL_SECONDS = 0.2  # how long one read waits, so that stopping is prompt


class Assembler(Protocol):
    def feed(self, char: str, at: float) -> Decoded | None: ...


class CodeInput:
    """The configured reader (listened to on a thread) and the keyboard wedge."""

    def __init__(
        self,
        open_reader: Callable[[str], CodeReader | None],
        wedge: Assembler | None = None,
        post: Post = run_now,
    ) -> None:
        self.open_reader = open_reader
        self.wedge = wedge
        self.post = post
        self.handler: Handler | None = None
        self.on_problem: Problem | None = None
        self.reader: CodeReader | None = None
        self.device = ""
        self.failed: BaseException | None = None  # why the configured reader did not open
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the serial (or other blocking) reader ---------------------------------------
    def use(self, device: str) -> None:
        """Listen to ``device`` ("" for none); raises the port's error when it cannot open."""
        self.stop()
        self.device = device
        self.failed = None
        reader = self.open_reader(device) if device else None
        if reader is None:
            return
        self.reader = reader
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._listen, args=(reader, self._stop), name="motcua-code-reader", daemon=True
        )
        self._thread.start()

    def _listen(self, reader: CodeReader, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                decoded = reader.read(timeout=POLL_SECONDS)
            except Exception as err:  # the port went away: say so once, stop listening
                if not stop.is_set():
                    self.post(functools.partial(self._problem, err))
                return
            if decoded is not None and decoded.text:
                self.post(functools.partial(self.deliver, decoded))

    def _problem(self, err: BaseException) -> None:
        if self.on_problem is not None:
            self.on_problem(err)
        else:
            log.error("code reader failed", exc_info=err)

    @property
    def listening(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * POLL_SECONDS + 1)
            self._thread = None
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception:  # closing a port that is gone
                log.debug("closing the code reader failed", exc_info=True)
            self.reader = None

    # --- the keyboard wedge (fed by the shell on the main thread) ---------------------
    def key(self, char: str, at: float) -> Decoded | None:
        """One typed character (or "\\r" for Enter); a complete burst is returned."""
        if self.wedge is None:
            return None
        return self.wedge.feed(char, at)

    # --- delivery --------------------------------------------------------------------
    def deliver(self, decoded: Decoded) -> None:
        if self.handler is not None:
            self.handler(decoded)
