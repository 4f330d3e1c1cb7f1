"""Projections rebuilt from the event log equal the ones kept incrementally."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from core.domain.errors import MotcuaError
from core.domain.workflow import TRANSITIONS, Action, Role
from core.storage import projection
from core.storage import schema as t

from .conftest import World

USER_OF_ROLE = {Role.OFFICER: "lan", Role.SPECIALIST: "minh", Role.LEADER: "hung"}


def snapshot(world: World) -> dict[str, Any]:
    with world.branch.store.read() as conn:
        dossiers = {r.id: r._asdict() for r in conn.execute(select(t.dossiers))}
        for row in dossiers.values():
            row.pop("num")
        search = sorted(r.body for r in conn.execute(text("SELECT body FROM dossier_search")))
        users = sorted(tuple(r) for r in conn.execute(select(t.users)))
        overrides = sorted(tuple(r) for r in conn.execute(select(t.calendar_overrides)))
    return {"dossiers": dossiers, "search": search, "users": users, "overrides": overrides}


steps = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from([a for a in Action if a is not Action.RECEIVE])),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_rebuild_equals_incremental(world: World, steps: list[tuple[int, Action]]) -> None:
    """GIVEN a random mix of receipts, transitions (allowed or not), notes and reference data
    WHEN every projection is dropped and rebuilt from the log THEN it equals what was kept."""
    codes = [world.receive().code for _ in range(3)]
    for index, action in steps:
        code = codes[index % len(codes)]
        role = sorted(TRANSITIONS[action].roles)[0]
        details = {"due_at": "2027-12-01T09:00", "postal_address": "Số 1 Hàng Bài"}
        with contextlib.suppress(MotcuaError):  # refused actions are part of the mix
            world.act(USER_OF_ROLE[role], code, action.value, note="ghi chú", details=details)
        if index == 4:
            world.branch.dossiers.note(world.users["lan"], code, "Đã gọi điện cho công dân")
    before = snapshot(world)
    world.branch.store.write(projection.rebuild)
    assert snapshot(world) == before


def test_rebuild_restores_deleted_projection_rows(world: World) -> None:
    code = world.receive().code
    before = snapshot(world)
    with world.branch.store.writer.begin() as conn:
        conn.execute(t.dossiers.delete())
    assert world.branch.dossiers.search(code) == []
    world.branch.store.write(projection.rebuild)
    assert snapshot(world) == before


def test_notes_and_ratings_name_the_heads_they_saw(world: World) -> None:
    """Commutative events still carry causality: their parents are the dossier's heads."""
    code = world.receive().code
    view = world.act("lan", code, "transfer")
    world.branch.dossiers.note(world.users["lan"], code, "Đã gọi điện")
    events = world.branch.dossiers.events(code)
    assert events[-1].type == "dossier.note" and events[-1].parents == view.heads
    world.branch.dossiers.rate(code, view.lookup_token, 5)
    assert world.branch.dossiers.events(code)[-1].parents == (events[-1].event_id,)
