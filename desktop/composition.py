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

from core.domain.errors import N_, ValidationError
from core.ports.codes import CitizenIdentity, CodeReader
from core.services.branch import Branch

from .codes import CodeInput
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


SERIAL_READER = "hardware.codes.serial_reader"
WEDGE = "hardware.codes.wedge"


def open_code_reader(device: str) -> CodeReader | None:
    """The code reader named ``serial:<port>``; a pyserial URL (``serial:loop://``,
    ``serial:socket://host:port``, ``serial:rfc2217://…``) is opened as such."""
    if not device.startswith("serial:"):
        return None
    module = importlib.import_module(SERIAL_READER)
    port = device.removeprefix("serial:")
    if "://" in port:
        serial = importlib.import_module("serial")  # pyserial: named here only, like drivers
        try:
            connection = serial.serial_for_url(port, timeout=0.1)
        except (serial.SerialException, ValueError) as err:
            from core.ports.errors import DeviceNotFound

            raise DeviceNotFound(device) from err
        opened: CodeReader = module.SerialCodeReader(device, connection=connection)
    else:
        opened = module.SerialCodeReader(port)
    return opened


def code_reader_ports() -> list[str]:
    """The serial ports this computer has now (device thread)."""
    try:
        module = importlib.import_module(SERIAL_READER)
    except ImportError:
        return []
    ports: list[str] = module.serial_ports()
    return ports


CITIZEN_ID = "hardware.codes.citizen_id"


def _citizen_card_parser() -> Callable[[str], CitizenIdentity]:
    """What a chip ID card's QR says (``hardware.codes.citizen_id``)."""
    try:
        parse: Callable[[str], CitizenIdentity] = importlib.import_module(
            CITIZEN_ID
        ).parse_citizen_qr
    except ImportError:

        def parse(text: str) -> CitizenIdentity:
            raise ValidationError(N_("Citizen ID card codes cannot be read on this computer"))

    return parse


def _wedge() -> Any:
    try:
        return importlib.import_module(WEDGE).WedgeAssembler()
    except ImportError:
        return None


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
    peers: Any = None  # the LAN peer service while it serves (core.services.peers)

    def save_settings(self) -> None:
        self.settings.save(self.data_dir)

    def close(self) -> None:
        if self.peers is not None:
            self.peers.stop()
        self.sync.stop()
        self.codes.stop()
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


def _sync_source(branch: Branch, data_dir: Path, lan: bool) -> SyncSource:
    """The sync agent when this desktop is enrolled with a central server."""
    from core.domain.errors import MotcuaError

    try:
        from core.services.sync import agent_for
    except ImportError:
        return NotConfigured()
    try:
        return AgentSource(agent_for(branch, lan=lan))
    except MotcuaError:  # not enrolled yet: the branch works alone
        log.info("sync not configured for %s", data_dir)
        return NotConfigured()


def compose(
    data_dir: Path, post: Post = run_now, with_devices: bool = True, start_sync: bool = True
) -> Services:
    branch = Branch.open(data_dir)
    settings = DesktopSettings.load(data_dir)
    devices = Devices(settings=settings)
    codes = CodeInput(open_code_reader, _wedge(), post)
    if with_devices:
        devices.scanners = _load(SCANNER_BACKENDS, settings)
        devices.document_printers = _load(PRINTER_BACKENDS, settings)
        devices.code_reader_ports = code_reader_ports
    services = Services(
        data_dir=data_dir,
        branch=branch,
        settings=settings,
        writer=Worker("motcua-store-writer", post),
        reader=Worker("motcua-store-reader", post),
        device_worker=Worker("motcua-devices", post),
        devices=devices,
        sync=_sync_source(branch, data_dir, settings.lan_peers),
        codes=codes,
        citizen_card=_citizen_card_parser(),
    )
    if with_devices and settings.code_reader:
        try:
            codes.use(settings.code_reader)
        except Exception as err:  # a reader unplugged since last time must not stop the desk
            log.warning("code reader %s did not open: %s", settings.code_reader, err)
            codes.failed = err
    if start_sync:
        services.sync.start()  # the agent's own thread; a no-op before enrolment
        if settings.lan_peers and isinstance(services.sync, AgentSource):
            services.peers = _serve_peers(branch, settings.peer_port)
    return services


def _serve_peers(branch: Branch, port: int) -> Any:
    """This desktop as a LAN peer (served and announced), or None when the port is taken
    or the network refuses: the desk works on, the log says why."""
    from core.services.peers import PeerService

    try:
        return PeerService(branch).start(port=port)
    except OSError as err:
        log.warning("LAN peer service not started on port %s: %s", port, err)
        return None
