"""This desktop's own settings (language, chosen devices), declared once.

Kept in ``desktop.json`` beside the store; branch-wide settings live in the event log.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

FILE_NAME = "desktop.json"


@dataclass
class DesktopSettings:
    language: str = "vi"
    scanner: str = ""  # a scanner device id ("sane:…", "escl:…") or "" for none
    document_printer: str = ""
    receipt_printer: str = ""
    code_reader: str = ""
    unit_parent: str = ""  # printed above the unit name on slips
    hotline: str = ""
    # Exchange with the branch's other desktops over the LAN (mDNS, this TCP port), so the
    # counters keep sharing work while the server cannot be reached.
    lan_peers: bool = True
    peer_port: int = 8471
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
        return cls(**{k: v for k, v in raw.items() if k in known})

    def save(self, data_dir: Path) -> None:
        path = data_dir / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)
