"""What a receipt slip's QR code carries for the citizen's one-step lookup.

The payload names the dossier code and a random lookup token drawn at receipt, never the
citizen ID: a photographed slip must not leak the holder's identity number.
Format: ``MC1|{dossier code}|{token}``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .errors import N_, ValidationError

PREFIX = "MC1"
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
