"""Convergence, property-based: several desktops and the server under partitions,
duplicated, reordered and dropped deliveries, and restarts between any two steps.

After quiescence (everyone reconnected, two sync rounds) every replica must hold the same
events, the same projections and the same open conflicts; no event lost or duplicated;
every origin's sequence contiguous; and each projection equal to a rebuild from the log.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from core.domain.errors import IntegrityError, MotcuaError
from core.domain.workflow import TRANSFER_ACTIONS, TRANSITIONS, Action, State
from core.services import conflicts
from core.services.branch import Branch
from core.services.sync import LocalReplica
from core.storage import replication
from core.storage import schema as t
from core.sync.agent import SyncSummary

from .fixtures import LEADER, OFFICER, SPECIALIST, Net, rebuilt, receive, snapshot

DESKTOPS = 3
USERS = {role: user for user in (OFFICER, SPECIALIST, LEADER) for role in [user.role]}
# Transfers between units have their own commands and tests (test_transfers.py).
SKIPPED = {Action.RECEIVE, Action.REAPPOINT, Action.REGISTER_POSTAL, *TRANSFER_ACTIONS}


class Replicas(RuleBasedStateMachine):
    net: Net

    @initialize()
    def setup(self) -> None:
        self.branch = self.net.branch()
        self.desks: list[Branch] = [self.net.desktop(self.branch) for _ in range(DESKTOPS)]
        self.cut = [False] * DESKTOPS
        self.codes: list[str] = []
        self.rng = random.Random(0)

    def agent(self, i: int) -> Any:
        return self.net.agent(self.desks[i])

    # --- local work ----------------------------------------------------------------------
    @rule(i=st.integers(0, DESKTOPS - 1))
    def receive(self, i: int) -> None:
        self.codes.append(receive(self.desks[i]).code)

    @rule(i=st.integers(0, DESKTOPS - 1), pick=st.integers(0, 50), choice=st.integers(0, 50))
    def act(self, i: int, pick: int, choice: int) -> None:
        desk = self.desks[i]
        known = [c for c in self.codes if _has(desk, c)]
        if not known:
            return
        view = desk.dossiers.get(known[pick % len(known)])
        options = [
            (a, role)
            for a, tr in TRANSITIONS.items()
            if a not in SKIPPED and view.state in tr.sources
            for role in sorted(tr.roles)
        ]
        if not options:
            return
        action, role = options[choice % len(options)]
        desk.dossiers.act(USERS[role], view.code, action, note="lý do")

    @rule(
        i=st.integers(0, DESKTOPS - 1),
        pick=st.integers(0, 50),
        phone=st.sampled_from(["0911000001", "0922000002"]),
    )
    def edit(self, i: int, pick: int, phone: str) -> None:
        known = [c for c in self.codes if _has(self.desks[i], c)]
        if known:
            conflicts.edit_field(
                self.desks[i], OFFICER, known[pick % len(known)], "applicant.phone", phone
            )

    @rule(i=st.integers(0, DESKTOPS - 1), pick=st.integers(0, 50))
    def note(self, i: int, pick: int) -> None:
        known = [c for c in self.codes if _has(self.desks[i], c)]
        if known:
            self.desks[i].dossiers.note(OFFICER, known[pick % len(known)], "gọi điện")

    @rule(
        i=st.integers(0, DESKTOPS - 1),
        j=st.integers(0, DESKTOPS - 1),
        pick=st.integers(0, 50),
        choice=st.integers(0, 50),
    )
    def concurrent_work(self, i: int, j: int, pick: int, choice: int) -> None:
        """Two desktops work on the same dossier before either syncs."""
        self.act(i, pick, choice)
        self.note(j, pick)
        self.act(j, pick, choice + 1)

    @rule(i=st.integers(0, DESKTOPS - 1))
    def resolve(self, i: int) -> None:
        for entry in conflicts.list_conflicts(self.desks[i])[:1]:
            conflicts.resolve(
                self.desks[i], LEADER, entry["code"], state=entry["state"], note="xử lý"
            )

    # --- network -------------------------------------------------------------------------
    @rule(i=st.integers(0, DESKTOPS - 1))
    def partition(self, i: int) -> None:
        self.cut[i] = not self.cut[i]

    @rule(i=st.integers(0, DESKTOPS - 1))
    def sync(self, i: int) -> None:
        if not self.cut[i]:
            self.agent(i).sync_once()

    @rule(i=st.integers(0, DESKTOPS - 1))
    def push_only(self, i: int) -> None:
        """A sync that stops (crashes) after pushing."""
        if not self.cut[i]:
            self.agent(i).push()

    @rule(i=st.integers(0, DESKTOPS - 1))
    def push_twice(self, i: int) -> None:
        """Duplicated delivery: the same batch reaches the server twice."""
        if self.cut[i]:
            return
        agent = self.agent(i)
        batch = LocalReplica(self.desks[i]).events_above({}, 50)
        agent.client.push(batch)
        agent.client.push(batch)

    @rule(i=st.integers(0, DESKTOPS - 1), seed=st.integers(0, 1000))
    def deliver_shuffled(self, i: int, seed: int) -> None:
        """Reordered delivery: the server's events arrive in a random order, in pieces."""
        if self.cut[i]:
            return
        agent = self.agent(i)
        events = [e.to_event() for e in agent.client.exchange(self.branch, {}, 500).events]
        random.Random(seed).shuffle(events)
        replica = LocalReplica(self.desks[i])
        cursor = replica.cursor(self.branch)
        for start in range(0, len(events), 7):
            with contextlib.suppress(IntegrityError):  # a gap: refused whole, resent later
                replica.ingest(self.branch, events[start : start + 7], cursor)

    @rule(i=st.integers(0, DESKTOPS - 1))
    def pull_dropped(self, i: int) -> None:
        """Dropped delivery: a page is fetched and lost before it is applied."""
        if not self.cut[i]:
            agent = self.agent(i)
            agent.client.pull(self.branch, agent.replica.cursor(self.branch), 5)

    @rule(i=st.integers(0, DESKTOPS - 1))
    def pull_one_page(self, i: int) -> None:
        """A pull that stops (crashes) after its first small page."""
        if self.cut[i]:
            return
        agent = self.agent(i)
        page = agent.client.pull(self.branch, agent.replica.cursor(self.branch), 3)
        agent.replica.ingest(self.branch, [e.to_event() for e in page.events], page.next)

    @rule(i=st.integers(0, DESKTOPS - 1))
    def restart(self, i: int) -> None:
        """The desktop process restarts: everything in memory is lost."""
        folder = self.desks[i].data_dir
        self.desks[i].close()
        self.desks[i] = Branch.open(folder)
        self.net.desktops[
            self.net.desktops.index(next(d for d in self.net.desktops if d.data_dir == folder))
        ] = self.desks[i]

    @invariant()
    def every_local_chain_is_contiguous(self) -> None:
        for desk in getattr(self, "desks", []):
            with desk.store.read() as conn:
                for origin, seq in replication.vector(conn).items():
                    assert replication.count_events_of(conn, origin) == seq

    def teardown(self) -> None:
        if not hasattr(self, "desks"):
            return
        self.cut = [False] * DESKTOPS
        for _ in range(2):
            for i in range(DESKTOPS):
                self.agent(i).sync_once()
        views = [snapshot(d) for d in self.desks]
        for other in views[1:]:
            assert other == views[0]
        server_total = self.net.server_events(self.branch) + self.net.server_events("*")
        assert len(views[0]["events"]) == len(set(views[0]["events"])) == server_total
        assert rebuilt(self.desks[0]) == views[0]
        open_conflicts = [conflicts.list_conflicts(d) for d in self.desks]
        assert all(c == open_conflicts[0] for c in open_conflicts)


def _has(desk: Branch, code: str) -> bool:
    with desk.store.read() as conn:
        return (
            conn.execute(select(t.dossiers.c.id).where(t.dossiers.c.code == code)).first()
            is not None
        )


def test_replicas_converge(net: Net) -> None:
    """GIVEN three desktops of one branch and the server
    WHEN random receipts, transitions, edits, notes and resolutions interleave with
    partitions, duplicated/reordered/dropped deliveries and restarts
    THEN after quiescence every replica agrees (events, projections, conflicts), nothing is
    lost or duplicated, every chain is contiguous, and projections equal a rebuild."""
    Replicas.net = net
    run_state_machine_as_test(
        Replicas,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            derandomize=True,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a run is slow
        ),
    )


__all__ = ["MotcuaError", "State", "SyncSummary"]
