"""Users, roles and offline login against Argon2 verifiers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from core.domain import userkeys
from core.domain.errors import (
    N_,
    AuthenticationFailed,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from core.domain.signing import DeviceKey
from core.domain.timeutil import iso, parse_moment
from core.domain.workflow import Role
from core.storage import schema as t

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    """A logged-in user. ``signer`` opens her key (sealed under her password) the first
    time a step needs her proof; ``None`` for a user made before keys existed."""

    username: str
    full_name: str
    role: Role
    _unseal: Callable[[], DeviceKey] | None = field(default=None, compare=False, repr=False)

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise PermissionDenied(N_("Role '{role}' may not do this"), role=self.role.value)

    @property
    def signer(self) -> DeviceKey | None:
        return self._unseal() if self._unseal is not None else None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(N_("Password must have at least {n} characters"), n=MIN_PASSWORD)
    return _hasher.hash(password)


def credentials(password: str, key: DeviceKey | None = None) -> dict[str, Any]:
    """What a user event carries for a (new) password: the verifier, and the user's key —
    `key` (her own, re-sealed) or a new one — public, and sealed under the password."""
    verifier = hash_password(password)
    key = key or DeviceKey.generate()
    return {
        "password_hash": verifier,
        "public_key": key.public_b64,
        "sealed_key": userkeys.seal(key, password),
    }


def _unsealer(sealed: str | None, password: str) -> Callable[[], DeviceKey] | None:
    if not sealed:
        return None
    opened: list[DeviceKey] = []

    def unseal() -> DeviceKey:
        if not opened:
            opened.append(userkeys.unseal(sealed, password))
        return opened[0]

    return unseal


def check_username(name: str) -> str:
    if (
        not name
        or not name.replace(".", "").replace("_", "").replace("-", "").isalnum()
        or not name.isascii()
    ):
        raise ValidationError(
            N_("User name must be ASCII letters, digits, dot, dash or underscore: {name}"),
            name=name,
        )
    return name.lower()


def find(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(t.users).where(t.users.c.username == username.lower())).first()
    if row is None or row.disabled:
        return None
    return User(row.username, row.full_name, Role(row.role))


def authenticate(
    conn: Connection, username: str, password: str, now: datetime
) -> User | AuthenticationFailed:
    """Check a password offline; five failures lock the account for 15 minutes.

    A failure is returned, not raised, so the caller commits the failure count first.
    """
    name = username.lower()
    attempt = conn.execute(
        select(t.login_attempts).where(t.login_attempts.c.username == name)
    ).first()
    if attempt and attempt.locked_until and parse_moment(attempt.locked_until) > now:
        return AuthenticationFailed(
            N_("Account {user} is locked after repeated failures until {until}"),
            user=name,
            until=parse_moment(attempt.locked_until).strftime("%H:%M %d/%m/%Y"),
        )
    row = conn.execute(select(t.users).where(t.users.c.username == name)).first()
    if row is not None and not row.disabled and _verify(row.password_hash, password):
        conn.execute(delete(t.login_attempts).where(t.login_attempts.c.username == name))
        return User(
            row.username, row.full_name, Role(row.role), _unsealer(row.sealed_key, password)
        )
    _record_failure(conn, name, attempt.failures if attempt else 0, now)
    return AuthenticationFailed(N_("Wrong user name or password"))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _record_failure(conn: Connection, name: str, failures: int, now: datetime) -> None:
    failures += 1
    locked = iso(now + LOCKOUT) if failures >= MAX_FAILURES else ""
    values = {"failures": 0 if locked else failures, "locked_until": locked}
    if (
        conn.execute(
            update(t.login_attempts).where(t.login_attempts.c.username == name).values(**values)
        ).rowcount
        == 0
    ):
        conn.execute(insert(t.login_attempts).values(username=name, **values))


def list_users(conn: Connection, now: datetime) -> list[dict[str, object]]:
    """Every user with her state; ``locked_until`` is set while failed logins lock her."""
    locks = {
        r.username: parse_moment(r.locked_until)
        for r in conn.execute(select(t.login_attempts))
        if r.locked_until
    }
    rows = conn.execute(select(t.users).order_by(t.users.c.username))
    return [
        {
            "username": r.username,
            "full_name": r.full_name,
            "role": r.role,
            "disabled": r.disabled,
            "locked_until": iso(locks[r.username]) if locks.get(r.username, now) > now else None,
        }
        for r in rows
    ]


def require_user(conn: Connection, username: str) -> User:
    user = find(conn, username)
    if user is None:
        raise NotFoundError(N_("No active user {user}"), user=username)
    return user
