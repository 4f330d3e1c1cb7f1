"""Fixtures shared by tests/sync and tests/server: a live server per backend, desktops
initialised and enrolled against it, and helpers to act on them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.domain.dossier import DossierView
from core.domain.signing import DeviceKey
from core.domain.workflow import Action, Role
from core.services.branch import Branch
from core.services.dossiers import Intake
from core.services.sync import agent_for, enroll
from core.services.users import User, credentials
from core.storage import projection, replication
from core.storage import schema as t
from core.sync.agent import SyncAgent, SyncSummary
from core.sync.client import Credentials, RetryPolicy, SyncClient
from sync_server import identity
from sync_server import schema as st

from .live import BACKENDS, LiveServer, live_server

# The branch's clerks, created at the centre for every branch (``Net.branch``) with keys
# made once per session: the fixtures act as them without logging in (an Argon2
# verification each), and sign the steps that need their proof with their keys.
KEYS = {name: DeviceKey.generate() for name in ("lan", "minh", "hung")}
PASSWORDS = {"lan": "officer-pass", "minh": "specialist-pass", "hung": "leader-pass"}
OFFICER = User("lan", "Lan", Role.OFFICER, lambda: KEYS["lan"])
SPECIALIST = User("minh", "Minh", Role.SPECIALIST, lambda: KEYS["minh"])
LEADER = User("hung", "Hùng", Role.LEADER, lambda: KEYS["hung"])
CLERKS = (OFFICER, SPECIALIST, LEADER)
_credentials: dict[str, dict[str, Any]] = {}


def clerk_payload(user: User) -> dict[str, Any]:
    """The centre's user.added payload of a fixture clerk (verifier and sealed key made
    once per session)."""
    if user.username not in _credentials:
        password = PASSWORDS[user.username]
        _credentials[user.username] = credentials(password, KEYS[user.username])
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role.value,
        **_credentials[user.username],
    }


APPLICANT = {
    "full_name": "Nguyễn Văn An",
    "id_number": "001090012345",
    "date_of_birth": "1990-05-12",
    "phone": "0912345678",
    "address": "12 Xuân Diệu, phường Tây Hồ, Hà Nội",
    "email": "an@example.vn",
}
_units = itertools.count(1)


def no_wait(_seconds: float) -> None:
    return None


@dataclass
class Net:
    """A server and the desktops enrolled against it."""

    server: LiveServer
    root: Path
    desktops: list[Branch] = field(default_factory=list)

    @property
    def engine(self) -> Any:
        return self.server.engine

    @property
    def key(self) -> DeviceKey:
        return identity.ensure_identity(self.engine, self.server.settings.key_file)

    def branch(self, code: str | None = None) -> str:
        """A new branch with its clerks (lan, minh, hung) created at the centre."""
        code = code or f"U{next(_units)}"
        identity.add_branch(self.engine, code, f"Chi nhánh {code}")
        for clerk in CLERKS:
            identity.author_one(self.engine, self.key, code, "user.added", clerk_payload(clerk))
        return code

    def identity_role(self, username: str, role: str, branch: str) -> None:
        """The centre changes a user's role in the branch's chain."""
        payload = {"username": username, "role": role}
        identity.author_one(self.engine, self.key, branch, "user.role_set", payload)

    def code(self, branch: str, ttl: int = 600) -> str:
        return str(identity.new_enrol_code(self.engine, branch, ttl)["code"])

    def desktop(self, branch: str, *, enrolled: bool = True) -> Branch:
        folder = self.root / f"desk{len(self.desktops)}"
        desk = Branch.init(folder, branch, f"Chi nhánh {branch}", ("admin", "admin-pass-1"))
        if enrolled:
            enroll(desk, self.server.url, self.code(branch), label=folder.name)
            self.agent(desk).pull(lambda _p: None, SyncSummary())  # the branch's clerks
        self.desktops.append(desk)
        return desk

    def agent(self, desk: Branch) -> SyncAgent:
        return agent_for(desk, retry=RetryPolicy(attempts=2, sleep=no_wait))

    def client(self, desk: Branch) -> SyncClient:
        return SyncClient(
            self.server.url,
            Credentials(desk.device_id, desk.key),
            retry=RetryPolicy(attempts=1, sleep=no_wait),
        )

    def server_events(self, branch: str | None = None) -> int:
        query = select(func.count()).select_from(st.events)
        if branch:
            query = query.where(st.events.c.branch == branch)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def close(self) -> None:
        for desk in self.desktops:
            desk.close()


def receive(desk: Branch, **intake: Any) -> DossierView:
    procedure = (
        desk.procedures()["HT-KS"]
        if "HT-KS" in desk.procedures()
        else next(iter(desk.procedures().values()))
    )
    mandatory = [c.key for c in procedure.components if c.mandatory]
    view, _ = desk.dossiers.receive(
        OFFICER,
        Intake(procedure_code=procedure.code, applicant=APPLICANT, components=mandatory, **intake),
    )
    return view


def add_clerks(desk: Branch) -> None:
    """The fixture clerks added on `desk` by its admin (a desk without a centre)."""
    admin = desk.login("admin", "admin-pass-1")
    for clerk in CLERKS:
        desk.record(None, "admin", "user.added", clerk_payload(clerk), admin.signer)


def attach_blob(desk: Branch, dossier_id: str, sha256: str, name: str = "scan.pdf") -> None:
    """Attach a stored blob to a dossier's first document, as the document service does."""
    file = {"sha256": sha256, "pages": 1, "size": 0, "media_type": "application/pdf", "name": name}
    payload = {"at": "2026-11-23T09:30:00+07:00", "component": "to-khai", "file": file}
    desk.record(dossier_id, "lan", "dossier.attach", payload)


def act(
    desk: Branch, code: str, action: Action, user: User = OFFICER, note: str = ""
) -> DossierView:
    view, _ = desk.dossiers.act(user, code, action, note=note or "ghi chú")
    return view


def snapshot(desk: Branch) -> dict[str, Any]:
    """What must agree between replicas: events, projections, open conflicts."""
    with desk.store.read() as conn:
        events = sorted(r.hash for r in conn.execute(select(t.events.c.hash)))
        docs = sorted(r.doc for r in conn.execute(select(t.dossiers.c.doc)))
        users = sorted(tuple(r) for r in conn.execute(select(t.users)))
        search = sorted(body for _rowid, body in replication.search_rows(conn))
    return {"events": events, "dossiers": docs, "users": users, "search": search}


def rebuilt(desk: Branch) -> dict[str, Any]:
    desk.store.write(projection.rebuild)
    return snapshot(desk)


@pytest.fixture(params=BACKENDS)
def net(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Net]:
    with live_server(request.param, tmp_path / "server") as server:
        network = Net(server, tmp_path)
        try:
            yield network
        finally:
            network.close()


Factory = Callable[..., Branch]
