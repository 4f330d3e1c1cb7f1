"""Fixtures for core tests: a branch store built once and copied per test (Anki's idea)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.domain.timeutil import VIETNAM, parse_moment
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.users import User

PASSWORDS = {
    "admin": "admin-pass-1",
    "lan": "officer-pass",
    "minh": "specialist-pass",
    "hung": "leader-pass",
}
ROLES = {"lan": "officer", "minh": "specialist", "hung": "leader"}

APPLICANT = {
    "full_name": "Nguyễn Văn An",
    "id_number": "001090012345",
    "date_of_birth": "1990-05-12",
    "phone": "0912345678",
    "address": "12 Xuân Diệu, phường Tây Hồ, Hà Nội",
    "email": "an@example.vn",
}


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, start: str = "2026-11-23T09:00") -> None:
        self.now = parse_moment(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: str) -> None:
        self.now = parse_moment(moment)

    @contextmanager
    def showing(self, moment: datetime | None) -> Iterator[None]:
        """The clock shows `moment` while a clerk enters what she did then, when it is
        ahead (a desk refuses an entry dated ahead of its clock:
        ``step_moments.check_entry_not_ahead``); the test's own time resumes after."""
        before = self.now
        if moment is not None and moment > before:
            self.now = moment
        try:
            yield
        finally:
            self.now = before


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised store with the four roles, copied for each test."""
    folder = tmp_path_factory.mktemp("template") / "store"
    # On the tests' own clock, before their moments: events written later in real time
    # would date the tests' receipts "years before they were recorded" one day.
    clock = FrozenClock("2026-11-23T07:00")
    branch = Branch.init(folder, "TAYHO", "Chi nhánh Tây Hồ", ("admin", PASSWORDS["admin"]), clock)
    admin = branch.login("admin", PASSWORDS["admin"])
    for name, role in ROLES.items():
        branch.admin.add_user(admin, name, role, PASSWORDS[name])
    branch.close()
    return folder


@dataclass
class World:
    branch: Branch
    clock: FrozenClock
    users: dict[str, User]

    def receive(self, procedure: str = "HT-XNHN", **kwargs: Any) -> Any:
        components = kwargs.pop("components", None)
        if components is None:
            components = [
                c.key for c in self.branch.procedures()[procedure].components if c.mandatory
            ]
        received = kwargs.get("received_at")
        intake = Intake(
            procedure_code=procedure,
            applicant=kwargs.pop("applicant", APPLICANT),
            components=components,
            **kwargs,
        )
        with self.clock.showing(received):
            return self.branch.dossiers.receive(self.users["lan"], intake)[0]

    def act(self, who: str, code: str, action: str, at: str | None = None, **kwargs: Any) -> Any:
        from core.domain.workflow import Action

        moment = parse_moment(at) if at else None
        with self.clock.showing(moment):
            acting = self.branch.dossiers.act
            done = acting(self.users[who], code, Action(action), at=moment, **kwargs)
        return done[0]


@pytest.fixture
def world(template_store: Path, template_users: dict[str, User], tmp_path: Path) -> Iterator[World]:
    folder = tmp_path / "store"
    shutil.copytree(template_store, folder)
    clock = FrozenClock()
    branch = Branch.open(folder, clock=clock)
    yield World(branch, clock, dict(template_users))
    branch.close()


@pytest.fixture(scope="session")
def template_users(
    template_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, User]:
    """The template's users, logged in once per session: logging in costs an Argon2
    verification, opening a user's key (for the steps that need her proof) another, and
    every copy of the template holds the same sealed keys. The login path has its own
    tests."""
    folder = tmp_path_factory.mktemp("login") / "store"
    shutil.copytree(template_store, folder)
    branch = Branch.open(folder, clock=FrozenClock("2026-11-23T07:00"))
    users = {name: branch.login(name, PASSWORDS[name]) for name in ("admin", *ROLES)}
    branch.close()
    return users


def at(text: str) -> datetime:
    return parse_moment(text).astimezone(VIETNAM)


Factory = Callable[..., Any]
