"""Users, roles and offline login with Argon2 verifiers and lockout."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.domain.errors import AuthenticationFailed, PermissionDenied, ValidationError
from core.domain.events import EventType
from core.storage import schema as t

from .conftest import PASSWORDS, World


def test_login_checks_the_argon2_verifier(world: World) -> None:
    user = world.branch.login("LAN", PASSWORDS["lan"])
    assert (user.username, user.role.value) == ("lan", "officer")
    with world.branch.store.read() as conn:
        stored = conn.execute(
            select(t.users.c.password_hash).where(t.users.c.username == "lan")
        ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORDS["lan"] not in stored


def test_wrong_password_and_unknown_user_fail_alike(world: World) -> None:
    for name, password in [("lan", "wrong-password"), ("nobody", "whatever-1")]:
        with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
            world.branch.login(name, password)


def test_five_failures_lock_the_account_for_fifteen_minutes(world: World) -> None:
    """GIVEN five wrong passwords WHEN the right one is typed THEN the account is still locked
    until 15 minutes later, after which the right password works again."""
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            world.branch.login("lan", "wrong-password")
    with pytest.raises(AuthenticationFailed, match="locked"):
        world.branch.login("lan", PASSWORDS["lan"])
    world.clock.set("2026-11-23T09:16")
    assert world.branch.login("lan", PASSWORDS["lan"]).username == "lan"


def test_only_admins_manage_users(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.branch.admin.add_user(world.users["hung"], "thu", "officer", "long-password")
    world.branch.admin.add_user(
        world.users["admin"], "thu", "officer", "long-password", "Phạm Thị Thu"
    )
    assert world.branch.login("thu", "long-password").full_name == "Phạm Thị Thu"


@pytest.mark.parametrize(
    ("name", "role", "password", "fragment"),
    [
        ("thu", "officer", "short", "at least"),
        ("thu", "boss", "long-password", "Unknown role"),
        ("thủ", "officer", "long-password", "ASCII"),
        ("lan", "officer", "long-password", "already exists"),
    ],
)
def test_bad_user_input_is_refused(
    world: World, name: str, role: str, password: str, fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        world.branch.admin.add_user(world.users["admin"], name, role, password)


def test_disabled_user_cannot_log_in(world: World) -> None:
    world.branch.admin.disable_user(world.users["admin"], "lan")
    with pytest.raises(AuthenticationFailed):
        world.branch.login("lan", PASSWORDS["lan"])


def test_admin_makes_no_dossier_decisions(world: World) -> None:
    code = world.receive().code
    with pytest.raises(PermissionDenied):
        world.act("admin", code, "transfer")


def test_every_event_records_its_actor(world: World) -> None:
    code = world.receive().code
    world.act("lan", code, "transfer")
    timeline = world.branch.dossiers.timeline(code)
    assert [(e["type"], e["actor"]) for e in timeline] == [
        ("dossier.receive", "lan"),
        ("dossier.transfer", "lan"),
    ]
    with world.branch.store.read() as conn:
        added = (
            conn.execute(select(t.events.c.actor).where(t.events.c.type == EventType.USER_ADDED))
            .scalars()
            .all()
        )
    assert added == ["system", "admin", "admin", "admin"]
