"""Online dossiers (national status 1): imported from the national portal's JSON, then
received or refused by an officer, and counted in the online channel (docs/forms.md).

The file is one dossier object or a list of them, with the portal's field names:

- ``MaHoSo`` (the portal's dossier code), ``MaTTHC`` (national procedure code, or the
  catalogue's own code), ``NgayNopHoSo`` (``yyyyMMddHHmmss`` or ISO 8601, Vietnam time);
- ``ChuHoSo``, ``SoGiayToChuHoSo``, ``NgaySinhChuHoSo`` (optional, ``yyyy-mm-dd``),
  ``DiaChiThuongTruChuHoSo``, ``SoDienThoaiChuHoSo``, ``EmailChuHoSo``;
- ``TaiLieuNop``: ``[{"MaThanhPhanHoSo": key, "TenTepDinhKem": file name}, ...]``;
- ``HinhThucNhanKetQua`` (0 at the counter, 1 by post), ``DiaChiNhanKetQua``;
- ``DuocThanhToanTrucTuyen`` (1: fees paid online).

Importing records a ``dossier.submitted_online`` event (status 1). Importing the same
``MaHoSo`` again returns the dossier already recorded. Receiving records ``dossier.receive``
with the whole record as received: the appointment and the fees are computed then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from core.domain.applicant import applicant_from
from core.domain.catalogue import Procedure
from core.domain.dossier import DossierView
from core.domain.due import compute_due
from core.domain.errors import N_, IncompleteDossier, NotFoundError, ValidationError
from core.domain.events import EventType
from core.domain.fees import FeeBasis
from core.domain.ids import new_uuid7
from core.domain.lookup import new_lookup_token
from core.domain.step_moments import (
    check_entry_moment,
    check_imported_moment,
    dated_after_receipt,
)
from core.domain.timeutil import iso, parse_moment, to_vietnam
from core.domain.workflow import Action, Role, transition_for
from core.storage import projection
from core.storage.db import raw

from .changes import Changes
from .fees import receipt_fields
from .users import User

if TYPE_CHECKING:
    from .branch import Branch

SUBMITTED = "dossier.submitted_online"
_KNOWN = "SELECT dossier_id FROM intake_keys WHERE key = ?"
_REMEMBER = "INSERT INTO intake_keys (key, dossier_id, at) VALUES (?, ?, ?)"
_APPLICANT = {
    "full_name": "ChuHoSo",
    "id_number": "SoGiayToChuHoSo",
    "date_of_birth": "NgaySinhChuHoSo",
    "address": "DiaChiThuongTruChuHoSo",
    "phone": "SoDienThoaiChuHoSo",
    "email": "EmailChuHoSo",
}


def portal_moment(text: str) -> datetime:
    """``20261202093000`` (the portal's form) or ISO 8601; Vietnam time when bare."""
    text = text.strip()
    if len(text) == 14 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:]}"
    return parse_moment(text)


def dossiers_in(doc: Any) -> list[Mapping[str, Any]]:
    items = doc if isinstance(doc, list) else [doc]
    if not items or not all(isinstance(item, Mapping) for item in items):
        raise ValidationError(N_("An online dossier file holds one dossier object or a list"))
    return items


class OnlineService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    # --- import ----------------------------------------------------------------------
    def import_dossiers(self, user: User, doc: Any) -> tuple[list[DossierView], Changes]:
        """Record each dossier of the file (status 1); all or nothing."""
        user.require(Role.OFFICER)
        drafts = [self._draft(item) for item in dossiers_in(doc)]

        def work(conn: Connection) -> tuple[list[DossierView], int]:
            views: list[DossierView] = []
            added = 0
            for key, payload in drafts:
                known = raw(conn).execute(_KNOWN, (key,)).fetchone()
                earlier = projection.load_view(conn, known[0]) if known else None
                if earlier is not None:
                    views.append(earlier)
                    continue
                views.append(self._record(conn, user, key, dict(payload)))
                added += 1
            return views, added

        views, added = self.branch.store.write(work)
        return views, Changes(dossiers=frozenset(v.id for v in views), events_added=added)

    def _draft(self, item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        portal_code = _text(item, "MaHoSo")
        procedure = self._procedure(_text(item, "MaTTHC"))
        submitted = portal_moment(_text(item, "NgayNopHoSo"))
        check_imported_moment(submitted, to_vietnam(self.branch.clock()))
        applicant = applicant_from(
            {k: item.get(v, "") for k, v in _APPLICANT.items()}, submitted.date()
        )
        keys = {str(d.get("MaThanhPhanHoSo", "")) for d in item.get("TaiLieuNop") or []}
        by_post = str(item.get("HinhThucNhanKetQua", "0")) == "1"
        address = str(item.get("DiaChiNhanKetQua") or "").strip()
        if by_post and not address:
            raise ValidationError(N_("A postal return needs the postal address"))
        payload = {
            "at": iso(submitted),
            "procedure": _procedure_ref(procedure),
            "applicant": applicant.as_dict(),
            "channel": "online",
            "components": [_entry(c, c.key in keys) for c in procedure.components],
            "return_method": "postal" if by_post else "counter",
            "postal_address": address,
            "due": self._due(procedure, submitted).as_dict(),
            "lookup_token": new_lookup_token(),
            "fees_paid_online": str(item.get("DuocThanhToanTrucTuyen", "0")) == "1",
            "portal_code": portal_code,
            **receipt_fields(procedure, FeeBasis(channel="online")),
        }
        return f"portal:{portal_code}", payload

    def _record(
        self, conn: Connection, user: User, key: str, payload: dict[str, Any]
    ) -> DossierView:
        submitted = parse_moment(payload["at"])
        payload["code"] = self.branch.dossiers._next_code(conn, submitted.date())
        dossier_id = new_uuid7()
        _event, view = self.branch.append(conn, dossier_id, user.username, SUBMITTED, payload)
        raw(conn).execute(_REMEMBER, (key, dossier_id, payload["at"]))
        assert view is not None
        return view

    def _procedure(self, code: str) -> Procedure:
        procedures = self.branch.procedures()
        for p in procedures.values():
            if code in (p.national_code, p.code):
                return p
        raise NotFoundError(N_("No procedure with code {code} in the catalogue"), code=code)

    def _due(self, procedure: Procedure, moment: datetime) -> Any:
        return compute_due(
            self.branch.calendar(),
            moment,
            procedure.processing_time,
            procedure.processing_unit,
            procedure.cutoff,
        )

    # --- receiving -------------------------------------------------------------------
    def receive(
        self, user: User, code: str, at: datetime | None = None, override_incomplete: str = ""
    ) -> tuple[DossierView, Changes]:
        """An officer receives an online dossier: the appointment counts from now."""
        now = to_vietnam(self.branch.clock())
        moment = to_vietnam(at or now)
        check_entry_moment(moment, now)

        def work(conn: Connection) -> DossierView:
            view = self.branch.dossiers._require(conn, code)
            transition_for(Action.RECEIVE, view.state, user.role)
            if not dated_after_receipt(moment, view):
                raise ValidationError(
                    N_("An online dossier cannot be received before it was submitted")
                )
            procedure = self._pinned(view)
            missing = [c["name"] for c in view.components if c["mandatory"] and not c["supplied"]]
            if missing and not override_incomplete.strip():
                raise IncompleteDossier(missing, view.procedure_code)
            payload = self._receipt(view, procedure, moment, override_incomplete.strip())
            _event, new_view = self.branch.append(
                conn, view.id, user.username, EventType.for_action("receive"), payload, view.heads
            )
            assert new_view is not None
            return new_view

        view = self.branch.store.write(work)
        return view, Changes(dossiers=frozenset({view.id}), events_added=1)

    def _pinned(self, view: DossierView) -> Procedure:
        procedure = self.branch.procedures().get(view.procedure_code)
        if procedure is None:
            raise NotFoundError(
                N_("No procedure with code {code} in the catalogue"), code=view.procedure_code
            )
        return procedure

    def _receipt(
        self, view: DossierView, procedure: Procedure, moment: datetime, override: str
    ) -> dict[str, Any]:
        first = self.branch.dossiers.events(view.code)[0].payload
        return {
            **first,
            "at": iso(moment),
            "procedure": _procedure_ref(procedure),
            "applicant": dict(view.applicant),
            "return_method": view.return_method,
            "postal_address": view.postal_address,
            "due": self._due(procedure, moment).as_dict(),
            "override_incomplete": override,
            **receipt_fields(procedure, FeeBasis(channel="online")),
        }


def _procedure_ref(p: Procedure) -> dict[str, Any]:
    return {
        "code": p.code,
        "version": p.version,
        "name": p.name,
        "field": p.field.value,
        "unit": p.processing_unit.value,
    }


def _entry(c: Any, supplied: bool) -> dict[str, Any]:
    return {
        "key": c.key,
        "name": c.name,
        "mandatory": c.mandatory,
        "supplied": supplied,
        "originals": c.originals,
        "certified_copies": c.certified_copies,
        "copies": c.copies,
    }


def _text(item: Mapping[str, Any], name: str) -> str:
    value = str(item.get(name) or "").strip()
    if not value:
        raise ValidationError(N_("The online dossier has no {field}"), field=name)
    return value
