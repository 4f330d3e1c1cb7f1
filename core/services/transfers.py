"""Transfers between units, as the clerks take them (``core.domain.transfers``).

Sending unit: ``send_out`` (the dossier goes away), later ``take_back`` of the reply.
Receiving unit: ``accept`` of an offer (its own dossier starts), processing as usual, then
``send_back``. Offers and replies arrive through the sync agent (``store_messages``) and
are checked there before they are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from core.domain import authority, transfers
from core.domain.dossier import RESULT_COMPONENT, DossierView
from core.domain.errors import N_, NotFoundError, ValidationError
from core.domain.events import Event, EventType
from core.domain.ids import new_uuid7
from core.domain.step_moments import dated_after_receipt
from core.domain.timeutil import iso, to_vietnam
from core.domain.workflow import Action, Role, State, transition_for
from core.storage import event_store, projection, replication
from core.storage import schema as t
from core.sync.blobs import referenced_blobs

from .branch import centre_key
from .changes import Changes
from .users import User

if TYPE_CHECKING:
    from .branch import Branch

_KINDS = {"offer": transfers.SEND_OUT, "reply": transfers.SEND_BACK}
_UNIT = re.compile(r"^[A-Z0-9][A-Z0-9.]{0,30}$")


@dataclass(frozen=True)
class TransferMessage:
    """An offer or a reply another unit sent here, as a list shows it."""

    event_id: str
    kind: str  # "offer" | "reply"
    from_branch: str
    code: str
    dossier_id: str  # the dossier at the unit it came from
    received_at: str
    taken: bool  # accepted (offer) or taken back (reply) on some desk of this branch
    summary: dict[str, Any]


class TransferService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    # --- the sending unit -----------------------------------------------------------
    def send_out(
        self, user: User, code: str, to_unit: str, return_at: str = "origin", note: str = ""
    ) -> tuple[DossierView, Changes]:
        """Send the dossier to unit `to_unit` for processing; it comes back here for the
        result (`return_at` ``origin``) or is returned there (``destination``)."""
        unit = to_unit.strip().upper()
        if not _UNIT.fullmatch(unit) or unit == self.branch.branch_code:
            raise ValidationError(N_("{unit} is not another unit's code"), unit=to_unit)
        if return_at not in ("origin", "destination"):
            raise ValidationError(N_("The result is returned at 'origin' or 'destination'"))
        self._require_centre()

        def details(view: DossierView, moment: datetime) -> dict[str, Any]:
            return {
                "to_branch": unit,
                "return_at": return_at,
                "snapshot": transfers.snapshot(view),
            }

        return self._step(user, code, Action.SEND_OUT, note, details)

    def take_back(self, user: User, event_id: str, note: str = "") -> tuple[DossierView, Changes]:
        """Take back a dossier the other unit sent back (its reply), with its outcome."""
        message = self._message(event_id, "reply")
        reply = message["message"]
        code = str(reply["payload"].get("origin_code", "")) or self._code_of(
            str(reply["payload"]["origin_dossier"])
        )

        def details(view: DossierView, moment: datetime) -> dict[str, Any]:
            away = view.extra.get("transfer", {})
            if view.id != reply["payload"]["origin_dossier"] or away.get("to") != reply["branch"]:
                raise ValidationError(
                    N_("This reply is about dossier {code} as it was sent elsewhere"), code=code
                )
            return {"reply": reply, "enrolment": message["enrolment"]}

        return self._step(user, code, Action.TAKE_BACK, note, details)

    # --- the receiving unit ---------------------------------------------------------
    def accept(self, user: User, event_id: str) -> tuple[DossierView, Changes]:
        """Accept an offer: this unit's own dossier starts from it, same code and
        appointment. An offer accepted already (on any desk of the unit) is refused."""
        message = self._message(event_id, "offer")
        if message["taken"]:
            raise ValidationError(N_("This transfer was accepted already"))
        user.require(Role.OFFICER)
        moment = to_vietnam(self.branch.clock())
        payload = {
            "at": iso(moment),
            "offer": message["message"],
            "enrolment": message["enrolment"],
        }
        dossier_id = new_uuid7()

        def work(conn: Connection) -> DossierView:
            _event, view = self.branch.append(
                conn, dossier_id, user.username, transfers.TRANSFER_IN, payload
            )
            assert view is not None
            _want_scans(conn, payload)
            return view

        view = self.branch.store.write(work)
        return view, Changes(dossiers=frozenset({view.id}), events_added=1)

    def send_back(self, user: User, code: str, note: str = "") -> tuple[DossierView, Changes]:
        """Send a transferred-in dossier back to the unit it came from, with its outcome
        (finished, stopped, returned to the citizen here, or declined unprocessed) and the
        electronic result files attached here."""

        def details(view: DossierView, moment: datetime) -> dict[str, Any]:
            came = view.extra.get("transfer", {})
            if not came.get("from"):
                raise ValidationError(
                    N_("Dossier {code} was not sent here by another unit"), code=view.code
                )
            if view.state is State.RECEIVED and not note.strip():
                raise ValidationError(N_("Sending back unprocessed needs a note (the reason)"))
            return {
                "to_branch": came["from"],
                "origin_dossier": came["origin_dossier"],
                "origin_code": view.code,
                "outcome": transfers.OUTCOMES[view.state],
                "end_at": view.end_at or None,
                "returned_at": view.returned_at or None,
                "result_files": self._result_files(view.id),
            }

        return self._step(user, code, Action.SEND_BACK, note, details)

    # --- messages -------------------------------------------------------------------
    def messages(self, pending: bool = True) -> list[TransferMessage]:
        """The offers and replies other units sent here, newest first (`pending`: those no
        desk of this unit has accepted or taken back yet)."""
        with self.branch.store.read() as conn:
            taken = _taken(conn)
            rows = conn.execute(
                select(t.transfer_messages).order_by(t.transfer_messages.c.received_at.desc())
            ).all()
        found = [_listed(row, row.event_id in taken) for row in rows]
        return [m for m in found if not (pending and m.taken)]

    def _message(self, event_id: str, kind: str) -> dict[str, Any]:
        with self.branch.store.read() as conn:
            row = conn.execute(
                select(t.transfer_messages).where(t.transfer_messages.c.event_id == event_id)
            ).first()
            taken = event_id in _taken(conn)
        if row is None or row.kind != kind:
            raise NotFoundError(N_("No message {id} from another unit"), id=event_id)
        return {
            "message": json.loads(row.message),
            "enrolment": json.loads(row.enrolment),
            "taken": taken,
        }

    # --- helpers --------------------------------------------------------------------
    def _require_centre(self) -> None:
        with self.branch.store.read() as conn:
            if centre_key(conn, self.branch.branch_code) is None:
                raise ValidationError(
                    N_("Transfers between units go through the centre: enrol this desk first")
                )

    def _code_of(self, dossier_id: str) -> str:
        with self.branch.store.read() as conn:
            view = projection.load_view(conn, dossier_id)
        if view is None:
            raise NotFoundError(N_("No dossier {id} here"), id=dossier_id)
        return view.code

    def _result_files(self, dossier_id: str) -> list[dict[str, Any]]:
        with self.branch.store.read() as conn:
            events = event_store.dossier_events(conn, dossier_id)
        return [
            dict(e.payload["file"])
            for e in events
            if e.type == EventType.ATTACH and e.payload.get("component") == RESULT_COMPONENT
        ]

    def _step(
        self,
        user: User,
        code: str,
        action: Action,
        note: str,
        details: Callable[[DossierView, datetime], dict[str, Any]],
    ) -> tuple[DossierView, Changes]:
        moment = to_vietnam(self.branch.clock())

        def work(conn: Connection) -> DossierView:
            view = self.branch.dossiers._require(conn, code)
            transition_for(action, view.state, user.role)
            if not dated_after_receipt(moment, view):
                raise ValidationError(
                    N_("The action cannot be dated before the dossier was received")
                )
            payload = {"at": iso(moment), "note": note.strip(), **details(view, moment)}
            _event, new_view = self.branch.append(
                conn,
                view.id,
                user.username,
                EventType.for_action(action.value),
                payload,
                view.heads,
            )
            assert new_view is not None
            if action is Action.TAKE_BACK:
                _want_scans(conn, payload)  # the other unit's result files
            return new_view

        view = self.branch.store.write(work)
        return view, Changes(dossiers=frozenset({view.id}), events_added=1)


def _want_scans(conn: Connection, payload: Mapping[str, Any]) -> None:
    """The scans another unit's message names: fetched from the centre, or from that unit's
    desks on the LAN (its author uploads them; this desk never does)."""
    for sha256 in referenced_blobs(payload):
        replication.add_blob(conn, sha256, 0, present=False, durable=True)


# --- arrivals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    kept: int
    refused: list[tuple[str, str]]  # (event id, why), each named to the user


def keep_messages(
    conn: Connection, branch_code: str, items: Iterable[Any], received_at: str
) -> Arrival:
    """Check and keep, in the caller's transaction, the offers and replies the centre
    handed this desk: each must be the other unit's own signed event, vouched for by the
    centre's enrolment and addressed to this unit. A refused one is named, never kept, and
    never stops the others."""
    centre = centre_key(conn, branch_code)
    kept = 0
    refused: list[tuple[str, str]] = []
    for item in items:
        try:
            event = _checked(item, centre, branch_code)
        except (authority.AuthorityRefused, authority.MalformedEvent) as err:
            refused.append((str(item.message.get("event_id", "?")), err.render(err.message)))
            continue
        kept += _keep(conn, item, event, received_at)
    return Arrival(kept, refused)


def _checked(item: Any, centre: str | None, branch_code: str) -> Event:
    if centre is None:
        raise authority.AuthorityRefused(
            transfers.RULE, N_("This desk is not enrolled: it cannot check another unit's message")
        )
    expected = _KINDS.get(item.kind, "")
    return transfers.verify_message(item.message, item.enrolment, centre, expected, branch_code)


def _keep(conn: Connection, item: Any, event: Event, received_at: str) -> int:
    known = conn.execute(
        select(t.transfer_messages.c.event_id).where(
            t.transfer_messages.c.event_id == event.event_id
        )
    ).first()
    if known is not None:
        return 0
    p = event.payload
    dossier_id = str(p.get("origin_dossier") or event.dossier_id)
    code = str(p["snapshot"]["code"] if "snapshot" in p else p.get("origin_code", ""))
    conn.execute(
        insert(t.transfer_messages).values(
            event_id=event.event_id,
            kind=item.kind,
            from_branch=event.branch,
            dossier_id=dossier_id,
            code=code,
            message=json.dumps(item.message, ensure_ascii=False),
            enrolment=json.dumps(item.enrolment, ensure_ascii=False),
            received_at=received_at,
        )
    )
    return 1


def _taken(conn: Connection) -> set[str]:
    """The messages some desk of this unit has acted on (its events carry them)."""
    rows = conn.execute(
        select(t.events.c.payload).where(
            t.events.c.type.in_((transfers.TRANSFER_IN, transfers.TAKE_BACK))
        )
    )
    found: set[str] = set()
    for row in rows:
        payload = json.loads(row.payload)
        carried = payload.get("offer") or payload.get("reply") or {}
        found.add(str(carried.get("event_id", "")))
    return found


def _listed(row: Any, taken: bool) -> TransferMessage:
    message = json.loads(row.message)
    p = message.get("payload", {})
    snap = p.get("snapshot", {})
    summary = {
        "procedure": snap.get("procedure", {}).get("name", ""),
        "applicant": snap.get("applicant", {}).get("full_name", ""),
        "due_at": snap.get("due_at", ""),
        "outcome": p.get("outcome", ""),
        "return_at": p.get("return_at", ""),
        "note": p.get("note", ""),
        "actor": message.get("actor", ""),
    }
    return TransferMessage(
        row.event_id,
        row.kind,
        row.from_branch,
        row.code,
        row.dossier_id,
        row.received_at,
        taken,
        summary,
    )
