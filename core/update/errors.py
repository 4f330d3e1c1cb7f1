"""Why an update was refused: one specific, translatable message per kind of failure."""

from __future__ import annotations

from typing import Any

from core.domain.errors import IntegrityError


class VerificationFailed(IntegrityError):
    """The repository's answer did not verify; ``kind`` says how (for scripts and tests):
    ``tampered``, ``replayed``, ``expired``, ``unsigned`` or ``invalid``."""

    def __init__(self, kind: str, message: str, **params: Any) -> None:
        self.kind = kind
        super().__init__(message, **params)
