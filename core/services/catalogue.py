"""Loading the procedure catalogue: the shipped snapshot and its versions in the store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, time
from importlib import resources
from typing import Any

from sqlalchemy import Connection, insert, select

from core.domain.catalogue import Component, Fee, Field, Level, Procedure, ProcessingUnit
from core.domain.errors import N_, NotFoundError, ValidationError
from core.domain.fees import FeePer, FeeRule
from core.storage import schema as t


def procedure_from_dict(data: Mapping[str, Any]) -> Procedure:
    """Strict parsing: a malformed entry names the procedure and the problem."""
    code = str(data.get("code", "?"))
    try:
        cutoff = data.get("cutoff")
        return Procedure(
            code=code,
            version=int(data["version"]),
            name=str(data["name"]),
            field=Field(data["field"]),
            level=Level(data["level"]),
            agency=str(data["agency"]),
            processing_time=int(data["processing_time"]),
            processing_unit=ProcessingUnit(data["processing_unit"]),
            cutoff=time.fromisoformat(cutoff) if cutoff else None,
            components=tuple(Component(**c) for c in data["components"]),
            fees=tuple(fee_from_dict(f) for f in data.get("fees", [])),
            result=str(data["result"]),
            legal_basis=str(data.get("legal_basis", "")),
            effective_from=date.fromisoformat(data.get("effective_from", "2000-01-01")),
            sets=int(data.get("sets", 1)),
            national_code=str(data.get("national_code") or ""),
            extra={"note": data.get("note", "")},
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValidationError(
            N_("Catalogue entry {code} is malformed: {detail}"), code=code, detail=str(err)
        ) from None


def procedure_to_dict(p: Procedure) -> dict[str, Any]:
    return {
        "code": p.code,
        "version": p.version,
        "name": p.name,
        "field": p.field.value,
        "level": p.level.value,
        "agency": p.agency,
        "processing_time": p.processing_time,
        "processing_unit": p.processing_unit.value,
        "cutoff": p.cutoff.strftime("%H:%M") if p.cutoff else None,
        "components": [vars(c) for c in p.components],
        "fees": [fee_to_dict(f) for f in p.fees],
        "result": p.result,
        "legal_basis": p.legal_basis,
        "effective_from": p.effective_from.isoformat(),
        "sets": p.sets,
        **({"national_code": p.national_code} if p.national_code else {}),
        "note": p.extra.get("note", ""),
    }


_RULE_KEYS = ("per", "tiers", "cap_vnd", "online_vnd", "exempt")


def fee_from_dict(data: Mapping[str, Any]) -> Fee:
    """A fee and its rule (``core.domain.fees``); the rule's keys are optional."""
    unknown = set(data) - {"name", "amount_vnd", "note", *_RULE_KEYS}
    if unknown:
        raise ValueError(f"unknown fee fields {sorted(unknown)}")
    rule = FeeRule(
        per=FeePer(data.get("per", FeePer.DOSSIER.value)),
        tiers=tuple((int(start), int(each)) for start, each in data.get("tiers", [])),
        cap_vnd=_optional_int(data.get("cap_vnd")),
        online_vnd=_optional_int(data.get("online_vnd")),
        exempt=tuple(str(case) for case in data.get("exempt", [])),
    )
    return Fee(str(data["name"]), int(data["amount_vnd"]), str(data.get("note", "")), rule)


def fee_to_dict(fee: Fee) -> dict[str, Any]:
    """As ``fee_from_dict`` reads it; a rule's defaults are left out."""
    entry: dict[str, Any] = {"name": fee.name, "amount_vnd": fee.amount_vnd, "note": fee.note}
    rule = fee.rule
    if rule.per is not FeePer.DOSSIER:
        entry["per"] = rule.per.value
    if rule.tiers:
        entry["tiers"] = [list(tier) for tier in rule.tiers]
    for key in ("cap_vnd", "online_vnd"):
        if getattr(rule, key) is not None:
            entry[key] = getattr(rule, key)
    if rule.exempt:
        entry["exempt"] = list(rule.exempt)
    return entry


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def shipped_catalogue() -> list[Procedure]:
    """The snapshot that ships with the app, so a new desktop works offline at once."""
    raw = resources.files("core.data").joinpath("catalogue.json").read_text(encoding="utf-8")
    return parse_catalogue(json.loads(raw))


def parse_catalogue(doc: Mapping[str, Any]) -> list[Procedure]:
    procedures = [procedure_from_dict(p) for p in doc.get("procedures", [])]
    seen: set[tuple[str, int]] = set()
    for p in procedures:
        if (p.code, p.version) in seen:
            raise ValidationError(
                N_("Catalogue lists {code} version {version} twice"), code=p.code, version=p.version
            )
        seen.add((p.code, p.version))
        if not any(c.mandatory for c in p.components):
            raise ValidationError(N_("Procedure {code} has no mandatory component"), code=p.code)
    return procedures


def store_procedures(conn: Connection, procedures: Iterable[Procedure]) -> int:
    """Add versions not stored yet; stored versions are immutable (dossiers pin them)."""
    existing = {
        (r.code, r.version)
        for r in conn.execute(select(t.procedures.c.code, t.procedures.c.version))
    }
    added = 0
    for p in procedures:
        if (p.code, p.version) in existing:
            continue
        conn.execute(
            insert(t.procedures).values(
                code=p.code,
                version=p.version,
                name=p.name,
                field=p.field.value,
                data=json.dumps(procedure_to_dict(p), ensure_ascii=False),
            )
        )
        added += 1
    return added


def current_procedures(conn: Connection, on: date) -> list[Procedure]:
    """For each code, the newest version in force on `on`."""
    latest: dict[str, Procedure] = {}
    for row in conn.execute(
        select(t.procedures.c.data).order_by(t.procedures.c.code, t.procedures.c.version)
    ):
        p = procedure_from_dict(json.loads(row.data))
        if p.effective_from <= on:
            latest[p.code] = p
    return sorted(latest.values(), key=lambda p: p.code)


def procedure(conn: Connection, code: str, on: date) -> Procedure:
    for p in current_procedures(conn, on):
        if p.code == code.upper():
            return p
    raise NotFoundError(N_("No procedure with code {code} in the catalogue"), code=code)
