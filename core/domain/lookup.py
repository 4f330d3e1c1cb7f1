"""What a receipt slip's QR code carries for the citizen's lookup.

The payload names the dossier code and a random lookup token drawn at receipt, never the
citizen ID: a photographed slip must not leak the holder's identity number.
Format: ``MC1|{dossier code}|{token}``.

When the branch has a public address (``forms.lookup_url``), form 01's QR is instead a
link to the server's lookup page with the code filled in (``{base}/tra-cuu?code=…``): a
phone opens it, and the citizen still gives the slip's key or her ID number, since a
link seen over a shoulder or in a browser's history must not show the dossier. The
kiosk reads the same link and asks for the same second factor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from .codes import looks_like_code
from .errors import N_, ValidationError

PREFIX = "MC1"
LOOKUP_PATH = "/tra-cuu"
CODE_PARAM = "code"
_TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: it may be typed


@dataclass(frozen=True)
class SlipLookup:
    code: str
    token: str

    def payload(self) -> str:
        return f"{PREFIX}|{self.code}|{self.token}"


def new_lookup_token(length: int = 8) -> str:
    # 256 is a multiple of the 32-letter alphabet, so byte % 32 is unbiased.
    return "".join(_TOKEN_ALPHABET[b % len(_TOKEN_ALPHABET)] for b in secrets.token_bytes(length))


def parse_slip_payload(text: str) -> SlipLookup:
    parts = text.strip().split("|")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        raise ValidationError(N_("Not a Một Cửa slip code: {text}"), text=text[:60])
    return SlipLookup(code=parts[1], token=parts[2])


def lookup_base(text: str) -> str:
    """A public address checked and trimmed (``https://dvc.example.vn/``, or with a path
    prefix behind a proxy); "" stays "" (no link). Refused unless http(s) with a host."""
    base = text.strip().rstrip("/")
    if not base:
        return ""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValidationError(N_("Not a web address (https://…): {value}"), value=text.strip()[:80])
    return base


def lookup_link(base: str, code: str) -> str:
    """The lookup page of `base` with the dossier code filled in."""
    return f"{lookup_base(base)}{LOOKUP_PATH}?{CODE_PARAM}={quote(code, safe='')}"


def code_from_link(text: str) -> str | None:
    """The dossier code a lookup link carries, or None when `text` is not one."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.path.endswith(LOOKUP_PATH):
        return None
    codes = parse_qs(parts.query).get(CODE_PARAM, [])
    code = codes[0].strip().upper() if codes else ""
    return code if looks_like_code(code) else None
