"""This desktop's own settings (language, chosen devices and their defaults), declared once.

Kept in ``desktop.json`` beside the store; branch-wide settings live in the event log.
Device ids carry their backend (``sane:…``, ``escl:…``, ``wia:…``, ``cups:…``,
``escpos:usb:…``); an empty id means "none chosen".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.ports.scanner import ColorMode, ScanSettings, Source

FILE_NAME = "desktop.json"
RESOLUTIONS = (150, 200, 300, 400, 600)  # dpi offered in Settings
RECEIPT_PAPER_MM = (80, 58)
SECRET_NAMES = ("signing_key_passphrase", "signing_token_pin")  # once kept here in clear


@dataclass
class DesktopSettings:
    language: str = "vi"
    # The scanner and the defaults of every scan (the intake changes source and duplex
    # per document).
    scanner: str = ""
    scan_source: str = Source.FLATBED.value
    scan_duplex: bool = False
    scan_resolution: int = 300
    scan_mode: str = ColorMode.GRAY.value
    escl_addresses: list[str] = field(default_factory=list)  # network scanners by address
    scan_folders: list[str] = field(default_factory=list)  # scan-to-folder folders
    # The office printer (CUPS queue, Windows printer) for the national forms, and the
    # counter's ESC/POS receipt printer (USB, serial or network) for receipt tickets.
    document_printer: str = ""
    receipt_printer: str = ""
    receipt_paper_mm: int = 80
    code_reader: str = ""
    unit_parent: str = ""  # printed above the unit name on slips
    hotline: str = ""
    # Exchange with the branch's other desktops over the LAN (mDNS, this TCP port), so the
    # counters keep sharing work while the server cannot be reached.
    lan_peers: bool = True
    peer_port: int = 8471
    # The intake's document steps (docs/desktop.md): those turned off here, of "blank",
    # "checklist", "pdfa", "sign" and "ocr"; and the digitising clerk's signing key, a
    # PKCS#12 file or a PKCS#11 token (its module, the token's and the key's labels). A
    # token, when set, is used before a file. The file's passphrase and the token's PIN
    # are kept in the store (``core.services.desk_secrets``), never here.
    intake_skip: list[str] = field(default_factory=list)
    signing_key_file: str = ""
    signing_token_module: str = ""
    signing_token_label: str = ""
    signing_token_key: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> DesktopSettings:
        path = data_dir / FILE_NAME
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        settings = cls(**{k: v for k, v in raw.items() if k in known})
        settings._adopt_old_extras()
        return settings

    def _adopt_old_extras(self) -> None:
        """Scanner addresses and folders were once comma lists in ``extra``."""
        for name in ("escl_addresses", "scan_folders"):
            old = self.extra.pop(name, "")
            values: list[str] = getattr(self, name)
            values += [v for v in old.split(",") if v and v not in values]

    @staticmethod
    def clear_secrets(data_dir: Path) -> dict[str, str]:
        """Secrets an earlier version kept in ``desktop.json`` (to move into the store)."""
        try:
            raw = json.loads((data_dir / FILE_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(raw, dict):
            return {}
        return {name: str(raw[name]) for name in SECRET_NAMES if raw.get(name)}

    def save(self, data_dir: Path) -> None:
        path = data_dir / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)

    def scan_settings(
        self, source: Source | None = None, duplex: bool | None = None
    ) -> ScanSettings:
        """The chosen defaults, with this document's source and duplex when given; a value
        the file holds that no scanner knows falls back to the default."""
        default = ScanSettings()
        try:
            mode = ColorMode(self.scan_mode)
        except ValueError:
            mode = default.mode
        try:
            chosen = source or Source(self.scan_source)
        except ValueError:
            chosen = default.source
        resolution = self.scan_resolution if self.scan_resolution > 0 else default.resolution
        both = self.scan_duplex if duplex is None else duplex
        return ScanSettings(resolution, mode, chosen, both and chosen is Source.FEEDER)
