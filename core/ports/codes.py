"""Code readers: keyboard-wedge and serial scanners, images; and what they read.

A reader yields :class:`Decoded` texts. Interpreting the text (our slip QR, a citizen
ID card QR) is separate from reading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Decoded:
    text: str
    symbology: str = ""  # QRCode, Code128, … when the reader knows
    source: str = ""  # device id or file name


@dataclass(frozen=True)
class CitizenIdentity:
    """What the QR code on a chip-based citizen ID card (căn cước) says."""

    id_number: str
    old_id_number: str
    full_name: str
    date_of_birth: date | None
    sex: str
    address: str
    issued_on: date | None


@runtime_checkable
class CodeReader(Protocol):
    id: str

    def read(self, timeout: float | None = None) -> Decoded | None:
        """The next code read, or ``None`` when ``timeout`` seconds pass without one."""
        ...

    def close(self) -> None: ...
