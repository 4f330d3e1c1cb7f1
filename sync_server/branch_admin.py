"""A branch's users and calendar overrides as the centre administers them.

The server keeps no user table: a branch's users are what its chain says (the centre's
events and its branch admins'), folded here in server order, so the centre refuses to
add a name that exists or to change one that does not. Every change is an event the
centre signs into the branch's chain; each desk applies it at its next sync.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from core.domain.errors import N_, NotFoundError, ValidationError
from core.domain.signing import DeviceKey
from core.domain.workflow import Role
from core.services import users as user_rules

from . import identity
from . import schema as t


def _payloads(engine: Engine, scope: str, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        if scope != t.GLOBAL_SCOPE:
            identity.require_branch(conn, scope)
        rows = conn.execute(
            select(t.events.c.type, t.events.c.body)
            .where(t.events.c.branch == scope)
            .where(t.events.c.type.like(prefix + "%"))
            .order_by(t.events.c.server_seq)
        )
        return [(r.type, json.loads(r.body)["payload"]) for r in rows]


def branch_users(engine: Engine, branch: str) -> dict[str, dict[str, Any]]:
    """The branch's users as its chain leaves them: name → role, full name, disabled."""
    found: dict[str, dict[str, Any]] = {}
    for type_, p in _payloads(engine, branch, "user."):
        name = p["username"]
        if type_ == "user.added":
            found[name] = {
                "username": name,
                "full_name": p.get("full_name", name),
                "role": p["role"],
                "disabled": False,
            }
        elif name in found and type_ == "user.role_set":
            found[name]["role"] = p["role"]
        elif name in found and type_ == "user.disabled":
            found[name]["disabled"] = bool(p.get("disabled", True))
    return found


def _by(by: str) -> dict[str, str]:
    """Who asked, when a person did (the console's admin): the events stay the centre's
    (actor ``central``), the name rides in the payload as ``by``."""
    return {"by": by} if by else {}


def _existing(engine: Engine, branch: str, username: str) -> dict[str, Any]:
    name = username.lower()
    user = branch_users(engine, branch).get(name)
    if user is None:
        raise NotFoundError(N_("No user {user} in branch {branch}"), user=name, branch=branch)
    return user


def add_user(
    engine: Engine,
    key: DeviceKey,
    branch: str,
    username: str,
    role: str,
    full_name: str,
    password: str,
    by: str = "",
) -> dict[str, Any]:
    name = user_rules.check_username(username)
    if name in branch_users(engine, branch):
        raise ValidationError(
            N_(
                "User {user} already exists in branch {branch}: change her with 'user role', "
                "'user reset-password' or 'user enable'"
            ),
            user=name,
            branch=branch,
        )
    payload = {
        "username": name,
        "full_name": full_name.strip() or name,
        "role": role,
        **user_rules.credentials(password),
        **_by(by),
    }
    return identity.author_one(engine, key, branch, "user.added", payload)


def set_role(
    engine: Engine, key: DeviceKey, branch: str, username: str, role: str, by: str = ""
) -> dict[str, Any]:
    user = _existing(engine, branch, username)
    if role not in Role._value2member_map_:
        raise ValidationError(N_("Unknown role {role}"), role=role)
    if user["role"] == role:
        raise ValidationError(
            N_("User {user} already has the role {role}"), user=user["username"], role=role
        )
    payload = {"username": user["username"], "role": role, **_by(by)}
    return identity.author_one(engine, key, branch, "user.role_set", payload)


def set_disabled(
    engine: Engine, key: DeviceKey, branch: str, username: str, disabled: bool, by: str = ""
) -> dict[str, Any]:
    user = _existing(engine, branch, username)
    if user["disabled"] == disabled:
        message = (
            N_("User {user} is already disabled")
            if disabled
            else N_("User {user} is already enabled")
        )
        raise ValidationError(message, user=user["username"])
    payload = {"username": user["username"], "disabled": disabled, **_by(by)}
    return identity.author_one(engine, key, branch, "user.disabled", payload)


def reset_password(
    engine: Engine, key: DeviceKey, branch: str, username: str, password: str, by: str = ""
) -> dict[str, Any]:
    user = _existing(engine, branch, username)
    payload = {"username": user["username"], **user_rules.credentials(password), **_by(by)}
    return identity.author_one(engine, key, branch, "user.password_set", payload)


def unlock(
    engine: Engine, key: DeviceKey, branch: str, username: str, by: str = ""
) -> dict[str, Any]:
    user = _existing(engine, branch, username)
    payload = {"username": user["username"], **_by(by)}
    return identity.author_one(engine, key, branch, "user.unlocked", payload)


def overrides(engine: Engine, scope: str) -> list[dict[str, str]]:
    """The calendar overrides in force in a scope (``*``: national), by day."""
    found: dict[str, dict[str, str]] = {}
    for _type, p in _payloads(engine, scope, "calendar."):
        if p["kind"] == "none":
            found.pop(p["day"], None)
        else:
            found[p["day"]] = {"day": p["day"], "kind": p["kind"], "reason": p.get("reason", "")}
    return [found[d] for d in sorted(found)]


def set_override(
    engine: Engine,
    key: DeviceKey,
    scope: str,
    day: date,
    kind: str,
    reason: str,
    by: str = "",
) -> dict[str, Any]:
    if not reason.strip():
        raise ValidationError(N_("An override needs its reason (the decision)"))
    if kind == "none" and day.isoformat() not in {o["day"] for o in overrides(engine, scope)}:
        raise NotFoundError(N_("No calendar override on {day}"), day=day.strftime("%d/%m/%Y"))
    payload = {"day": day.isoformat(), "kind": kind, "reason": reason.strip(), **_by(by)}
    return identity.author_one(engine, key, scope, "calendar.override_set", payload)


def last_payload(engine: Engine, scope: str, type_: str) -> dict[str, Any] | None:
    """The payload of the newest event of a type in a scope, if any."""
    with engine.connect() as conn:
        row = conn.execute(
            select(t.events.c.body)
            .where(t.events.c.branch == scope)
            .where(t.events.c.type == type_)
            .order_by(t.events.c.server_seq.desc())
            .limit(1)
        ).first()
    return None if row is None else dict(json.loads(row.body)["payload"])
