"""Encryption at rest, each figure beside the same work on a plain store in the same run:

- receiving 3,000 dossiers through the service on an encrypted desk (SQLCipher) vs a
  plain one (rounds alternate, best of each counts: the machine is shared);
- catch-up of 30,000 events pulled and applied by a fresh encrypted desk vs a fresh plain
  desk, from the same server;
- keeping and reading back a 64 MiB scan sealed (AES-256-GCM records) vs plain.

The aim (issue 14): receiving and catching up encrypted at least 0.85x the plain figure.
The scan's figure is for reference: its plain baseline is a copy served from the page
cache.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.domain.timeutil import parse_moment
from core.services import documents, storekey
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.sync import agent_for, enroll
from core.sync.agent import SyncSummary
from core.sync.client import Credentials, SyncClient
from sync_server import identity

from .bench_core import person
from .bench_sync import synthetic_chain
from .harness import Report, stopwatch

PASSPHRASE = "bench branch passphrase"
AIM = ">= 0.85x"


def _desk(folder: Path, encrypt: bool, unit: str = "TAYHO") -> Branch:
    os.environ[storekey.KEYSTORE_ENV] = "off"  # the passphrase path: no keystore here
    branch = Branch.init(
        folder,
        unit,
        "Chi nhánh",
        ("admin", "admin-pass-1"),
        encrypt=encrypt,
        passphrase=PASSPHRASE if encrypt else None,
    )
    branch.codespace = type(branch.codespace)(unit, tuple(range(20)), 500)
    return branch


def _receive_rate(folder: Path, encrypt: bool, count: int) -> float:
    from core.domain.workflow import Role
    from core.services.users import User

    rng = random.Random(7)
    branch = _desk(folder, encrypt)
    officer = User("lan", "lan", Role.OFFICER)
    components = [c.key for c in branch.procedures()["HT-XNHN"].components if c.mandatory]
    people = [person(rng, n) for n in range(count)]
    day = parse_moment("2026-11-23T09:00")
    with stopwatch() as elapsed:
        for applicant in people:
            intake = Intake("HT-XNHN", applicant, components, received_at=day)
            branch.dossiers.receive(officer, intake)
    branch.close()
    shutil.rmtree(folder)
    return count / elapsed()


def _best(rounds: int, measure: Callable[[bool, int], float]) -> tuple[float, float]:
    """Best (encrypted, plain) over `rounds` alternating rounds."""
    on: list[float] = []
    off: list[float] = []
    for n in range(rounds):
        off.append(measure(False, n))
        on.append(measure(True, n))
    return max(on), max(off)


def bench_receive(report: Report, tmp: Path, count: int = 3000, rounds: int = 3) -> None:
    on, off = _best(rounds, lambda enc, n: _receive_rate(tmp / f"recv-{enc}-{n}", enc, count))
    report.figure(
        f"receive {count:,} dossiers on an encrypted desk (SQLCipher; best of {rounds})",
        on,
        "dossiers/s",
        "the same on a plain desk",
        off,
        aim=AIM,
    )


def bench_catch_up(report: Report, tmp: Path, count: int = 30_000, rounds: int = 2) -> None:
    from tests.sync.live import live_server

    with live_server("sqlite", tmp / "server") as srv:
        identity.add_branch(srv.engine, "BUSY", "Chi nhánh bận")
        author = _desk(tmp / "author", False, "BUSY")
        enroll(author, srv.url, str(identity.new_enrol_code(srv.engine, "BUSY", 600)["code"]))
        agent_for(author).push()
        client = SyncClient(srv.url, Credentials(author.device_id, author.key))
        events = synthetic_chain(author, count)
        for start in range(0, len(events), 2000):
            client.push(events[start : start + 2000])
        author.close()

        def catch_up(encrypt: bool, n: int) -> float:
            fresh = _desk(tmp / f"fresh-{encrypt}-{n}", encrypt, "BUSY")
            code = str(identity.new_enrol_code(srv.engine, "BUSY", 600)["code"])
            enroll(fresh, srv.url, code)
            with stopwatch() as took:
                summary = agent_for(fresh).pull(lambda _p: None, SyncSummary())
            assert summary.applied >= count, summary
            fresh.close()
            return count / took()

        on, off = _best(rounds, catch_up)
    report.figure(
        f"catch-up of {count:,} events on a fresh encrypted desk (pull + apply; best of {rounds})",
        on,
        "events/s",
        "the same on a fresh plain desk",
        off,
        aim=AIM,
    )


def bench_scan(report: Report, tmp: Path, size: int = 64 << 20, rounds: int = 3) -> None:
    pdf = b"%PDF-1.7\n" + os.urandom(size)

    def keep_and_read(encrypt: bool, n: int) -> float:
        folder = tmp / f"scan-{encrypt}-{n}"
        branch = _desk(folder, encrypt)
        file = documents.ScanFile.of(f"doc{n}", pdf, 1)
        with stopwatch() as took:
            documents.keep(branch, file)
            assert len(documents.read(branch, file.sha256)) == len(pdf)
        branch.close()
        shutil.rmtree(folder)
        return 2 * len(pdf) / (1 << 20) / took()

    on, off = _best(rounds, keep_and_read)
    report.figure(
        f"keep and read back a {size >> 20} MiB scan, sealed (AES-256-GCM records; best of "
        f"{rounds})",
        on,
        "MB/s",
        "the same scan kept plain",
        off,
        aim="for reference: a scan is a few MB, kept in milliseconds either way",
    )


def run(report: Report) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-enc-"))
    try:
        bench_receive(report, tmp)
        bench_catch_up(report, tmp)
        bench_scan(report, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
