"""Dossier codes ``{unit}-{yyMMdd}-{NNNN}``, unique across a unit's desktops offline.

On the national systems one server hands out NNNN. Our desktops must number dossiers
while cut off from each other, so the unit's 9,999 daily numbers are split into blocks
of ``width`` numbers and every desktop owns blocks of its own, assigned once by the centre
at enrolment (the first desktop of a unit, created by ``init``, owns block 0). A desktop
numbers its dossiers inside its blocks, in order, restarting every day. Two desktops never
share a block, so they never share a code — with no communication at all.

Limits (documented in docs/dossier-codes.md): with the default width of 500 a unit has 20
blocks; a desktop that receives more than 500 dossiers in a day moves to its next block
and, with none left, must sync to be given another before it can receive more that day.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .errors import N_, CodeSpaceExhausted, ValidationError

MAX_NUMBER = 9999
DEFAULT_BLOCK_WIDTH = 500
_UNIT = re.compile(r"^[A-Z0-9][A-Z0-9.]{0,30}$")
_CODE = re.compile(r"^(?P<unit>[A-Z0-9][A-Z0-9.]{0,30})-(?P<day>\d{6})-(?P<n>\d{4})$")


@dataclass(frozen=True)
class CodeSpace:
    """The blocks of daily numbers one desktop owns."""

    unit: str
    blocks: tuple[int, ...]
    width: int = DEFAULT_BLOCK_WIDTH

    def __post_init__(self) -> None:
        check_unit_code(self.unit)
        if not 1 <= self.width <= MAX_NUMBER:
            raise ValidationError(N_("Block width must be between 1 and 9999"))
        if not self.blocks or any(not 0 <= b < self.block_count for b in self.blocks):
            raise ValidationError(N_("Invalid dossier number blocks: {blocks}"), blocks=self.blocks)

    @property
    def block_count(self) -> int:
        return MAX_NUMBER // self.width + (1 if MAX_NUMBER % self.width else 0)

    def numbers(self) -> Sequence[range]:
        return [block_range(b, self.width) for b in self.blocks]

    def next_number(self, last: int) -> int:
        """The number after `last` (0 = none used yet today) within this desktop's blocks."""
        for numbers in self.numbers():
            if last < numbers.start:
                return numbers.start
            if last + 1 in numbers:
                return last + 1
        raise CodeSpaceExhausted(
            N_("This desk has used all its dossier numbers for today; sync to get more"),
        )


def block_range(block: int, width: int) -> range:
    """Numbers of block `block`: block 0 starts at 0001 (0000 is never issued)."""
    start = max(1, block * width)
    return range(start, min(MAX_NUMBER, (block + 1) * width - 1) + 1)


def check_unit_code(unit: str) -> str:
    if not _UNIT.match(unit):
        raise ValidationError(
            N_("Unit code must be upper-case letters, digits and dots: {unit}"), unit=unit
        )
    return unit


def format_code(unit: str, day: date, number: int) -> str:
    return f"{unit}-{day:%y%m%d}-{number:04d}"


def looks_like_code(text: str) -> bool:
    return bool(_CODE.match(text.strip().upper()))
