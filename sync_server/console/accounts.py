"""The console's own accounts: who may sign in to the central web console.

Roles: ``central-admin`` (everything), ``auditor`` (reads everything, changes nothing),
``branch-manager`` (reads its own branches only). Passwords are Argon2id verifiers. Five
failed logins lock an account for 15 minutes; a name that is not an account is locked the
same way (in memory), so the answer never tells which names exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from core.domain.errors import N_, AuthenticationFailed, ValidationError
from core.domain.timeutil import VIETNAM, iso, parse_moment
from core.services.users import check_username
from sync_server import schema as t
from sync_server.limits import Attempts

from .tables import accounts

CENTRAL_ADMIN = "central-admin"
AUDITOR = "auditor"
BRANCH_MANAGER = "branch-manager"
ROLES = (CENTRAL_ADMIN, AUDITOR, BRANCH_MANAGER)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
_hasher = PasswordHasher()  # Argon2id, the library's recommended parameters
_DUMMY = _hasher.hash("not an account: the same work as a real check")


class AccountLocked(AuthenticationFailed):
    def __init__(self, minutes: int) -> None:
        super().__init__(
            N_("Too many failed attempts: this account is locked for {minutes} min"),
            minutes=minutes,
        )
        self.minutes = minutes


@dataclass(frozen=True)
class Account:
    username: str
    full_name: str
    role: str
    branches: tuple[str, ...]

    @property
    def can_write(self) -> bool:
        """Whether any form that changes something is shown: never to an auditor."""
        return self.role in (CENTRAL_ADMIN, BRANCH_MANAGER)

    @property
    def every_branch(self) -> bool:
        return self.role in (CENTRAL_ADMIN, AUDITOR)

    def sees(self, branch: str) -> bool:
        return self.every_branch or branch in self.branches

    def may_change(self, branch: str) -> bool:
        """A branch's users and calendar: the central admin, or the branch's own manager;
        an auditor never."""
        return self.role == CENTRAL_ADMIN or (
            self.role == BRANCH_MANAGER and branch in self.branches
        )

    @property
    def may_change_national(self) -> bool:
        """The catalogue and the national calendar: the central admin only."""
        return self.role == CENTRAL_ADMIN


def now() -> datetime:
    return datetime.now(VIETNAM)


def add_account(
    engine: Engine,
    username: str,
    role: str,
    password: str,
    branches: tuple[str, ...] = (),
    full_name: str = "",
) -> dict[str, object]:
    name = check_username(username.strip())
    if role not in ROLES:
        raise ValidationError(
            N_("Unknown console role {role}: choose {roles}"), role=role, roles=", ".join(ROLES)
        )
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            N_("A console password needs at least {n} characters"), n=MIN_PASSWORD
        )
    chosen = tuple(sorted({b.strip() for b in branches if b.strip()}))
    if role == BRANCH_MANAGER and not chosen:
        raise ValidationError(N_("A branch manager needs at least one branch (--branch)"))
    if role != BRANCH_MANAGER and chosen:
        raise ValidationError(N_("Only a branch manager is limited to branches"))
    verifier = _hasher.hash(password)
    try:
        with engine.begin() as conn:
            known = {r.code for r in conn.execute(select(t.branches.c.code))}
            unknown = [b for b in chosen if b not in known]
            if unknown:
                raise ValidationError(N_("Unknown branch {branch}"), branch=unknown[0])
            conn.execute(
                insert(accounts).values(
                    username=name,
                    full_name=full_name.strip() or name,
                    role=role,
                    branches=json.dumps(list(chosen)),
                    password_hash=verifier,
                    disabled=False,
                    failures=0,
                    locked_until="",
                    created_at=iso(now()),
                )
            )
    except SqlIntegrityError:
        raise ValidationError(N_("Console account {name} already exists"), name=name) from None
    return {"username": name, "role": role, "branches": list(chosen)}


def list_accounts(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(accounts).order_by(accounts.c.username))
        return [
            {
                "username": r.username,
                "full_name": r.full_name,
                "role": r.role,
                "branches": json.loads(r.branches),
                "disabled": r.disabled,
                "locked_until": r.locked_until,
            }
            for r in rows
        ]


def find(engine: Engine, username: str) -> Account | None:
    with engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
    if row is None or row.disabled:
        return None
    return Account(row.username, row.full_name, row.role, tuple(json.loads(row.branches)))


class Logins:
    """Checks a name and password; counts failures per account (in the database) and per
    name that is no account (in memory, the same limits)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.strangers = Attempts(limit=MAX_FAILURES, window_s=LOCKOUT.total_seconds())

    def check(self, username: str, password: str) -> Account:
        name = username.strip().lower()[:64]
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.username == name)).first()
        if row is None or row.disabled:
            return self._stranger(name, password)
        moment = now()
        if row.locked_until and parse_moment(row.locked_until) > moment:
            raise AccountLocked(_minutes_until(parse_moment(row.locked_until), moment))
        if not _verify(row.password_hash, password):
            self._failed(name, row.failures + 1, moment)
        self._succeeded(name)
        return Account(row.username, row.full_name, row.role, tuple(json.loads(row.branches)))

    def _stranger(self, name: str, password: str) -> Account:
        key = f"name {name}"
        wait = self.strangers.wait_s([key])
        if wait:
            raise AccountLocked(-(-wait // 60))
        _verify(_DUMMY, password)
        if self.strangers.failed([key]):  # the fifth: locked now, as an account would be
            raise AccountLocked(int(LOCKOUT.total_seconds() // 60))
        raise AuthenticationFailed(N_("Wrong user name or password"))

    def _failed(self, name: str, failures: int, moment: datetime) -> None:
        values: dict[str, object] = {"failures": failures}
        if failures >= MAX_FAILURES:
            values = {"failures": 0, "locked_until": iso(moment + LOCKOUT)}
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.username == name).values(**values))
        if failures >= MAX_FAILURES:
            raise AccountLocked(int(LOCKOUT.total_seconds() // 60))
        raise AuthenticationFailed(N_("Wrong user name or password"))

    def _succeeded(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(accounts)
                .where(accounts.c.username == name)
                .values(failures=0, locked_until="")
            )


FAILED_LOGIN = "console-login-failed"
CONSOLE_DEVICE = "console"  # the incidents' device column, for the console's own events


def record_failed_login(engine: Engine, username: str, address: str, reason: str) -> None:
    """A failed console login in the security log (the ``incidents`` table)."""
    detail = f"user {username.strip().lower()[:64]!r} from {address[:64]}: {reason[:120]}"
    with engine.begin() as conn:
        conn.execute(
            insert(t.incidents).values(
                device_id=CONSOLE_DEVICE, kind=FAILED_LOGIN, detail=detail, at=iso(now())
            )
        )


def _verify(verifier: str, password: str) -> bool:
    try:
        return _hasher.verify(verifier, password)
    except (VerificationError, InvalidHashError):
        return False


def _minutes_until(until: datetime, moment: datetime) -> int:
    return max(1, -(-int((until - moment).total_seconds()) // 60))
