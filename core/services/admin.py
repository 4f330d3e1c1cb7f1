"""Branch administration: users and roles, calendar overrides."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from core.domain.calendar import DayKind
from core.domain.errors import N_, ValidationError
from core.domain.events import EventType
from core.domain.workflow import Role
from core.storage import quarantine

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

    def disable_user(self, actor: users.User, username: str) -> Changes:
        actor.require(Role.ADMIN)
        if actor.username == username.lower():
            raise ValidationError(N_("You cannot disable your own account"))
        with self.branch.store.read() as conn:
            users.require_user(conn, username)
        return self.branch.record(
            None,
            actor.username,
            EventType.USER_DISABLED,
            {"username": username.lower(), "disabled": True},
            actor.signer,
        )

    def quarantine(self, actor: users.User) -> list[dict[str, Any]]:
        """Events this desk holds but does not apply, with the rule each broke (oldest
        first): what a hostile or broken desk tried, for the admin to take up."""
        actor.require(Role.ADMIN)
        with self.branch.store.read() as conn:
            return quarantine.entries(conn)

    def list_users(self) -> list[dict[str, object]]:
        with self.branch.store.read() as conn:
            return users.list_users(conn)

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
