"""The national forms of a dossier (01–06) and the tracking book (07), filled from the
record and its events (docs/forms.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.documents.forms import (
    Apology,
    Applicant,
    BookEntry,
    ComponentRow,
    ControlSlip,
    FeeRow,
    HandOver,
    ReceiptSlip,
    Refusal,
    ReturnMethod,
    StepResult,
    StopNotice,
    SupplementRequest,
    TrackingBook,
    Unit,
    book_numbers,
    book_xlsx,
    render_form,
)
from core.domain.catalogue import ProcessingUnit
from core.domain.dossier import DossierView, Handover
from core.domain.errors import N_, TransitionRefused, ValidationError
from core.domain.events import EventType
from core.domain.lookup import SlipLookup, lookup_base, lookup_link
from core.domain.timeutil import parse_moment, to_vietnam
from core.domain.workflow import Role, State
from core.storage import projection
from core.storage import schema as t

from .changes import Changes
from .users import User

if TYPE_CHECKING:
    from .branch import Branch

FORMS = ("01", "02", "03", "04", "05", "06")
FormData = ReceiptSlip | SupplementRequest | Refusal | Apology | StopNotice | ControlSlip
_UNIT_WORDS = {
    ProcessingUnit.WORKING_DAYS: "ngày làm việc",
    ProcessingUnit.WORKING_HOURS: "giờ làm việc",
    ProcessingUnit.CALENDAR_DAYS: "ngày",
}
# "Số: {sequence}/{suffix}" of each form (form 01 carries the sequence alone).
SUFFIX = {"02": "PYCBS", "03": "PTC", "04": "PXL", "05": "TB-DXL", "06": "PKS"}
# Branch settings (``branch.setting_set``) the forms read; ``phone.<username>`` too.
UNIT_SETTINGS = {
    "parent": "forms.parent",  # the parent body: "UBND tỉnh Thái Nguyên"
    "name": "forms.unit_name",  # the centre or branch, when not the branch's name
    "place": "forms.place",  # the place on the date line: "Tân Lập"
    "hotline": "forms.hotline",
    "phone": "forms.phone",  # the counter's phone, when an officer has none
    # The centre's public address: form 01's QR links to its lookup page (none: MC1 text).
    "lookup_url": "forms.lookup_url",
}
CITIZEN = "Tổ chức, cá nhân"
_NOT_RECEIVED = (State.REFUSED, State.SUBMITTED)
_TO_CITIZEN = ("return", "deliver", "request-supplement", "request-payment")
_FROM_CITIZEN = ("supplement", "pay")
# Not hand-overs: the receipt is the first row; a re-appointment is a letter (form 04).
_NOT_HANDOVERS = ("receive", "resolve", "reappoint")


def slip_qr(view: DossierView, settings: dict[str, str]) -> str:
    """What form 01's QR carries: a link to the public lookup page when the branch has a
    public address, else the slip's ``MC1|code|token`` for the kiosk and the counters."""
    base = settings.get(UNIT_SETTINGS["lookup_url"], "")
    if base:
        return lookup_link(base, view.code)
    return SlipLookup(view.code, view.lookup_token).payload()


def _unit_setting(key: str, value: str) -> dict[str, str]:
    name = UNIT_SETTINGS.get(key) or (key if key.startswith("phone.") else "")
    if not name:
        raise ValidationError(N_("Unknown form setting: {name}"), name=key)
    text = lookup_base(value) if key == "lookup_url" else value.strip()
    return {"name": name, "value": text}


def processing_time_text(amount: int, unit: ProcessingUnit) -> str:
    """As procedures state it: "03 ngày làm việc", or "Trong ngày làm việc"."""
    if unit is ProcessingUnit.WITHIN_DAY:
        return "Trong ngày làm việc"
    return f"{amount:02d} {_UNIT_WORDS[unit]}"


class SlipService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    def render(self, code: str, form: str) -> bytes:
        """The form as PDF/A bytes; refused when the dossier has no such step to print."""
        if form not in FORMS:
            raise ValidationError(
                N_("Unknown form {form}; choose 01, 02, 03, 04, 05 or 06"), form=form
            )
        view = self.branch.dossiers.get(code)
        builder: dict[str, Callable[[DossierView], FormData]] = {
            "01": self.receipt,
            "02": self.supplement,
            "03": self.refusal,
            "04": self.apology,
            "05": self.stop,
            "06": self.control,
        }
        return render_form(form, builder[form](view))

    # --- the unit, its settings ------------------------------------------------------
    def settings(self) -> dict[str, str]:
        """The branch's settings, the latest of each name in clock order."""
        query = (
            select(t.events.c.payload)
            .where(t.events.c.type == EventType.SETTING)
            .order_by(t.events.c.hlc, t.events.c.event_id)
        )
        with self.branch.store.read() as conn:
            payloads = [json.loads(row.payload) for row in conn.execute(query)]
        return {str(p["name"]): str(p["value"]) for p in payloads}

    def set_unit(self, user: User, **values: str) -> Changes:
        """Set the agency block, place, hotline, phones or public lookup address the forms
        print (a branch admin). Keys: those of ``UNIT_SETTINGS``, or ``phone.<username>``.
        Every value is checked before any is recorded."""
        user.require(Role.ADMIN)
        payloads = [_unit_setting(key, value) for key, value in values.items()]
        changes = Changes()
        for payload in payloads:
            changes = self.branch.record(
                None, user.username, EventType.SETTING, payload, user.signer
            )
        return changes

    def _unit(self, settings: dict[str, str] | None = None) -> Unit:
        s = self.settings() if settings is None else settings
        return Unit(
            name=s.get(UNIT_SETTINGS["name"]) or self.branch.branch_name,
            parent=s.get(UNIT_SETTINGS["parent"], ""),
            place=s.get(UNIT_SETTINGS["place"], ""),
        )

    def _names(self) -> dict[str, str]:
        with self.branch.store.read() as conn:
            rows = conn.execute(select(t.users.c.username, t.users.c.full_name))
            return {r.username: r.full_name or r.username for r in rows}

    def _counter_staff(self) -> set[str]:
        """Users who work at the one-stop counter (the others sit in the deciding agency)."""
        with self.branch.store.read() as conn:
            rows = conn.execute(select(t.users.c.username).where(t.users.c.role == "officer"))
            return {r.username for r in rows}

    def _applicant(self, view: DossierView) -> Applicant:
        a = view.applicant
        return Applicant(
            a["full_name"], a.get("address", ""), a.get("phone", ""), a.get("email", "")
        )

    def _last(self, view: DossierView, action: str) -> Handover:
        rows = [h for h in view.handovers if h.action == action]
        if not rows:
            raise TransitionRefused(
                N_("Dossier {code} has no '{action}' step to print"), code=view.code, action=action
            )
        return rows[-1]

    def _received(self, view: DossierView) -> None:
        if view.state in _NOT_RECEIVED:
            raise TransitionRefused(
                N_("Dossier {code} was not received: it has no receipt to print"), code=view.code
            )

    def _number(self, view: DossierView, form: str) -> str:
        book, sequence = book_numbers(view.code, parse_moment(view.received_at))
        return f"{sequence}/{book}/{SUFFIX[form]}" if form in SUFFIX else f"{sequence}/{book}"

    def _national_code(self, view: DossierView) -> str:
        procedure = self.branch.procedures().get(view.procedure_code)
        return procedure.national_code if procedure else ""

    def _receipt_payload(self, view: DossierView) -> dict[str, Any]:
        kinds = (EventType.for_action("receive"),)
        events = [e for e in self.branch.dossiers.events(view.code) if e.type in kinds]
        return dict(events[-1].payload) if events else {}

    # --- the forms ---------------------------------------------------------------------
    def receipt(self, view: DossierView) -> ReceiptSlip:
        """Form 01, only for a dossier received (never one refused or still online)."""
        self._received(view)
        procedure = self.branch.procedures().get(view.procedure_code)
        unit = ProcessingUnit(view.extra.get("unit", ProcessingUnit.WORKING_DAYS.value))
        settings = self.settings()
        rows = tuple(
            ComponentRow(c["name"], c["originals"], c["certified_copies"], c["copies"])
            for c in view.components
            if c.get("supplied", True)
        )
        received = parse_moment(view.received_at)
        book, sequence = book_numbers(view.code, received)
        fees = tuple(
            FeeRow(str(f["name"]), int(f["amount_vnd"]), str(f.get("detail", "")))
            for f in self._receipt_payload(view).get("fees", [])
        )
        return ReceiptSlip(
            unit=self._unit(settings),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            components=rows,
            sets=procedure.sets if procedure else 1,
            processing_time=processing_time_text(procedure.processing_time, unit)
            if procedure
            else "",
            received_at=received,
            due_at=parse_moment(view.due_original),
            officer=self._names().get(view.received_by, view.received_by),
            qr_payload=slip_qr(view, settings),
            return_method=ReturnMethod(view.return_method),
            postal_address=view.postal_address,
            tracking_book=book,
            tracking_number=sequence,
            hotline=settings.get(UNIT_SETTINGS["hotline"], ""),
            fee_vnd=view.fees_vnd,
            fees=fees,
            national_code=procedure.national_code if procedure else "",
        )

    def supplement(self, view: DossierView) -> SupplementRequest:
        """Form 02: only the mandatory components missing (or those the request names),
        with the contact officer's name and phone."""
        step = self._last(view, "request-supplement")
        settings = self.settings()
        names = self._names()
        named = set(self._step_payload(view, step).get("missing") or ())
        missing = tuple(
            ComponentRow(c["name"], c["originals"], c["certified_copies"], c["copies"])
            for c in view.components
            if c["key"] in named or (c.get("mandatory") and not c.get("supplied", True))
        )
        officer = names.get(step.giver, step.giver)
        phone = settings.get(f"phone.{step.giver}") or settings.get(UNIT_SETTINGS["phone"], "")
        return SupplementRequest(
            unit=self._unit(settings),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            missing=missing,
            reasons=(step.note,),
            officer=officer,
            contact_officer=officer,
            contact_phone=phone,
            issued_at=parse_moment(step.at),
            number=self._number(view, "02"),
        )

    def _step_payload(self, view: DossierView, step: Handover) -> dict[str, Any]:
        kind = EventType.for_action(step.action)
        for event in reversed(self.branch.dossiers.events(view.code)):
            if event.type == kind and event.payload.get("at") == step.at:
                return dict(event.payload)
        return {}

    def refusal(self, view: DossierView) -> Refusal:
        step = self._last(view, "refuse")
        return Refusal(
            unit=self._unit(),
            applicant=self._applicant(view),
            request=view.procedure_name,
            reasons=(step.note,),
            officer=self._names().get(step.giver, step.giver),
            issued_at=parse_moment(step.at),
            dossier_code=view.code,
            number=self._number(view, "03"),
        )

    def apology(self, view: DossierView) -> Apology:
        step = self._last(view, "reappoint")
        previous = self._previous_due(view, step.at)
        return Apology(
            unit=self._unit(),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            received_at=parse_moment(view.received_at),
            due_at=previous,
            new_due_at=parse_moment(view.due_at),
            reasons=(step.note,),
            signer=self._names().get(step.giver, step.giver),
            issued_at=parse_moment(step.at),
            number=self._number(view, "04"),
        )

    def stop(self, view: DossierView) -> StopNotice:
        """Form 05: the notice of stopped processing (status 8)."""
        step = self._last(view, "stop")
        return StopNotice(
            unit=self._unit(),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            received_at=parse_moment(view.received_at),
            reasons=(step.note,),
            signer=self._names().get(step.giver, step.giver),
            issued_at=parse_moment(step.at),
            withdrawn_at=parse_moment(view.withdrawn_at) if view.withdrawn_at else None,
            number=self._number(view, "05"),
            national_code=self._national_code(view),
        )

    def _previous_due(self, view: DossierView, at: str) -> datetime:
        for event in reversed(self.branch.dossiers.events(view.code)):
            if event.type == "dossier.reappoint" and event.payload.get("at") == at:
                return parse_moment(str(event.payload["previous_due_at"]))
        return parse_moment(view.due_original)

    def control(self, view: DossierView) -> ControlSlip:
        """Form 06: the receipt, then one row per hand-over with its giver and receiver,
        each judged against the deadline; the return to the citizen is the last row."""
        self._received(view)
        procedure = self.branch.procedures().get(view.procedure_code)
        agency = procedure.agency if procedure else ""
        return ControlSlip(
            unit=self._unit(),
            dossier_code=view.code,
            applicant=self._applicant(view),
            request=view.procedure_name,
            received_at=parse_moment(view.received_at),
            due_at=parse_moment(view.due_at),
            handling_agency=agency,
            rows=self.control_rows(view, agency),
            number=self._number(view, "06"),
            issued_at=parse_moment(view.received_at),
            deadline_at=parse_moment(view.deadline),
        )

    def control_rows(self, view: DossierView, agency: str) -> tuple[HandOver, ...]:
        names = self._names()
        counter = self._counter_staff()
        department = self._unit().department
        deadline = parse_moment(view.deadline)
        citizen = view.applicant["full_name"]

        def unit_of(user: str) -> str:
            return department if user in counter else agency

        received = parse_moment(view.received_at)
        rows = [
            HandOver(
                CITIZEN,
                department,
                received,
                citizen,
                names.get(view.received_by, view.received_by),
                _step_result(received, deadline),
                "Tiếp nhận hồ sơ",
            )
        ]
        steps = [h for h in view.handovers if h.action not in _NOT_HANDOVERS]
        for index, h in enumerate(steps):
            at = parse_moment(h.at)
            following = steps[index + 1].giver if index + 1 < len(steps) else view.holder
            if h.action in _FROM_CITIZEN:  # the citizen brings the papers to the officer
                rows.append(
                    HandOver(
                        CITIZEN,
                        unit_of(h.giver),
                        at,
                        citizen,
                        names.get(h.giver, h.giver),
                        _step_result(at, deadline),
                        h.note or _STEP_NOTES.get(h.action, ""),
                    )
                )
                continue
            to_citizen = h.action in _TO_CITIZEN
            receiver = h.receiver or ("" if to_citizen else following)
            rows.append(
                HandOver(
                    giver_unit=unit_of(h.giver),
                    receiver_unit=CITIZEN if to_citizen else unit_of(receiver),
                    at=at,
                    giver=names.get(h.giver, h.giver),
                    receiver=citizen if to_citizen else names.get(receiver, receiver),
                    result=_step_result(at, deadline),
                    note=h.note or _STEP_NOTES.get(h.action, ""),
                )
            )
        return tuple(rows)

    # --- the tracking book (form 07) -----------------------------------------------------
    def book(self, start: datetime, end: datetime) -> TrackingBook:
        """The dossiers received from ``start`` to ``end`` (status 3 and 1 excluded)."""
        if end < start:
            raise ValidationError(N_("The period ends before it starts"))
        low, high = to_vietnam(start).isoformat(), to_vietnam(end).isoformat()
        query = select(t.dossiers.c.doc).where(
            t.dossiers.c.received_at >= low[:19], t.dossiers.c.received_at <= high
        )
        with self.branch.store.read() as conn:
            views = [projection.view_from_json(row.doc) for row in conn.execute(query)]
        entries = [
            self._entry(v)
            for v in views
            if v.state not in _NOT_RECEIVED and low <= v.received_at <= high
        ]
        entries.sort(key=lambda e: (e.book, e.sequence, e.dossier_code))
        return TrackingBook(
            unit=self._unit(),
            period_from=to_vietnam(start),
            period_to=to_vietnam(end),
            entries=tuple(entries),
            issued_at=self.branch.clock(),
            dossier_code=f"{low[:10]} – {high[:10]}",
        )

    def render_book(self, start: datetime, end: datetime, kind: str = "pdf") -> bytes:
        book = self.book(start, end)
        if kind == "xlsx":
            return book_xlsx(book)
        if kind != "pdf":
            raise ValidationError(N_("Unknown {what}: {value}"), what=N_("format"), value=kind)
        return render_form("07", book)

    def _entry(self, view: DossierView) -> BookEntry:
        procedure = self.branch.procedures().get(view.procedure_code)
        received = parse_moment(view.received_at)
        book, sequence = book_numbers(view.code, received)
        a = view.applicant

        def first(*actions: str) -> datetime | None:
            rows = [h for h in view.handovers if h.action in actions]
            return parse_moment(rows[0].at) if rows else None

        return BookEntry(
            book=book,
            sequence=sequence,
            dossier_code=view.code,
            procedure=view.procedure_name,
            sets=procedure.sets if procedure else 1,
            applicant=a["full_name"],
            address=a.get("address", ""),
            phone=a.get("phone", ""),
            agency=procedure.agency if procedure else "",
            received_at=received,
            due_at=parse_moment(view.due_at),
            transferred_at=first("transfer"),
            result_at=first("finish"),
            returned_at=parse_moment(view.returned_at) if view.returned_at else None,
            note=_book_note(view),
            national_code=procedure.national_code if procedure else "",
        )


_STEP_NOTES = {
    "transfer": "Chuyển hồ sơ",
    "start": "Nhận xử lý",
    "submit": "Trình phê duyệt",
    "approve": "Phê duyệt",
    "finish": "Có kết quả",
    "return": "Trả kết quả",
    "register-postal": "Gửi qua bưu chính",
    "deliver": "Trả kết quả qua bưu chính",
    "supplement": "Bổ sung hồ sơ",
    "pay": "Thực hiện nghĩa vụ tài chính",
}


def _book_note(view: DossierView) -> str:
    notes = ["Trực tuyến" if view.channel == "online" else ""]
    if view.state is State.STOPPED:
        notes.append("Dừng xử lý, rút hồ sơ" if view.withdrawn else "Dừng xử lý")
    return "; ".join(filter(None, notes))


def _step_result(at: datetime, due: datetime) -> StepResult:
    if at > due:
        return StepResult.LATE
    return StepResult.EARLY if at.date() < due.date() else StepResult.ON_TIME
