"""Server-side sessions of the console: a random token in an HttpOnly cookie, only its
SHA-256 in the database, with its CSRF token. A session ends at logout, after
``IDLE`` without a request, or ``LIFETIME`` after login, whichever comes first."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete, insert, select, update

from core.domain.timeutil import iso, parse_moment

from .accounts import Account, find, now
from .tables import sessions

IDLE = timedelta(minutes=60)
LIFETIME = timedelta(hours=10)
_REFRESH = timedelta(minutes=5)  # the idle deadline moves at most this often (one write)


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(engine: Engine, account: Account) -> str:
    """A new session for `account`; returns the cookie's token. Expired ones are purged."""
    token = secrets.token_urlsafe(32)
    moment = now()
    with engine.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.expires_at < iso(moment)))
        conn.execute(
            insert(sessions).values(
                token_hash=_digest(token),
                username=account.username,
                csrf=secrets.token_urlsafe(32),
                created_at=iso(moment),
                expires_at=iso(moment + IDLE),
            )
        )
    return token


def find_session(engine: Engine, token: str | None) -> Session | None:
    """The live session of a cookie's token (its idle deadline moved on), or None."""
    if not token or len(token) > 128:
        return None
    key = _digest(token)
    with engine.connect() as conn:
        row = conn.execute(select(sessions).where(sessions.c.token_hash == key)).first()
    if row is None:
        return None
    moment = now()
    expires = parse_moment(row.expires_at)
    account = find(engine, row.username)
    if expires <= moment or account is None:
        close_session(engine, token)
        return None
    deadline = min(moment + IDLE, parse_moment(row.created_at) + LIFETIME)
    if deadline - expires > _REFRESH:
        with engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.token_hash == key)
                .values(expires_at=iso(deadline))
            )
    return Session(account, row.csrf)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))
