"""Serial code readers (USB-CDC or RS-232) with pyserial: one code per line, UTF-8 intact.

Serial mode is what keeps Vietnamese letters of a citizen ID QR intact (keyboard wedges
mangle them). Device id: ``serial:<port>`` (``serial:/dev/ttyACM0``, ``serial:COM3``).
"""

from __future__ import annotations

from typing import Any

import serial
import serial.tools.list_ports

from core.ports.codes import Decoded
from core.ports.errors import DeviceGone, DeviceNotFound, DevicePermissionDenied

PREFIX = "serial:"


def serial_ports() -> list[str]:
    return [PREFIX + port.device for port in serial.tools.list_ports.comports()]


class SerialCodeReader:
    def __init__(self, port: str, baudrate: int = 9600, connection: Any | None = None) -> None:
        """``connection``: an already open pyserial object (e.g. ``serial_for_url``)."""
        self.id = port if port.startswith(PREFIX) else PREFIX + port
        self._buffer = bytearray()
        self._serial = connection if connection is not None else self._open(baudrate)

    def _open(self, baudrate: int) -> Any:
        try:
            return serial.Serial(self.id.removeprefix(PREFIX), baudrate, timeout=0.1)
        except serial.SerialException as err:
            if "Permission denied" in str(err):
                raise DevicePermissionDenied(self.id) from err
            raise DeviceNotFound(self.id) from err

    def read(self, timeout: float | None = None) -> Decoded | None:
        self._serial.timeout = timeout
        while (line := self._take_line()) is None:
            try:
                chunk = self._serial.read_until(b"\r")
            except serial.SerialException as err:
                raise DeviceGone(self.id, str(err)) from err
            if not chunk:
                return None
            self._buffer += chunk
        return Decoded(line, source=self.id)

    def _take_line(self) -> str | None:
        """The first complete non-empty line in the buffer (CR, LF or CRLF ended)."""
        while True:
            del self._buffer[: len(self._buffer) - len(self._buffer.lstrip(b"\r\n"))]
            ends = [i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0]
            if not ends:
                return None
            end = min(ends)
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            text = line.decode("utf-8", errors="replace").strip()
            if text:
                return text

    def close(self) -> None:
        self._serial.close()
