"""What `motcua` prints for people: codes in words, amounts in đồng, the applicant's
details labelled. ``--json`` keeps the codes (scripts read them): this runs only on the
way to a table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.cli.output import label
from core.domain.errors import N_
from core.domain.workflow import State
from core.i18n import _
from desktop import labels as words

from .labels import LABELS
from .render import format_vnd

RETURN_METHODS = {"counter": N_("At the counter"), "postal": N_("By post")}


def _state(value: Any) -> Any:
    is_state = isinstance(value, str) and value in State._value2member_map_
    return words.state_label(value) if is_state else value


def _amount(value: Any) -> Any:
    is_amount = isinstance(value, int) and not isinstance(value, bool)
    return format_vnd(value) if is_amount else value


def _returned(value: Any) -> Any:
    return _(RETURN_METHODS[value]) if value in RETURN_METHODS else value


def _field(value: Any) -> Any:
    return words.field_label(value) if isinstance(value, str) else value


_IN_WORDS: dict[str, Callable[[Any], Any]] = {
    "state": _state,
    "field": _field,
    "return_method": _returned,
    "fees_vnd": _amount,
}


def for_people(result: Any) -> Any:
    """`result` with the values people read as codes put in words (recursively)."""
    if isinstance(result, Mapping):
        return {key: _value(str(key), value) for key, value in result.items()}
    if isinstance(result, list):
        return [for_people(item) for item in result]
    return result


def _value(key: str, value: Any) -> Any:
    if key in _IN_WORDS:
        return _IN_WORDS[key](value)
    if key == "applicant" and isinstance(value, Mapping):
        return _applicant(value)
    return for_people(value)


_APPLICANT_ORDER = ("full_name", "id_number", "date_of_birth", "address", "phone", "email")


def _applicant(details: Mapping[str, Any]) -> dict[str, Any]:
    """Labelled, in the order of the forms, the blanks left out."""
    keys = sorted(details, key=lambda k: (_rank(k), k))
    return {label(k, LABELS): details[k] for k in keys if details[k]}


def _rank(key: str) -> int:
    return _APPLICANT_ORDER.index(key) if key in _APPLICANT_ORDER else len(_APPLICANT_ORDER)
