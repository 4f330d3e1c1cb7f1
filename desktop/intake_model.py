"""The intake wizard's state, apart from its widgets (it survives a language switch).

Validation uses the core's own rules (``core.domain.applicant``) and maps the first
problem to the field it concerns, so the form can show it next to that field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from core.domain.applicant import FIELDS, applicant_from
from core.domain.catalogue import Procedure
from core.domain.due import DueMoment, compute_due
from core.domain.errors import N_, ValidationError
from core.domain.ids import new_uuid7
from core.domain.text import fold
from core.ports.codes import CitizenIdentity
from core.ports.scanner import ScannedPage, Source
from core.services.dossiers import Intake

from .pages import Page

if TYPE_CHECKING:
    from core.domain.calendar import WorkCalendar

# Which applicant field a core validation message is about.
_FIELD_OF_MESSAGE = (
    ("Citizen ID", "id_number"),
    ("Date of birth", "date_of_birth"),
    ("Phone", "phone"),
    ("email", "email"),
)


def search_procedures(
    procedures: dict[str, Procedure], text: str, limit: int = 50
) -> list[Procedure]:
    """Procedures whose code or name holds every typed word, diacritics ignored."""
    words = fold(text).split()
    found = []
    for procedure in procedures.values():
        haystack = fold(f"{procedure.code} {procedure.name} {procedure.field.value}")
        if all(word in haystack for word in words):
            found.append(procedure)
    return found[:limit]


REQUIRED = N_("This field is required")


def field_of(err: ValidationError) -> str:
    if "field" in err.params:
        return str(err.params["field"])
    for fragment, name in _FIELD_OF_MESSAGE:
        if fragment in err.message:
            return name
    return "full_name"


def applicant_from_card(person: CitizenIdentity) -> dict[str, str]:
    """The applicant fields a chip ID card's QR fills (phone is never on the card)."""
    born = person.date_of_birth
    return {
        "id_number": person.id_number,
        "full_name": person.full_name,
        "date_of_birth": born.isoformat() if born else "",
        "address": person.address,
    }


@dataclass
class IntakeDraft:
    """One intake form, from opening to receipt. ``key`` is made when the form opens and
    goes with the receipt: a second click or a retry can never record a second dossier."""

    key: str = field(default_factory=new_uuid7)
    procedure: Procedure | None = None
    applicant: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FIELDS, ""))
    supplied: set[str] = field(default_factory=set)
    pages: dict[str, list[Page]] = field(default_factory=dict)  # scanned or imported, in order
    return_method: str = "counter"
    postal_address: str = ""
    # How the next document is scanned (None: the defaults chosen in Settings).
    scan_source: Source | None = None
    scan_duplex: bool | None = None

    def choose(self, procedure: Procedure) -> None:
        if self.procedure is None or procedure.code != self.procedure.code:
            self.supplied = set()
            self.pages = {}
        self.procedure = procedure

    def add_pages(self, key: str, pages: list[Page]) -> None:
        """Pages for a component; a component with pages counts as received."""
        if pages:
            self.pages.setdefault(key, []).extend(pages)
            self.supplied.add(key)

    def move_page(self, key: str, index: int, delta: int) -> None:
        pages = self.pages.get(key, [])
        target = index + delta
        if 0 <= index < len(pages) and 0 <= target < len(pages):
            pages[index], pages[target] = pages[target], pages[index]

    def delete_page(self, key: str, index: int) -> None:
        pages = self.pages.get(key, [])
        if 0 <= index < len(pages):
            del pages[index]
        if not pages:
            self.pages.pop(key, None)

    def scans(self) -> dict[str, list[ScannedPage]]:
        """What to attach once the dossier is received: each component's pages, in order."""
        return {key: [p.page for p in pages] for key, pages in self.pages.items() if pages}

    def check_applicant(self, today: date) -> dict[str, str]:
        """Problems by field name (empty when the applicant is acceptable)."""
        try:
            applicant_from(self.applicant, today)
        except ValidationError as err:
            if "field" in err.params:
                return {field_of(err): _describe(ValidationError(REQUIRED))}
            return {field_of(err): _describe(err)}
        return {}

    @property
    def mandatory_missing(self) -> list[str]:
        assert self.procedure is not None
        return [c.name for c in self.procedure.missing_mandatory(sorted(self.supplied))]

    def counts(self) -> tuple[int, int]:
        """(received components, all components)."""
        assert self.procedure is not None
        return len(self.supplied), len(self.procedure.components)

    def due(self, calendar: WorkCalendar, received: datetime) -> DueMoment:
        assert self.procedure is not None
        p = self.procedure
        return compute_due(calendar, received, p.processing_time, p.processing_unit, p.cutoff)

    def intake(self) -> Intake:
        assert self.procedure is not None
        return Intake(
            procedure_code=self.procedure.code,
            applicant={k: v for k, v in self.applicant.items() if v},
            components=sorted(self.supplied),
            return_method=self.return_method,
            postal_address=self.postal_address if self.return_method == "postal" else "",
            key=self.key,
        )


def _describe(err: ValidationError) -> str:
    from core.i18n import describe

    return describe(err)
