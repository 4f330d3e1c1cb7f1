"""Office printers through the operating system: CUPS ``lp`` on Linux, the Windows shell.

The national forms are PDFs; CUPS prints PDF natively. On Windows the PDF goes to the
registered PDF handler's "printto" verb.

The CUPS clients talk to the scheduler named by ``CUPS_SERVER`` (a socket path or
host:port) when it is set, else the local one; ``server`` sets it for this object only.
A printer name the scheduler does not know is refused before anything is queued, with
the names it does know.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.ports.errors import DeviceNotFound, PrinterNotFound, PrinterProblem
from core.ports.printer import PrinterInfo

CUPS_PREFIX = "cups:"
WINDOWS_PREFIX = "windows:"
_JOB = re.compile(r"request id is (\S+)")


class CupsPrinters:
    backend = "cups"

    def __init__(self, server: str | None = None) -> None:
        self._server = server

    def usable(self) -> bool:
        return shutil.which("lp") is not None and shutil.which("lpstat") is not None

    def printers(self) -> list[PrinterInfo]:
        return self._printers("lpstat")

    def _printers(self, device: str) -> list[PrinterInfo]:
        names = self._run(["lpstat", "-e"], device).split()
        default = self._run(["lpstat", "-d"], device, check=False).rpartition(":")[2].strip()
        return [PrinterInfo(CUPS_PREFIX + n, n, self.backend, default=n == default) for n in names]

    def print_pdf(self, printer_id: str, pdf: bytes, *, copies: int = 1, title: str = "") -> str:
        command = ["lp", "-n", str(copies), "-t", title or "Một Cửa"]
        name = printer_id.removeprefix(CUPS_PREFIX)
        device = printer_id or "cups"
        if name:
            known = [p.name for p in self._printers(device)]
            if known and name not in known:  # none known: lp itself says why (no scheduler, …)
                raise PrinterNotFound(printer_id, ", ".join(known))
            command += ["-d", name]
        output = self._run([*command, "-"], device, data=pdf)
        match = _JOB.search(output)
        return match.group(1) if match else ""

    def _run(
        self, command: list[str], device: str, data: bytes | None = None, check: bool = True
    ) -> str:
        env = None if self._server is None else {**os.environ, "CUPS_SERVER": self._server}
        return _run(command, device, data, check, env)


class WindowsPrinters:
    backend = "windows"

    def usable(self) -> bool:
        return sys.platform == "win32" and importlib.util.find_spec("win32print") is not None

    def printers(self) -> list[PrinterInfo]:
        import win32print  # type: ignore[import-not-found,import-untyped,unused-ignore]

        default = win32print.GetDefaultPrinter()
        flags = win32print.PRINTER_ENUM_LOCAL | win32print.PRINTER_ENUM_CONNECTIONS
        return [
            PrinterInfo(WINDOWS_PREFIX + p[2], p[2], self.backend, default=p[2] == default)
            for p in win32print.EnumPrinters(flags)
        ]

    def print_pdf(self, printer_id: str, pdf: bytes, *, copies: int = 1, title: str = "") -> str:
        import win32api  # type: ignore[import-not-found,import-untyped,unused-ignore]

        name = printer_id.removeprefix(WINDOWS_PREFIX)
        with tempfile.NamedTemporaryFile(suffix=".pdf", delete=False) as handle:
            handle.write(pdf)
        for _ in range(copies):
            win32api.ShellExecute(0, "printto", handle.name, f'"{name}"', ".", 0)
        return Path(handle.name).name


def _run(
    command: list[str],
    device: str,
    data: bytes | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> str:
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=30, check=False, env=env
        )
    except FileNotFoundError as err:
        raise DeviceNotFound(device) from err
    except subprocess.TimeoutExpired as err:
        raise PrinterProblem(device, "the print system did not answer in 30 s") from err
    if check and done.returncode != 0:
        lines = done.stderr.decode(errors="replace").split()
        detail = " ".join(lines) or f"exit {done.returncode}"  # one line for the clerk
        raise PrinterProblem(device, detail)
    return done.stdout.decode(errors="replace")
