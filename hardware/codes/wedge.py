"""Keyboard-wedge code readers: tell a reader's burst of keystrokes from a clerk typing.

The desktop feeds every key press with its time. A reader types a whole code within a
few milliseconds per key and ends with Enter; a human is ten times slower. A burst of at
least ``min_length`` characters, each within ``max_gap`` seconds of the last, ended by
Enter, is a code; anything slower is left to the focused text field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.ports.codes import Decoded

ENTER = ("\r", "\n")


@dataclass
class WedgeAssembler:
    max_gap: float = 0.035
    min_length: int = 4
    source: str = "keyboard-wedge"
    _chars: list[str] = field(default_factory=list)
    _last: float = -1.0

    def feed(self, char: str, at: float) -> Decoded | None:
        """One key press (a character, or "\\r"/"\\n" for Enter) at ``at`` seconds."""
        if self._chars and at - self._last > self.max_gap:
            self._chars.clear()
        self._last = at
        if char in ENTER:
            text, self._chars = "".join(self._chars), []
            return Decoded(text, source=self.source) if len(text) >= self.min_length else None
        self._chars.append(char)
        return None

    @property
    def pending(self) -> str:
        """Characters of a burst in progress (the desktop holds them back from the field)."""
        return "".join(self._chars)
