"""Branch administration: users and roles, calendar overrides."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.domain.calendar import DayKind
from core.domain.errors import N_, NotFoundError, ValidationError
from core.domain.events import EventType
from core.domain.workflow import Role
from core.storage import quarantine
from core.storage import schema as t

from . import users
from .changes import Changes

if TYPE_CHECKING:
    from .branch import Branch


class AdminService:
    def __init__(self, branch: Branch) -> None:
        self.branch = branch

    def add_user(
        self, actor: users.User, username: str, role: str, password: str, full_name: str = ""
    ) -> Changes:
        actor.require(Role.ADMIN)
        name = users.check_username(username)
        if role not in Role._value2member_map_:
            raise ValidationError(
                N_("Unknown role {role}: use officer, specialist, leader or admin"), role=role
            )
        with self.branch.store.read() as conn:
            if users.find(conn, name) is not None:
                raise ValidationError(N_("User {user} already exists"), user=name)
        payload = {
            "username": name,
            "full_name": full_name.strip() or name,
            "role": role,
            **users.credentials(password),
        }
        return self.branch.record(None, actor.username, EventType.USER_ADDED, payload, actor.signer)

    def set_password(self, actor: users.User, username: str, password: str) -> Changes:
        """A user's own new password keeps her key (re-sealed); an admin's reset gives the
        user a new one (the admin cannot open the old)."""
        own = actor.username == username.lower()
        if not own:
            actor.require(Role.ADMIN)
        key = actor.signer if own else None
        payload = {"username": username.lower(), **users.credentials(password, key)}
        return self.branch.record(
            None, actor.username, EventType.USER_PASSWORD, payload, actor.signer
        )

    def disable_user(self, actor: users.User, username: str, disabled: bool = True) -> Changes:
        """Disable an account (it can no longer log in), or enable it again."""
        actor.require(Role.ADMIN)
        if actor.username == username.lower():
            raise ValidationError(N_("You cannot disable your own account"))
        row = self._existing(username)
        if bool(row["disabled"]) == disabled:
            message = (
                N_("User {user} is already disabled")
                if disabled
                else N_("User {user} is already enabled")
            )
            raise ValidationError(message, user=row["username"])
        return self.branch.record(
            None,
            actor.username,
            EventType.USER_DISABLED,
            {"username": row["username"], "disabled": disabled},
            actor.signer,
        )

    def set_role(self, actor: users.User, username: str, role: str) -> Changes:
        actor.require(Role.ADMIN)
        row = self._existing(username)
        if role not in Role._value2member_map_:
            raise ValidationError(
                N_("Unknown role {role}: use officer, specialist, leader or admin"), role=role
            )
        if actor.username == row["username"] and role != Role.ADMIN.value:
            raise ValidationError(N_("You cannot take the admin role from your own account"))
        if row["role"] == role:
            raise ValidationError(
                N_("User {user} already has the role {role}"), user=row["username"], role=role
            )
        payload = {"username": row["username"], "role": role}
        return self.branch.record(None, actor.username, EventType.USER_ROLE, payload, actor.signer)

    def unlock(self, actor: users.User, username: str) -> Changes:
        """Clear the failed logins that locked an account, on every desk of the branch."""
        actor.require(Role.ADMIN)
        row = self._existing(username)
        payload = {"username": row["username"]}
        return self.branch.record(
            None, actor.username, EventType.USER_UNLOCKED, payload, actor.signer
        )

    def _existing(self, username: str) -> dict[str, object]:
        name = username.lower()
        for row in self.list_users():
            if row["username"] == name:
                return row
        raise NotFoundError(N_("No user {user}"), user=name)

    def quarantine(self, actor: users.User) -> list[dict[str, Any]]:
        """Events this desk holds but does not apply, with the rule each broke (oldest
        first): what a hostile or broken desk tried, for the admin to take up."""
        actor.require(Role.ADMIN)
        with self.branch.store.read() as conn:
            return quarantine.entries(conn)

    def list_users(self) -> list[dict[str, object]]:
        with self.branch.store.read() as conn:
            return users.list_users(conn, self.branch.clock())

    def overrides(self) -> list[dict[str, str]]:
        """The branch's calendar overrides in force (from the centre and its admin)."""
        with self.branch.store.read() as conn:
            rows = conn.execute(select(t.calendar_overrides).order_by(t.calendar_overrides.c.day))
            return [{"day": r.day, "kind": r.kind, "reason": r.reason} for r in rows]

    def remove_override(self, actor: users.User, day: date, reason: str) -> Changes:
        """Withdraw an override: the day follows the national calendar again."""
        actor.require(Role.ADMIN)
        if not any(o["day"] == day.isoformat() for o in self.overrides()):
            raise NotFoundError(N_("No calendar override on {day}"), day=day.strftime("%d/%m/%Y"))
        if not reason.strip():
            raise ValidationError(N_("An override needs its reason (the decision)"))
        payload = {"day": day.isoformat(), "kind": "none", "reason": reason.strip()}
        return self.branch.record(
            None, actor.username, EventType.CALENDAR_OVERRIDE, payload, actor.signer
        )

    def set_override(self, actor: users.User, day: date, kind: str, reason: str) -> Changes:
        """A government decision: `holiday` (a day off) or `workday` (a make-up Saturday)."""
        actor.require(Role.ADMIN)
        if kind not in DayKind._value2member_map_:
            raise ValidationError(N_("Override kind must be holiday or workday: {kind}"), kind=kind)
        if not reason.strip():
            raise ValidationError(N_("An override needs its reason (the decision)"))
        payload = {"day": day.isoformat(), "kind": kind, "reason": reason.strip()}
        return self.branch.record(
            None, actor.username, EventType.CALENDAR_OVERRIDE, payload, actor.signer
        )
