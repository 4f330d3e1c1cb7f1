"""The applicant (người nộp hồ sơ) and the checks a counter officer expects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from .errors import N_, ValidationError

_PHONE = re.compile(r"^(?:0|\+84)(\d{9})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIELDS = ("full_name", "id_number", "date_of_birth", "phone", "address", "email")


@dataclass(frozen=True)
class Applicant:
    full_name: str
    id_number: str
    date_of_birth: str
    address: str
    phone: str = ""
    email: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def check_id_number(id_number: str, birth: date | None) -> None:
    """A 12-digit citizen ID (căn cước) whose 4th–6th digits agree with the birth date.

    Digit 4 codes century and sex (0/1: 1900s, 2/3: 2000s, 4/5: 2100s), digits 5–6 the
    last two digits of the birth year (Circular 59/2021/TT-BCA).
    """
    if not re.fullmatch(r"\d{12}", id_number):
        raise ValidationError(N_("Citizen ID must be exactly 12 digits: {value}"), value=id_number)
    if birth is None:
        return
    century = 1900 + 100 * (int(id_number[3]) // 2)
    year = century + int(id_number[4:6])
    if int(id_number[3]) > 5 or year != birth.year:
        raise ValidationError(
            N_("Citizen ID {value} does not match the birth year {year}"),
            value=id_number,
            year=birth.year,
        )


def parse_birth_date(text: str, today: date) -> date:
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            N_("Date of birth is not a date (yyyy-mm-dd): {value}"), value=text
        ) from None
    if born > today or born.year < today.year - 130:
        raise ValidationError(N_("Date of birth is not plausible: {value}"), value=text)
    return born


def normalise_phone(text: str) -> str:
    compact = re.sub(r"[\s.\-()]", "", text)
    match = _PHONE.match(compact)
    if not match:
        raise ValidationError(
            N_("Phone number must have 10 digits starting with 0: {value}"), value=text
        )
    return "0" + match.group(1)


def applicant_from(data: Mapping[str, Any], today: date) -> Applicant:
    """Validate the applicant form; the first problem found is reported."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValidationError(
            N_("Unknown applicant fields: {fields}"), fields=", ".join(sorted(unknown))
        )
    values = {k: str(data.get(k) or "").strip() for k in FIELDS}
    for required in ("full_name", "id_number", "address"):
        if not values[required]:
            raise ValidationError(N_("Applicant {field} is required"), field=required)
    birth = parse_birth_date(values["date_of_birth"], today) if values["date_of_birth"] else None
    check_id_number(values["id_number"], birth)
    if values["phone"]:
        values["phone"] = normalise_phone(values["phone"])
    if values["email"] and not _EMAIL.match(values["email"]):
        raise ValidationError(N_("Not a valid email address: {value}"), value=values["email"])
    values["full_name"] = " ".join(values["full_name"].split())
    return Applicant(**values)
