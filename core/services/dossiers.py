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
from core.domain.dossier import DossierView, check_reappointment
from core.domain.due import Wait, compute_due, reappointment_steps, resume_after_wait
from core.domain.errors import N_, IncompleteDossier, NotFoundError, ValidationError
from core.domain.events import EventType
from core.domain.fees import FeeBasis
from core.domain.ids import new_uuid7
from core.domain.lookup import new_lookup_token
from core.domain.step_moments import (
    NOMINAL,
    capped,
    check_entry_appointment,
    check_entry_moment,
    dated_after_receipt,
)
from core.domain.timeutil import iso, parse_moment, to_vietnam
from core.domain.workflow import TRANSFER_ACTIONS, WAIT_ENDS, Action, Role, transition_for
from core.storage import projection
from core.storage.db import raw

from . import documents
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
_INTAKE_DOSSIER = "SELECT dossier_id FROM intake_keys WHERE key = ?"
_REMEMBER_INTAKE = "INSERT INTO intake_keys (key, dossier_id, at) VALUES (?, ?, ?)"


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
    # The intake form's idempotency key (made when the form opens): a second receive with
    # the same key returns the dossier the first recorded, and records nothing.
    key: str = ""
    # What the fees are computed from (copies, pages of each copy, an exemption case):
    # ``core.domain.fees``; the channel is the intake's.
    fee_copies: int = 1
    fee_pages: Sequence[int] = ()
    fee_exemption: str = ""


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

    def receive(
        self, user: User, intake: Intake, files: Sequence[documents.ScanFile] = ()
    ) -> tuple[DossierView, Changes]:
        """Record the receipt and its scanned files in one transaction: all or nothing.

        ``files`` are made beforehand (``documents.build_all``: no PDF work inside the
        transaction) and kept on disk before it. With ``intake.key``, a repeated receive
        (a second click, a retry after an error) returns the dossier already recorded."""
        user.require(Role.OFFICER)
        procedure = self.procedure(intake.procedure_code)
        now = to_vietnam(self.branch.clock())
        received = to_vietnam(intake.received_at or now)
        check_entry_moment(received, now)
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
            **_fees(procedure, intake),
            "return_method": intake.return_method,
            "postal_address": intake.postal_address.strip(),
            "due": due.as_dict(),
            "lookup_token": new_lookup_token(),
            "override_incomplete": intake.override_incomplete.strip(),
        }
        dossier_id = new_uuid7()
        for file in files:
            documents.keep(self.branch, file)

        def work(conn: Connection) -> tuple[DossierView, int]:
            earlier = _intake_dossier(conn, intake.key)
            if earlier is not None:
                return earlier, 0
            payload["code"] = self._next_code(conn, received.date())
            _event, view = self.branch.append(
                conn, dossier_id, user.username, EventType.for_action("receive"), payload
            )
            assert view is not None
            for file in files:
                view = documents.record(conn, self.branch, user, view, file)
            if intake.key:
                raw(conn).execute(_REMEMBER_INTAKE, (intake.key, dossier_id, iso(received)))
            return view, 1 + len(files)

        view, added = self.branch.store.write(work)
        return view, Changes(dossiers=frozenset({view.id}), events_added=added)

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
        if action in TRANSFER_ACTIONS:
            raise ValidationError(
                N_("Action '{action}' goes through the transfer commands (motcua transfer)"),
                action=action.value,
            )
        now = to_vietnam(self.branch.clock())
        moment = to_vietnam(at or now)
        check_entry_moment(moment, now)

        def work(conn: Connection) -> DossierView:
            view = self._require(conn, code)
            transition = transition_for(action, view.state, user.role)
            if transition.needs_note and not note.strip():
                raise ValidationError(
                    N_("Action '{action}' needs a note (the reason)"), action=action.value
                )
            if not dated_after_receipt(moment, view):
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
            k: v
            for k, v in details.items()
            if k in ("to", "postal_address", "order_number", "missing")  # missing: form 02
        }
        if action in WAIT_ENDS:
            extra.update(self._after_wait(view, action, moment))
            if action is Action.PAY and details.get("payment_method"):
                extra["payment_method"] = str(details["payment_method"])
        elif action is Action.REAPPOINT:
            extra.update(_reappointment(view, moment, details))
        elif action is Action.REGISTER_POSTAL and not (
            details.get("postal_address") or view.postal_address
        ):
            raise ValidationError(N_("A postal return needs the postal address"))
        return extra

    def _after_wait(self, view: DossierView, action: Action, moment: datetime) -> dict[str, Any]:
        """The end of a wait for the citizen (status 5 or 6): both appointments move by the
        time the citizen took, and the explanation says how."""
        received = parse_moment(view.received_at)
        try:
            resumed = resume_after_wait(
                self.branch.calendar(),
                self._unit(view),
                due=parse_moment(view.due_at),
                deadline=parse_moment(view.deadline),
                nominal=_promised_day(view, received),
                paused_from=parse_moment(view.paused_since) if view.paused_since else moment,
                resumed_at=moment,
                wait=Wait.SUPPLEMENT if action is Action.SUPPLEMENT else Wait.PAYMENT,
            )
        except OverflowError:  # a record folded before the fold bounded its moments
            raise ValidationError(
                N_("The dossier's appointment lies out of the calendar's range: it cannot move")
            ) from None
        moved: dict[str, Any] = {
            "due_at": iso(capped(resumed.due_at, moment, parse_moment(view.due_at))),
            "deadline_at": iso(capped(resumed.deadline_at, moment, parse_moment(view.deadline))),
            "due_steps": [s.as_dict() for s in resumed.steps],
        }
        if resumed.nominal is not None:
            # Never before the receipt: every fold sets aside a step whose appointment
            # is (``step_moments``), and a hostile desk's record may lead there.
            moved["nominal_at"] = iso(capped(max(resumed.nominal, received), moment))
        return moved

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


def _promised_day(view: DossierView, received: datetime) -> datetime | None:
    """The promised day a wait's end counts from (calendar days), if the record holds one
    a desk could have computed: it comes after the receipt. One before it (a hostile desk
    of the branch put it there, within the fold's day of slack) is not counted from: the
    end would land before the receipt, and every desk would set the honest step aside."""
    nominal = view.extra.get(NOMINAL)
    promised = parse_moment(str(nominal)) if nominal else None
    return promised if promised is not None and promised >= received else None


def _reappointment(
    view: DossierView, moment: datetime, details: Mapping[str, Any]
) -> dict[str, Any]:
    """A new appointment (form 04): checked by its rules, explained on the dossier."""
    new_due = parse_moment(str(details.get("due_at", "")))
    check_entry_appointment(new_due, moment)
    repeat_reason = str(details.get("repeat_reason", "")).strip()
    check_reappointment(view, moment, new_due, repeat_reason)
    steps = reappointment_steps(
        moment, new_due, parse_moment(view.due_at), second=view.reappointments >= 1
    )
    extra: dict[str, Any] = {
        "due_at": iso(new_due),
        "previous_due_at": view.due_at,
        "due_steps": [s.as_dict() for s in steps],
    }
    if repeat_reason:
        extra["repeat_reason"] = repeat_reason
    return extra


def _fees(procedure: Procedure, intake: Intake) -> dict[str, Any]:
    """The fees frozen on the receipt (``core.services.fees``)."""
    from .fees import receipt_fields

    basis = FeeBasis(
        intake.channel, intake.fee_copies, tuple(intake.fee_pages), intake.fee_exemption
    )
    return receipt_fields(procedure, basis)


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


def _intake_dossier(conn: Connection, key: str) -> DossierView | None:
    """The dossier an intake form with this key already recorded, if any."""
    if not key:
        return None
    row = raw(conn).execute(_INTAKE_DOSSIER, (key,)).fetchone()
    return projection.load_view(conn, row[0]) if row else None


def _check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValidationError(N_("Unknown {what}: {value}"), what=what, value=value)
