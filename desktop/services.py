"""What the composition root assembles for the screens: the branch, the settings, the
workers, the devices, the sync source, the code input (``desktop.composition`` builds it).

Screens and operations import this module, never the composition root: no driver is
reachable from a screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.ports.codes import CitizenIdentity
from core.services import printouts
from core.services.branch import Branch

from .codes import CodeInput
from .devices import Devices
from .documents import OcrJobs
from .live import ReceivedFeed
from .settings import DesktopSettings
from .sync_status import SyncSource
from .worker import Worker

if TYPE_CHECKING:  # the LAN stack is loaded only when the desk serves its peers
    from core.services.peers import PeerService

    from .updates import UpdateWatcher


@dataclass
class Services:
    data_dir: Path
    branch: Branch
    settings: DesktopSettings
    writer: Worker
    reader: Worker
    device_worker: Worker
    devices: Devices
    sync: SyncSource
    codes: CodeInput
    citizen_card: Callable[[str], CitizenIdentity]
    documents_worker: Worker  # the intake's document steps (PDF/A, signature), off the writer
    ocr: OcrJobs  # background OCR of recorded scans
    peers: PeerService | None = None  # the LAN peer service while it serves
    received: ReceivedFeed = field(default_factory=ReceivedFeed)  # other desks' changes
    updates: UpdateWatcher | None = None  # the update check (None before enrolment)
    secrets: dict[str, str] = field(default_factory=dict)  # desk_secrets, read once

    def save_settings(self) -> None:
        self.settings.save(self.data_dir)

    def close(self) -> None:
        if self.peers is not None:
            self.peers.stop()
        self.sync.stop()
        self.codes.stop()
        self.ocr.close()
        for worker in (self.writer, self.reader, self.device_worker, self.documents_worker):
            worker.stop()
        self.branch.close()
        printouts.clear_session(self.data_dir)  # an encrypted desk keeps no form in the clear
