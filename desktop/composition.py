"""The composition root: wires the core services, the hardware and the sync agent.

Only this module picks hardware implementations and the sync agent; screens receive the
assembled :class:`Services` and talk to core services and ports. Three workers keep the
UI thread free: one writer for the store (all writes, in order), one reader, one for
devices (drivers are not thread-safe).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.services.branch import Branch

from .devices import Devices
from .settings import DesktopSettings
from .sync_status import AgentSource, NotConfigured, SyncSource
from .worker import Post, Worker, run_now

log = logging.getLogger(__name__)

# (module, class, settings → constructor arguments) of each backend the hardware package
# may provide; a backend whose module is absent is simply not offered.
Factory = tuple[str, str, Callable[[DesktopSettings], dict[str, Any]]]
SCANNER_BACKENDS: tuple[Factory, ...] = (
    ("hardware.scanners.sane_scanner", "SaneScanner", lambda s: {}),
    (
        "hardware.scanners.escl",
        "EsclScanner",
        lambda s: {
            "discover": False,
            "addresses": [a for a in s.extra.get("escl_addresses", "").split(",") if a],
        },
    ),
    (
        "hardware.scanners.folder",
        "FolderScanner",
        lambda s: {"folders": [Path(f) for f in s.extra.get("scan_folders", "").split(",") if f]},
    ),
)
PRINTER_BACKENDS: tuple[Factory, ...] = (
    ("hardware.printers.cups", "CupsPrinter", lambda s: {}),
    ("hardware.printers.system", "SystemPrinter", lambda s: {}),
)


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

    def save_settings(self) -> None:
        self.settings.save(self.data_dir)

    def close(self) -> None:
        self.sync.stop()
        for worker in (self.writer, self.reader, self.device_worker):
            worker.stop()
        self.branch.close()


def _load(candidates: tuple[Factory, ...], settings: DesktopSettings) -> list[Any]:
    found = []
    for module_name, class_name, arguments in candidates:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        try:
            found.append(cls(**arguments(settings)))
        except Exception:  # a backend that fails to construct is reported, not fatal
            log.exception("device backend %s failed to start", module_name)
    return found


def _sync_source(branch: Branch, data_dir: Path) -> SyncSource:
    """The sync agent when this desktop is enrolled with a central server."""
    from core.domain.errors import MotcuaError

    try:
        from core.services.sync import agent_for
    except ImportError:
        return NotConfigured()
    try:
        return AgentSource(agent_for(branch))
    except MotcuaError:  # not enrolled yet: the branch works alone
        log.info("sync not configured for %s", data_dir)
        return NotConfigured()


def compose(
    data_dir: Path, post: Post = run_now, with_devices: bool = True, start_sync: bool = True
) -> Services:
    branch = Branch.open(data_dir)
    settings = DesktopSettings.load(data_dir)
    devices = Devices(settings=settings)
    if with_devices:
        devices.scanners = _load(SCANNER_BACKENDS, settings)
        devices.document_printers = _load(PRINTER_BACKENDS, settings)
    services = Services(
        data_dir=data_dir,
        branch=branch,
        settings=settings,
        writer=Worker("motcua-store-writer", post),
        reader=Worker("motcua-store-reader", post),
        device_worker=Worker("motcua-devices", post),
        devices=devices,
        sync=_sync_source(branch, data_dir),
    )
    if start_sync:
        services.sync.start()  # the agent's own thread; a no-op before enrolment
    return services
