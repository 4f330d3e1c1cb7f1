"""Receiving dossiers and moving them through the workflow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from core.domain import authority
from core.domain.applicant import applicant_from
from core.domain.catalogue import Procedure, ProcessingUnit
from core.domain.codes import format_code
from core.domain.dossier import DossierView
from core.domain.due import compute_due, shift_for_pause
from core.domain.errors import N_, IncompleteDossier, NotFoundError, ValidationError
from core.domain.events import EventType
from core.domain.ids import new_uuid7
from core.domain.lookup import new_lookup_token
from core.domain.timeutil import iso, parse_moment, to_vietnam
from core.domain.workflow import Action, Role, transition_for
from core.storage.db import raw

from .changes import Changes
from .queries import DossierQueries
from .users import User

if TYPE_CHECKING:
    from .branch import Branch

RETURN_METHODS = ("counter", "postal")
_LAST_NUMBER = "SELECT last_number FROM code_counters WHERE day = ?"
_SET_NUMBER = (
    "INSERT INTO code_counters (day, last_number) VALUES (?, ?) "
    "ON CONFLICT (day) DO UPDATE SET last_number = excluded.last_number"
)
CHANNELS = ("counter", "online", "postal")


@dataclass(frozen=True)
class Intake:
    """What the officer enters at the counter."""

    procedure_code: str
    applicant: Mapping[str, Any]
    components: Sequence[str] = ()
    received_at: datetime | None = None
    override_incomplete: str = ""
    return_method: str = "counter"
    postal_address: str = ""
    channel: str = "counter"


class DossierService(DossierQueries):
    def __init__(self, branch: Branch) -> None:
        super().__init__(branch)

    # --- receiving -------------------------------------------------------------------
    def check_completeness(self, procedure: Procedure, supplied: Sequence[str]) -> list[str]:
        """Keys of supplied components; raises with the supplement guidance if incomplete."""
        keys = [procedure.component(s).key for s in supplied]
        missing = procedure.missing_mandatory(keys)
        if missing:
            raise IncompleteDossier([c.name for c in missing], procedure.code)
        return keys

    def receive(self, user: User, intake: Intake) -> tuple[DossierView, Changes]:
        user.require(Role.OFFICER)
        procedure = self.procedure(intake.procedure_code)
        received = to_vietnam(intake.received_at or self.branch.clock())
        applicant = applicant_from(intake.applicant, received.date())
        _check_choice(intake.return_method, RETURN_METHODS, N_("return method"))
        _check_choice(intake.channel, CHANNELS, N_("channel"))
        if intake.return_method == "postal" and not intake.postal_address.strip():
            raise ValidationError(N_("A postal return needs the postal address"))
        try:
            supplied = self.check_completeness(procedure, intake.components)
        except IncompleteDossier:
            if not intake.override_incomplete.strip():
                raise
            supplied = [procedure.component(s).key for s in intake.components]
        due = compute_due(
            self.branch.calendar(),
            received,
            procedure.processing_time,
            procedure.processing_unit,
            procedure.cutoff,
        )
        payload: dict[str, Any] = {
            "at": iso(received),
            "procedure": {
                "code": procedure.code,
                "version": procedure.version,
                "name": procedure.name,
                "field": procedure.field.value,
                "unit": procedure.processing_unit.value,
            },
            "applicant": applicant.as_dict(),
            "channel": intake.channel,
            "components": [
                _component_entry(procedure, key in supplied, key) for key in _keys(procedure)
            ],
            "fees_vnd": procedure.total_fee_vnd,
            "return_method": intake.return_method,
            "postal_address": intake.postal_address.strip(),
            "due": due.as_dict(),
            "lookup_token": new_lookup_token(),
            "override_incomplete": intake.override_incomplete.strip(),
        }
        dossier_id = new_uuid7()

        def work(conn: Connection) -> DossierView:
            payload["code"] = self._next_code(conn, received.date())
            _event, view = self.branch.append(
                conn, dossier_id, user.username, EventType.for_action("receive"), payload
            )
            assert view is not None
            return view

        view = self.branch.store.write(work)
        return view, Changes(dossiers=frozenset({dossier_id}), events_added=1)

    def procedure(self, code: str) -> Procedure:
        """The procedure in force with this code (case-insensitive)."""
        procedures = self.branch.procedures()
        if code.upper() not in procedures:
            raise NotFoundError(N_("No procedure with code {code} in the catalogue"), code=code)
        return procedures[code.upper()]

    def _next_code(self, conn: Connection, day: date) -> str:
        key = day.isoformat()
        db = raw(conn)
        last = db.execute(_LAST_NUMBER, (key,)).fetchone()
        number = self.branch.codespace.next_number(last[0] if last else 0)
        db.execute(_SET_NUMBER, (key, number))
        return format_code(self.branch.codespace.unit, day, number)

    # --- acting ----------------------------------------------------------------------
    def act(
        self,
        user: User,
        code: str,
        action: Action,
        note: str = "",
        at: datetime | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> tuple[DossierView, Changes]:
        """Take one workflow action; refused actions change nothing."""
        moment = to_vietnam(at or self.branch.clock())

        def work(conn: Connection) -> DossierView:
            view = self._require(conn, code)
            transition = transition_for(action, view.state, user.role)
            if transition.needs_note and not note.strip():
                raise ValidationError(
                    N_("Action '{action}' needs a note (the reason)"), action=action.value
                )
            if moment < parse_moment(view.received_at):
                raise ValidationError(
                    N_("The action cannot be dated before the dossier was received")
                )
            payload = {
                "at": iso(moment),
                "note": note.strip(),
                **self._details(view, action, moment, details or {}),
            }
            _event, new_view = self.branch.append(
                conn,
                view.id,
                user.username,
                EventType.for_action(action.value),
                payload,
                view.heads,
                user.signer if _proven_action(action) else None,
            )
            assert new_view is not None
            return new_view

        view = self.branch.store.write(work)
        return view, Changes(dossiers=frozenset({view.id}), events_added=1)

    def _details(
        self, view: DossierView, action: Action, moment: datetime, details: Mapping[str, Any]
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {
            k: v for k, v in details.items() if k in ("to", "postal_address", "order_number")
        }
        if action is Action.SUPPLEMENT:
            extra["due_at"] = iso(self._resumed_due(view, moment))
        elif action is Action.REAPPOINT:
            new_due = parse_moment(str(details.get("due_at", "")))
            if new_due <= parse_moment(view.due_at):
                raise ValidationError(N_("The new appointment must be later than the current one"))
            extra["due_at"] = iso(new_due)
            extra["previous_due_at"] = view.due_at
        elif action is Action.REGISTER_POSTAL and not (
            details.get("postal_address") or view.postal_address
        ):
            raise ValidationError(N_("A postal return needs the postal address"))
        return extra

    def _resumed_due(self, view: DossierView, moment: datetime) -> datetime:
        paused = parse_moment(view.paused_since)
        due = parse_moment(view.due_at)
        if self._unit(view) is ProcessingUnit.CALENDAR_DAYS:
            return due + (moment - paused)
        return shift_for_pause(self.branch.calendar(), due, paused, moment)

    def _unit(self, view: DossierView) -> ProcessingUnit:
        return ProcessingUnit(view.extra.get("unit", ProcessingUnit.WORKING_DAYS.value))

    def note(self, user: User, code: str, text: str) -> Changes:
        if not text.strip():
            raise ValidationError(N_("A note cannot be empty"))
        view = self.get(code)
        return self.branch.record(
            view.id,
            user.username,
            EventType.NOTE,
            {"at": iso(self.branch.clock()), "text": text.strip()},
        )

    def rate(self, code: str, token: str, score: int, complaint: bool = False) -> Changes:
        """A citizen's satisfaction rating from the kiosk (1 = very unhappy … 5 = very happy)."""
        view = self.get(code)
        if token != view.lookup_token:
            raise NotFoundError(N_("No dossier matches this code and lookup key"))
        if not 1 <= score <= 5:
            raise ValidationError(N_("A rating is from 1 to 5"))
        payload = {"at": iso(self.branch.clock()), "score": score, "complaint": complaint}
        return self.branch.record(view.id, "citizen", EventType.RATE, payload)


def _proven_action(action: Action) -> bool:
    """A decision that carries its user's proof (opening her key costs a derivation)."""
    return action in authority.PROVEN_ACTIONS


def _keys(procedure: Procedure) -> list[str]:
    return [c.key for c in procedure.components]


def _component_entry(procedure: Procedure, supplied: bool, key: str) -> dict[str, Any]:
    comp = procedure.component(key)
    return {
        "key": comp.key,
        "name": comp.name,
        "mandatory": comp.mandatory,
        "supplied": supplied,
        "originals": comp.originals,
        "certified_copies": comp.certified_copies,
        "copies": comp.copies,
    }


def _check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValidationError(N_("Unknown {what}: {value}"), what=what, value=value)
