"""The QR code of the chip-based citizen ID card (căn cước): ``|``-separated fields.

Order: ID number | old ID number | full name | date of birth (ddmmyyyy) | sex |
address | issue date (ddmmyyyy); newer cards may add fields after these, which are kept
out. The old ID number may be empty.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from core.domain.errors import N_, ValidationError
from core.ports.codes import CitizenIdentity

FIELDS = 7


def parse_citizen_qr(text: str) -> CitizenIdentity:
    parts = [p.strip() for p in unicodedata.normalize("NFC", text.strip()).split("|")]
    if len(parts) < FIELDS or not (parts[0].isdigit() and len(parts[0]) == 12):
        raise ValidationError(N_("Not a citizen ID card QR code: {text}"), text=text[:40])
    return CitizenIdentity(
        id_number=parts[0],
        old_id_number=parts[1],
        full_name=parts[2],
        date_of_birth=_date(parts[3]),
        sex=parts[4],
        address=parts[5],
        issued_on=_date(parts[6]),
    )


def _date(text: str) -> date | None:
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        return None
