"""What a report needs of one dossier, as of a moment, from its events.

A report for a period is computed as of the period's end (or now, when the period ends
later): only the events dated up to that moment count (``core.domain.dossier.
event_moment``), so an event dated after it — a later supplement request, a later
rating — changes nothing in it. ``facts_as_of`` folds a dossier's events up to the
moment with the desktops' own fold; ``facts_from_view`` reads a record already folded
from all of them, which is the same thing when none is dated later (``complete_as_of``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from core.domain import dossier as fold
from core.domain.dossier import DossierView
from core.domain.errors import ValidationError
from core.domain.events import Event, sort_for_fold
from core.domain.timeutil import parse_moment
from core.domain.workflow import State

log = logging.getLogger(__name__)

_RESULT_STATES = frozenset({State.FINISHED, State.POSTAL_RETURN, State.RETURNED})


@dataclass(frozen=True)
class DossierFacts:
    """One dossier as of the report's moment."""

    dossier_id: str
    code: str
    branch: str
    procedure_code: str
    field: str
    clerk: str
    channel: str
    received_at: datetime
    deadline: datetime  # the receipt's appointment moved only by the waits
    ended_at: datetime | None  # first of finished, returned, stopped, refused
    refused: bool
    withdrawn: bool
    paused_since: datetime | None  # waiting for the citizen (status 5 or 6)
    supplement_count: int
    reappointments: int
    rating: int
    complaint: bool
    has_result: bool
    digitised: bool
    payable: bool
    paid_online: bool
    # Between units (Decision 766 counts a dossier at the unit that received it and at
    # the one that processed it, each in its own column): this record's own branch when
    # it was received and processed there.
    received_unit: str = ""
    processing_unit: str = ""

    @property
    def processed_here(self) -> bool:
        """Judged here: this record is where it is (or was) processed."""
        return self.processing_unit in ("", self.branch)

    @property
    def received_here(self) -> bool:
        return self.received_unit in ("", self.branch)

    @property
    def month(self) -> str:
        return self.received_at.strftime("%Y-%m")


def _moment(text: str) -> datetime | None:
    return parse_moment(text) if text else None


def _digitised(view: DossierView) -> bool:
    """Every supplied component has a file and the electronic result is attached
    (Decision 766/QĐ-TTg; Circular 01/2023/TT-VPCP)."""
    supplied = [c for c in view.components if c.get("supplied", True)]
    return view.result_files > 0 and all(c.get("files") for c in supplied)


def facts_from_view(view: DossierView) -> DossierFacts:
    return DossierFacts(
        dossier_id=view.id,
        code=view.code,
        branch=view.branch,
        procedure_code=view.procedure_code,
        field=view.field,
        clerk=view.received_by,
        channel=view.channel,
        received_at=parse_moment(view.received_at),
        deadline=parse_moment(view.deadline),
        ended_at=_moment(view.end_at),
        refused=view.state in (State.REFUSED, State.SUBMITTED),  # never received
        withdrawn=view.withdrawn,
        paused_since=_moment(view.paused_since),
        supplement_count=view.supplement_count,
        reappointments=view.reappointments,
        rating=view.rating,
        complaint=view.complaint,
        has_result=view.state in _RESULT_STATES,
        digitised=_digitised(view),
        payable=view.fees_vnd > 0 or bool(view.payment),
        paid_online=view.payment == "online",
        received_unit=view.received_unit or view.branch,
        processing_unit=view.processing_unit or view.branch,
    )


def readable_facts(view: DossierView) -> DossierFacts | None:
    """The record's facts, or None when a moment in it cannot be read: a record folded from
    an event stored before moments were checked as dates (``core.domain.payloads``). The
    statistics leave it out, as they leave out an event the fold cannot apply, rather than
    fail for every dossier of the branch."""
    try:
        return facts_from_view(view)
    except (ValidationError, ValueError, OverflowError) as err:
        log.warning("dossier %s left out of the statistics: %s", view.id, err)
        return None


def view_as_of(events: Iterable[Event], moment: datetime) -> DossierView | None:
    """The dossier folded from its events dated up to `moment` (None before its receipt).

    An event the fold cannot apply is left out, as the projections leave it out (and
    quarantine it); a report never fails on one bad event."""
    view: DossierView | None = None
    for event in sort_for_fold([e for e in events if fold.event_moment(e) <= moment]):
        if view is None and not fold.starts(event):
            continue  # it starts at its receipt (its online submission, its transfer in)
        try:
            view = fold.apply(view, event)
        except Exception:
            continue
    return view


def facts_as_of(events: Iterable[Event], moment: datetime) -> DossierFacts | None:
    view = view_as_of(events, moment)
    return readable_facts(view) if view is not None else None


def complete_as_of(view: DossierView, moment: datetime) -> bool:
    """Whether `view` (folded from all its events) is the dossier as of `moment`: no event
    of it is dated later. Records folded before ``last_at`` was kept never are."""
    try:
        return bool(view.last_at) and parse_moment(view.last_at) <= moment
    except ValidationError:
        return False  # unreadable: the dossier is folded again from its events
