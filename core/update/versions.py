"""Release versions: ``X.Y.Z`` numbers, compared as numbers (``1.10.0`` > ``1.9.0``)."""

from __future__ import annotations

import re

from core.domain.errors import N_, ValidationError

_VERSION = re.compile(r"^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$")


def parse(text: str) -> tuple[int, int, int]:
    """The version's numbers; a malformed one is refused with its text."""
    match = _VERSION.match(text)
    if match is None:
        raise ValidationError(N_("{version} is not a version like 1.2.3"), version=text)
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def newer(candidate: str, than: str | None) -> bool:
    return than is None or parse(candidate) > parse(than)
