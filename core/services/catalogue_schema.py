"""The catalogue a centre publishes: its schema, its validation, its diff.

The document is ``{"procedures": [...]}`` or the bare list that ``motcua --json catalog
list`` prints; each entry as ``procedure_to_dict`` writes it. The JSON Schema published
in ``docs/catalogue.schema.json`` is generated from these models (a test keeps the two
equal), so what the docs promise is what the server checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticError

from core.domain import catalogue as c
from core.domain.catalogue import Procedure
from core.domain.errors import N_, ValidationError
from core.i18n import _

from .catalogue import parse_catalogue, procedure_to_dict

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(max_length=2000)]
Count = Annotated[int, Field(ge=0, le=100)]


class ComponentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    name: Text
    mandatory: bool = True
    originals: Count = 0
    certified_copies: Count = 0
    copies: Count = 0
    note: Note = ""


class FeeEntry(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    name: Text
    amount_vnd: Annotated[int, Field(ge=0, le=10**12)]
    note: Note = ""


class ProcedureEntry(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,63}$")]
    version: Annotated[int, Field(ge=1)]
    name: Text
    field: c.Field
    level: c.Level
    agency: Text
    processing_time: Annotated[int, Field(ge=0, le=3650)]
    processing_unit: c.ProcessingUnit
    cutoff: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] | None = None
    components: Annotated[list[ComponentEntry], Field(min_length=1)]
    fees: list[FeeEntry] = []
    result: Text
    legal_basis: Note = ""
    effective_from: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] = "2000-01-01"
    sets: Annotated[int, Field(ge=1, le=20)] = 1
    national_code: Annotated[str, StringConstraints(pattern=r"^\d\.\d{6}$")] | None = None
    note: Note = ""


class CatalogueDocument(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    procedures: Annotated[list[ProcedureEntry], Field(min_length=1)]


INVALID = N_("invalid")
_PROBLEMS = {
    "missing": N_("missing"),
    "extra_forbidden": N_("unknown field"),
    "string_type": N_("not text"),
    "int_type": N_("not a whole number"),
    "bool_type": N_("not true or false"),
    "list_type": N_("not a list"),
    "dict_type": N_("not an object"),
    "model_type": N_("not an object"),
    "enum": N_("not one of the allowed values"),
    "string_pattern_mismatch": N_("wrong format"),
    "string_too_short": N_("empty"),
    "string_too_long": N_("too long"),
    "too_short": N_("empty"),
    "greater_than_equal": N_("too small"),
    "less_than_equal": N_("too large"),
}


def json_schema() -> dict[str, Any]:
    schema = CatalogueDocument.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Một Cửa procedure catalogue"
    return schema


def validate(doc: Any) -> list[Procedure]:
    """The procedures of a catalogue document, or a refusal naming the first problems."""
    if isinstance(doc, list):
        doc = {"procedures": doc}
    if not isinstance(doc, Mapping):
        raise ValidationError(N_("A catalogue is a JSON object with its procedures, or a list"))
    try:
        CatalogueDocument.model_validate(doc, strict=False)
    except PydanticError as err:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in e['loc'])}: {_(_PROBLEMS.get(e['type'], INVALID))}"
            for e in err.errors()[:5]
        )
        raise ValidationError(
            N_("The catalogue does not follow its schema ({count} problems): {problems}"),
            count=err.error_count(),
            problems=problems,
        ) from None
    return parse_catalogue(doc)


def diff(current: Sequence[Procedure], proposed: Sequence[Procedure]) -> dict[str, list[str]]:
    """Procedure codes added, removed and changed (any field of any version) by a new
    catalogue."""
    old, new = _by_code(current), _by_code(proposed)
    return {
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
        "changed": sorted(k for k in new.keys() & old.keys() if new[k] != old[k]),
    }


def _by_code(procedures: Sequence[Procedure]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for p in sorted(procedures, key=lambda p: (p.code, p.version)):
        found.setdefault(p.code, []).append(procedure_to_dict(p))
    return found


def check_removals(changes: Mapping[str, list[str]], allow_removals: bool) -> None:
    if changes["removed"] and not allow_removals:
        raise ValidationError(
            N_(
                "The new catalogue drops {count} procedures in force ({codes}): publish with "
                "--allow-removals if that is meant"
            ),
            count=len(changes["removed"]),
            codes=", ".join(changes["removed"][:10]),
        )
