"""The procedure catalogue (thủ tục hành chính): what a branch can receive.

Procedures are versioned: a dossier pins the version in force when it was received, so a
later change of processing time or required documents never rewrites its appointment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Any

from .errors import N_, ValidationError
from .fees import FeeRule


class ProcessingUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_DAYS = "calendar_days"
    # Settled within the working day of receipt; received after the cut-off (15:00 unless
    # the procedure says otherwise), by the next working day's closing. Civil status and
    # certification procedures (Decision 1872/QĐ-BTP 2020, Decree 23/2015/NĐ-CP Art. 7).
    WITHIN_DAY = "within_day"


class Field(StrEnum):
    """Fields of administrative procedures, as grouped on the national portal."""

    CIVIL_STATUS = "civil_status"
    CERTIFICATION = "certification"
    LAND = "land"
    CONSTRUCTION = "construction"
    PLANNING = "planning"
    BUSINESS = "business"
    INVESTMENT = "investment"
    FINANCE = "finance"
    AGRICULTURE = "agriculture"
    JUSTICE = "justice"
    LABOUR = "labour"
    RESIDENCE = "residence"
    ENVIRONMENT = "environment"


class Level(StrEnum):
    COMMUNE = "commune"
    PROVINCE = "province"


@dataclass(frozen=True)
class Component:
    """A required document: how many originals, certified copies and plain copies."""

    key: str
    name: str
    mandatory: bool = True
    originals: int = 0
    certified_copies: int = 0
    copies: int = 0
    note: str = ""


@dataclass(frozen=True)
class Fee:
    name: str
    amount_vnd: int
    note: str = ""
    # By copy or page, online amount, free cases (core.domain.fees).
    rule: FeeRule = dataclasses.field(default_factory=FeeRule)


@dataclass(frozen=True)
class Procedure:
    code: str
    version: int
    name: str
    field: Field
    level: Level
    agency: str
    processing_time: int
    processing_unit: ProcessingUnit
    components: tuple[Component, ...]
    result: str
    cutoff: time | None = None
    fees: tuple[Fee, ...] = ()
    legal_basis: str = ""
    effective_from: date = date(2000, 1, 1)
    sets: int = 1
    national_code: str = ""  # mã TTHC in the national database of procedures ("1.001193")
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def component(self, key_or_name: str) -> Component:
        """Find a component by its key, its 1-based position, or its exact name."""
        for index, comp in enumerate(self.components, start=1):
            if key_or_name in (comp.key, comp.name, str(index)):
                return comp
        raise ValidationError(
            N_("Procedure {code} has no component {component}"),
            code=self.code,
            component=key_or_name,
        )

    def missing_mandatory(self, supplied_keys: Sequence[str]) -> list[Component]:
        supplied = set(supplied_keys)
        return [c for c in self.components if c.mandatory and c.key not in supplied]

    @property
    def total_fee_vnd(self) -> int:
        return sum(fee.amount_vnd for fee in self.fees)
