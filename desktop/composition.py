"""The composition root: wires the core services, the hardware and the sync agent.

Only this module picks hardware implementations and the sync agent; screens receive the
assembled :class:`~desktop.services.Services` and talk to core services and ports (they
never import this module, so no driver is reachable from a screen). Three workers keep the
UI thread free: one writer for the store (all writes, in order), one reader, one for
devices (drivers are not thread-safe).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.domain.errors import N_, ValidationError
from core.ports import DocumentPrinter, NoBackendAvailable, PrinterInfo, ReceiptPrinter, Scanner
from core.ports.codes import CitizenIdentity, CodeReader
from core.services import printouts
from core.services.branch import Branch
from core.services.storekey import Prompt

from .codes import Assembler, CodeInput
from .devices import Devices
from .documents import OcrJobs
from .live import ReceivedFeed
from .services import Services
from .settings import DesktopSettings
from .sync_status import AgentSource, NotConfigured, SyncSource
from .worker import Post, Worker, run_now

if TYPE_CHECKING:
    from core.services.peers import PeerService

__all__ = ["Services", "compose"]

log = logging.getLogger(__name__)

# --- scanners and printers ------------------------------------------------------------------
# Found by the hardware package, which asks each backend whether it is usable here and
# fails loudly when none is (``NoBackendAvailable``, shown where the devices are used).


def find_scanners(settings: DesktopSettings) -> Scanner:
    """SANE (Linux), WIA and TWAIN (Windows), eSCL at the addresses set, watched folders.
    Network scanners are not searched by mDNS here (seconds on every Settings visit):
    `motcua devices` finds them and Settings adds them by address."""
    from hardware.scanners import available_scanners

    folders = [Path(f) for f in settings.scan_folders]
    return available_scanners(settings.escl_addresses, folders, discover=False)


def find_printers(settings: DesktopSettings) -> DocumentPrinter:
    """CUPS (the scheduler in ``CUPS_SERVER`` when set), or the Windows spooler."""
    from hardware.printers import available_printers

    return available_printers()


class _ReceiptBackend(Protocol):
    """What this module uses of ``hardware.printers.receipt``."""

    def receipt_printers(self) -> list[PrinterInfo]: ...

    def open_receipt_printer(self, device_id: str, *, paper_mm: int = ...) -> ReceiptPrinter: ...


def find_receipt_printers() -> list[PrinterInfo]:
    """ESC/POS printers on the USB bus (serial and network ones are typed in Settings)."""
    return _receipt_printers().receipt_printers()


def open_receipt_printer(device_id: str, paper_mm: int) -> ReceiptPrinter:
    """The ESC/POS printer ``escpos:usb:…``, ``escpos:serial:…`` or ``escpos:net:…``."""
    return _receipt_printers().open_receipt_printer(device_id, paper_mm=paper_mm)


def _receipt_printers() -> _ReceiptBackend:
    try:
        from hardware.printers import receipt
    except ImportError as err:  # python-escpos or pyusb missing: said, not hidden
        raise NoBackendAvailable("receipt printer", err.name or "python-escpos") from err
    return receipt


def _devices(settings: DesktopSettings) -> Devices:
    return Devices(
        settings=settings,
        find_scanners=find_scanners,
        find_printers=find_printers,
        find_receipt_printers=find_receipt_printers,
        open_receipt_printer=open_receipt_printer,
        code_reader_ports=code_reader_ports,
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


def _wedge() -> Assembler | None:
    try:
        assembler: Assembler = importlib.import_module(WEDGE).WedgeAssembler()
    except ImportError:
        return None
    return assembler


def _sync_source(
    branch: Branch, data_dir: Path, lan: bool, feed: ReceivedFeed | None = None
) -> SyncSource:
    """The sync agent when this desktop is enrolled with a central server; what its
    exchanges apply here goes to `feed` (the open screens)."""
    from core.domain.errors import MotcuaError

    try:
        from core.services.sync import agent_for
    except ImportError:
        return NotConfigured()
    try:
        agent = agent_for(branch, lan=lan)
    except MotcuaError:  # not enrolled yet: the branch works alone
        log.info("sync not configured for %s", data_dir)
        return NotConfigured()
    if feed is not None:
        agent.on_applied.append(feed.applied)
    return AgentSource(agent, branch)


def compose(
    data_dir: Path,
    post: Post = run_now,
    with_devices: bool = True,
    start_sync: bool = True,
    *,
    passphrase: str | None = None,
    prompt: Prompt | None = None,
) -> Services:
    """The desk's services over the store in `data_dir`; an encrypted store's key from
    the keystore, else `passphrase`, ``MOTCUA_PASSPHRASE`` or `prompt`."""
    branch = Branch.open(data_dir, passphrase=passphrase, prompt=prompt)
    printouts.clear_session(data_dir)  # forms a crashed session of an encrypted desk left
    settings = DesktopSettings.load(data_dir)
    secrets = _adopt_secrets(branch, settings, data_dir)
    devices = _devices(settings) if with_devices else Devices(settings=settings)
    codes = CodeInput(open_code_reader, _wedge(), post)
    feed = ReceivedFeed(post)
    services = Services(
        data_dir=data_dir,
        branch=branch,
        settings=settings,
        writer=Worker("motcua-store-writer", post),
        reader=Worker("motcua-store-reader", post),
        device_worker=Worker("motcua-devices", post),
        documents_worker=Worker("motcua-documents", post),
        ocr=OcrJobs(post),
        devices=devices,
        sync=_sync_source(branch, data_dir, settings.lan_peers, feed),
        codes=codes,
        citizen_card=_citizen_card_parser(),
        received=feed,
        secrets=secrets,
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
            services.peers = _serve_peers(branch, settings.peer_port, feed)
    return services


def _adopt_secrets(branch: Branch, settings: DesktopSettings, data_dir: Path) -> dict[str, str]:
    """The desk's secrets; those an earlier version left in ``desktop.json`` move into
    the store first (kept there, then the file is rewritten without them)."""
    from core.services import desk_secrets

    legacy = DesktopSettings.clear_secrets(data_dir)
    if legacy:
        desk_secrets.write(branch, legacy)
        settings.save(data_dir)
        log.info("moved %s from %s into the store", ", ".join(legacy), data_dir)
    return desk_secrets.read_all(branch)


def _serve_peers(branch: Branch, port: int, feed: ReceivedFeed) -> PeerService | None:
    """This desktop as a LAN peer (served and announced), or None when the port is taken
    or the network refuses: the desk works on, the log says why. What peers push here
    goes to `feed`, like what the agent pulls."""
    from core.services.peers import PeerService

    try:
        return PeerService(branch, on_applied=feed.applied).start(port=port)
    except OSError as err:
        log.warning("LAN peer service not started on port %s: %s", port, err)
        return None
