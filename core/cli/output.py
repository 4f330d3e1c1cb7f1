"""Printing a command's result: JSON for scripts, tables for people.

A result is a string, a dict (one record: printed as label/value lines, its nested lists
as tables under a heading) or a list of dicts (a table). Column labels are translated
from the command's label map; moments are shown dd/mm/yyyy HH:MM in Vietnam's time,
booleans as yes/no.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from core.domain.errors import N_
from core.domain.timeutil import to_vietnam
from core.i18n import _

_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?$")
NONE = N_("(none)")
YES = N_("yes")
NO = N_("no")


def emit(result: Any, as_json: bool, labels: Mapping[str, str], out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    if result is None:
        return
    if as_json:
        json.dump(result, stream, ensure_ascii=False, indent=2, default=str)
        stream.write("\n")
        return
    stream.write(render(result, labels) + "\n")


def render(result: Any, labels: Mapping[str, str]) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, Mapping):
        return record(result, labels)
    if isinstance(result, Sequence) and all(isinstance(r, Mapping) for r in result):
        return table(result, labels)
    if isinstance(result, Sequence):
        return "\n".join(cell(item) for item in result) or _(NONE)
    return cell(result)


def label(key: str, labels: Mapping[str, str]) -> str:
    return _(labels[key]) if key in labels else key


def cell(value: Any) -> str:
    """One value as a person reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _(YES) if value else _(NO)
    if isinstance(value, str):
        return moment(value) if _MOMENT.match(value) else value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(cell(v) for v in value)
    return str(value)


def moment(text: str) -> str:
    """An ISO date or moment as dd/mm/yyyy (HH:MM)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if len(text) == 10:
        return parsed.strftime("%d/%m/%Y")
    if parsed.tzinfo is not None:  # the server records UTC: shown in Vietnam's time
        parsed = to_vietnam(parsed)
    return parsed.strftime("%d/%m/%Y %H:%M")


def width(text: str) -> int:
    """Columns the text takes in a terminal: combining marks take none, wide signs two."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in unicodedata.normalize("NFC", text)
    )


def _pad(text: str, size: int) -> str:
    return text + " " * (size - width(text))


def table(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> str:
    if not rows:
        return _(NONE)
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    grid = [[label(k, labels) for k in keys]]
    grid += [[cell(row.get(k)).replace("\n", " ") for k in keys] for row in rows]
    sizes = [max(width(line[i]) for line in grid) for i in range(len(keys))]
    lines = [
        "  ".join(_pad(text, size) for text, size in zip(line, sizes, strict=True)).rstrip()
        for line in grid
    ]
    lines.insert(1, "  ".join("-" * size for size in sizes))
    return "\n".join(lines)


def record(doc: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    flat = {k: v for k, v in doc.items() if not _is_rows(v)}
    nested = {k: v for k, v in doc.items() if _is_rows(v)}
    size = max((width(label(k, labels)) for k in flat), default=0)
    lines = [f"{_pad(label(k, labels), size)}  {cell(v)}".rstrip() for k, v in flat.items()]
    for key, rows in nested.items():
        lines += ["", f"{label(key, labels)}:", table(rows, labels)]
    return "\n".join(lines)


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)
