"""A private CUPS scheduler with a cups-pdf queue, for printing tests on a real spooler.

cupsd runs from its own configuration directory, listening on its own Unix socket and a
free loopback port; nothing of the machine's CUPS is read or changed, except one file
that cups-pdf can only read from ``/etc/cups``: ``cups-pdf-<queue>.conf``, named after
our queue, which sends the PDFs to our output folder and is removed afterwards.

cups-pdf is a backend that CUPS runs only as root (its mode is 0700), so this needs
root, as CI has. Without it the test fails and says why: it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CUPSD = "/usr/sbin/cupsd"
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_CONFIG_DIR = Path("/etc/cups")  # compiled into cups-pdf; cannot be moved

CUPS_FILES_CONF = """\
ServerRoot {root}/etc
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/tmp
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
User lp
Group lp
SystemGroup root
FileDevice No
"""

CUPSD_CONF = """\
LogLevel info
Listen 127.0.0.1:{port}
Listen {socket}
Browsing No
WebInterface No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
"""

CUPS_PDF_CONF = """\
Out {out}
AnonDirName {out}
Log {log}
LogType 3
Label 0
"""


# cups-pdf's PPD is a PostScript printer: CUPS turns the PDF into PostScript, which
# cups-pdf's Ghostscript turns back into PDF. With the default renderer (Ghostscript's
# ps2write) the text loses its Unicode map; with pdftocairo the Latin text survives, so
# pdftotext can read the dossier code off the printed file.
RENDERER = "pdftops-renderer-default=pdftocairo"


class CupsUnavailable(RuntimeError):
    """Why the private scheduler cannot run here; the test fails with this text."""


@dataclass(frozen=True)
class PrivateCups:
    root: Path
    socket: Path
    port: int
    queue: str
    out: Path

    @property
    def env(self) -> dict[str, str]:
        """What a client (lp, lpstat) needs to talk to this scheduler and no other."""
        return {"CUPS_SERVER": str(self.socket)}

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until the queue has no pending job (cups-pdf has written its file)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.run("lpstat", "-o", self.queue).stdout.strip():
                return
            time.sleep(0.1)
        raise TimeoutError(f"jobs still pending on {self.queue}: {self.error_log()}")

    def error_log(self) -> str:
        path = self.root / "log" / "error_log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise CupsUnavailable(
            "the office printing test must run as root (CI does): CUPS runs the cups-pdf "
            "backend only as root; run `sudo .venv/bin/pytest tests/hardware`"
        )
    missing = [str(p) for p in (Path(CUPSD), CUPS_PDF_BACKEND, CUPS_PDF_PPD) if not p.exists()] + [
        tool for tool in ("lp", "lpstat", "lpadmin", "pdftotext") if not shutil.which(tool)
    ]
    if missing:
        raise CupsUnavailable(
            "missing " + ", ".join(missing) + ": install the Debian packages in "
            "scripts/apt-packages.txt (cups, cups-pdf, poppler-utils)"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def private_cups(queue: str) -> Iterator[PrivateCups]:
    """A running cupsd of our own with one cups-pdf queue named ``queue``."""
    check_prerequisites()
    # Filters run as the `lp` user: every directory on the way must be traversable.
    root = Path(tempfile.mkdtemp(prefix="motcua-cups-"))
    root.chmod(0o755)
    for sub in ("etc", "spool", "cache", "state", "tmp", "log", "out", "pdf-log"):
        (root / sub).mkdir(mode=0o755)
    (root / "tmp").chmod(0o1777)
    (root / "out").chmod(0o1777)
    cups = PrivateCups(root, root / "cups.sock", _free_port(), queue, root / "out")
    (root / "etc" / "cups-files.conf").write_text(CUPS_FILES_CONF.format(root=root))
    (root / "etc" / "cupsd.conf").write_text(CUPSD_CONF.format(port=cups.port, socket=cups.socket))
    queue_conf = CUPS_PDF_CONFIG_DIR / f"cups-pdf-{queue}.conf"
    queue_conf.write_text(CUPS_PDF_CONF.format(out=cups.out, log=root / "pdf-log"))
    daemon = subprocess.Popen(
        [
            CUPSD,
            "-f",
            "-c",
            str(root / "etc" / "cupsd.conf"),
            "-s",
            str(root / "etc" / "cups-files.conf"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_scheduler(cups, daemon)
        device = f"cups-pdf:/{queue}"  # cups-pdf reads /etc/cups/cups-pdf-<queue>.conf
        added = cups.run(
            "lpadmin", "-p", queue, "-E", "-v", device, "-P", str(CUPS_PDF_PPD), "-o", RENDERER
        )
        if added.returncode != 0:
            raise CupsUnavailable(f"lpadmin could not add {queue}: {added.stderr}")
        yield cups
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        if daemon.stderr is not None:
            daemon.stderr.close()
        queue_conf.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_scheduler(cups: PrivateCups, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            error = daemon.stderr.read().decode(errors="replace") if daemon.stderr else ""
            raise CupsUnavailable(f"cupsd exited with {daemon.returncode}: {error}")
        if cups.socket.exists() and cups.run("lpstat", "-r").returncode == 0:
            return
        time.sleep(0.05)
    raise CupsUnavailable(f"cupsd did not answer on {cups.socket} within 15 s")
