"""The errors the core raises, as one tree.

MotcuaError                    every refusal the core makes; carries a translatable message
├── ValidationError            bad input (a malformed citizen ID, an unknown procedure, …)
├── NotFoundError              a dossier, user or procedure that does not exist
├── PermissionDenied           the acting user's role may not do this
├── TransitionRefused          the action is not allowed from the dossier's current state
├── IncompleteDossier          mandatory components missing; carries the supplement guidance
├── AuthenticationFailed       wrong user name or password, or a locked account
├── CodeSpaceExhausted         this desk has used every dossier number it owns for the day
├── StoreError                 the local store is missing, locked or unusable
│   └── StoreKeyError          an encrypted store's key is missing or wrong
├── IntegrityError             a stored event chain or signature does not verify
└── CheckFailed                `motcua doctor` found a failure (not the store's or disk's)

Messages are English msgids marked with ``N_`` so Babel extracts them; the edges (CLI,
desktop) translate them with ``core.i18n.describe``. The domain itself does no I/O and
holds no translation catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, do not translate"
    """Mark a message for extraction; translation happens at the edge."""
    return message


class MotcuaError(Exception):
    """A refusal with a translatable message template and its parameters."""

    exit_code = 2

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params: Mapping[str, Any] = params
        super().__init__(self.render(message))

    def render(self, template: str) -> str:
        """Fill the template with this error's parameters."""
        return template.format(**self.params) if self.params else template


class ValidationError(MotcuaError):
    pass


class NotFoundError(MotcuaError):
    exit_code = 4


class PermissionDenied(MotcuaError):
    exit_code = 5


class TransitionRefused(MotcuaError):
    exit_code = 6


class IncompleteDossier(MotcuaError):
    """Raised instead of receiving: the officer hands the citizen a supplement guidance."""

    exit_code = 3

    def __init__(self, missing: list[str], procedure_code: str) -> None:
        self.missing = missing
        self.procedure_code = procedure_code
        super().__init__(
            N_("Dossier incomplete for {procedure}: missing {missing}"),
            procedure=procedure_code,
            missing="; ".join(missing),
        )


class AuthenticationFailed(MotcuaError):
    exit_code = 7


class CodeSpaceExhausted(MotcuaError):
    pass


class StoreError(MotcuaError):
    exit_code = 8


class StoreKeyError(StoreError):
    """The key of an encrypted store is not in the keystore, or the passphrase is wrong."""

    exit_code = 12


class IntegrityError(MotcuaError):
    exit_code = 9


class CheckFailed(MotcuaError):
    """`motcua doctor` found a failure that is not the store's or the disk's."""

    exit_code = 11
