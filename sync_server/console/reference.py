"""Reference data as the console shows and changes it: the procedure catalogue in force
(``cli_branch.in_force``), a proposed one checked and compared with it
(``core.services.catalogue_schema``), and the holiday calendar (national and per-branch
overrides, ``branch_admin``) with a preview of a due moment (``core.domain.due``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from core.domain.calendar import DayKind, Override, WorkCalendar
from core.domain.catalogue import Procedure
from core.domain.due import DueMoment, compute_due
from core.domain.errors import N_, ValidationError
from core.domain.signing import DeviceKey
from core.domain.timeutil import VIETNAM
from core.services import catalogue_schema
from core.services.catalogue import procedure_to_dict
from sync_server import branch_admin, identity
from sync_server import schema as t
from sync_server.cli_branch import in_force as _in_force

MAX_CATALOGUE = 4 << 20  # bytes of a catalogue document sent to the console


def in_force(engine: Engine) -> list[Procedure]:
    return _in_force(engine)


def in_force_json(engine: Engine) -> str:
    doc = {"procedures": [procedure_to_dict(p) for p in in_force(engine)]}
    return json.dumps(doc, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Change:
    code: str
    name: str
    fields: list[tuple[str, str, str]]  # field, in force, proposed (shortened)


@dataclass(frozen=True)
class Proposal:
    procedures: list[Procedure]
    added: list[str]
    removed: list[str]
    changed: list[Change]
    text: str  # what was sent, to publish it after the preview …
    mode: str  # … as a whole catalogue ("catalogue") or one procedure ("procedure")

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "…"


def _latest(procedures: list[Procedure]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for p in sorted(procedures, key=lambda p: (p.code, p.version)):
        found[p.code] = procedure_to_dict(p)
    return found


def _with_procedure(current: list[Procedure], doc: Any) -> dict[str, Any]:
    """The catalogue in force with one procedure added, or put in place of the one with
    its code and version."""
    if not isinstance(doc, dict) or not isinstance(doc.get("code"), str):
        raise ValidationError(N_("A procedure is a JSON object with its code"))
    entries = [
        procedure_to_dict(p)
        for p in current
        if (p.code, p.version) != (doc["code"], doc.get("version", 1))
    ]
    return {"procedures": [*entries, doc]}


def propose(engine: Engine, text: str, mode: str = "catalogue") -> Proposal:
    """A proposed catalogue — a whole one, or the one in force with one procedure added or
    edited — checked against its schema and compared with the one in force; a
    ValidationError says what is wrong with it."""
    if not text.strip():
        raise ValidationError(N_("Choose a catalogue file or paste its JSON"))
    try:
        doc = json.loads(text)
    except ValueError:
        raise ValidationError(N_("The catalogue is not valid JSON")) from None
    current = in_force(engine)
    if mode == "procedure":
        doc = _with_procedure(current, doc)
    proposed = catalogue_schema.validate(doc)
    changes = catalogue_schema.diff(current, proposed)
    old, new = _latest(current), _latest(proposed)
    changed = []
    for code in changes["changed"]:
        a, b = old.get(code, {}), new.get(code, {})
        fields = [(k, _short(a.get(k)), _short(b.get(k))) for k in sorted(a.keys() | b.keys())]
        changed.append(Change(code, str(b.get("name", code)), [f for f in fields if f[1] != f[2]]))
    return Proposal(proposed, changes["added"], changes["removed"], changed, text, mode)


def procedure_json(engine: Engine, code: str) -> str:
    """One procedure in force as JSON, to edit (its newest version); "" when unknown."""
    found = [p for p in in_force(engine) if p.code == code]
    if not found:
        return ""
    newest = max(found, key=lambda p: p.version)
    return json.dumps(procedure_to_dict(newest), ensure_ascii=False, indent=2)


def publish(
    engine: Engine, key: DeviceKey, text: str, allow_removals: bool, by: str, mode: str
) -> dict[str, Any]:
    proposal = propose(engine, text, mode)
    if proposal.empty:
        raise ValidationError(N_("The catalogue is the one in force: nothing to publish"))
    changes = {"added": proposal.added, "removed": proposal.removed}
    catalogue_schema.check_removals(changes, allow_removals)
    payload = {
        "procedures": [procedure_to_dict(p) for p in proposal.procedures],
        "by": by,
    }
    return identity.author_one(engine, key, t.GLOBAL_SCOPE, "catalogue.published", payload)


# --- the calendar ---------------------------------------------------------------------------


def calendar(engine: Engine, branch: str) -> WorkCalendar:
    """The national overrides, then the branch's (a branch's own day wins)."""
    days: dict[date, Override] = {}
    for scope in (t.GLOBAL_SCOPE, branch) if branch else (t.GLOBAL_SCOPE,):
        for o in branch_admin.overrides(engine, scope):
            day = date.fromisoformat(o["day"])
            days[day] = Override(day, DayKind(o["kind"]), o["reason"])
    return WorkCalendar.with_overrides(days.values())


# The console's fields take days and moments as the centres write them (the browser's own
# date picker follows its language, and many counters' PCs run in English: 12/31/2026);
# the ISO forms stay accepted, for links and scripts.
_DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
_MOMENT_FORMATS = ("%H:%M %d/%m/%Y", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def parse_day(text: str) -> date:
    """A day typed as 31/12/2026 (or 2026-12-31)."""
    for pattern in _DAY_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise ValidationError(N_("Not a date (dd/mm/yyyy): {value}"), value=text[:20])


def parse_moment_input(text: str) -> datetime:
    """A moment typed as 09:00 04/12/2026 (or 2026-12-04T09:00), in Vietnam time."""
    cleaned = " ".join(text.split())[:19]
    for pattern in _MOMENT_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).replace(tzinfo=VIETNAM)
        except ValueError:
            continue
    raise ValidationError(N_("Not a moment (hh:mm dd/mm/yyyy): {value}"), value=text[:20])


def due_preview(engine: Engine, branch: str, code: str, received: datetime) -> DueMoment:
    found = {p.code: p for p in in_force(engine)}
    procedure = found.get(code)
    if procedure is None:
        raise ValidationError(N_("Unknown procedure {code}"), code=code[:40])
    return compute_due(
        calendar(engine, branch),
        received,
        procedure.processing_time,
        procedure.processing_unit,
        procedure.cutoff,
    )
