"""Tamper detection: `verify` names the first broken link precisely."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from core.services.audit import ALTERED, BAD_SIGNATURE, BROKEN_LINK, GAP, TRUNCATED, verify
from core.storage import schema as t

from .conftest import World


@pytest.fixture
def history(world: World) -> World:
    code = world.receive().code
    for who, action in [("lan", "transfer"), ("minh", "start"), ("minh", "submit")]:
        world.act(who, code, action)
    return world


def tamper(world: World, seq: int, **values: object) -> None:
    with world.branch.store.writer.begin() as conn:
        conn.execute(update(t.events).where(t.events.c.origin_seq == seq).values(**values))


def event_at(world: World, seq: int) -> dict[str, object]:
    with world.branch.store.read() as conn:
        return dict(
            conn.execute(select(t.events).where(t.events.c.origin_seq == seq)).one()._mapping
        )


def test_untouched_store_verifies(history: World) -> None:
    report = verify(history.branch)
    assert report.ok and report.devices == 1 and report.events_checked == 8


def test_edited_payload_is_found(history: World) -> None:
    """GIVEN someone edits the stored applicant name of the receipt (seq 5, after the four
    user events of the template)
    THEN verify reports a hash mismatch at exactly that event."""
    row = event_at(history, 5)
    payload = json.loads(str(row["payload"]))
    payload["applicant"]["full_name"] = "Lê Văn Giả"
    tamper(history, 5, payload=json.dumps(payload, ensure_ascii=False))
    (problem,) = verify(history.branch).problems
    assert (problem.origin_seq, problem.message, problem.event_id) == (5, ALTERED, row["event_id"])


def test_deleted_event_is_found(history: World) -> None:
    with history.branch.store.writer.begin() as conn:
        conn.execute(t.events.delete().where(t.events.c.origin_seq == 6))
    (problem,) = verify(history.branch).problems
    assert problem.message == GAP and problem.params == {"expected": 6, "found": 7}


def test_reordered_chain_is_found(history: World) -> None:
    """GIVEN events 6 and 7 swapped (sequence numbers exchanged) THEN the link breaks at 6."""
    tamper(history, 6, origin_seq=-1)
    tamper(history, 7, origin_seq=6)
    tamper(history, -1, origin_seq=7)
    (problem,) = verify(history.branch).problems
    assert (problem.origin_seq, problem.message) == (6, BROKEN_LINK)


def test_forged_signature_is_found(history: World) -> None:
    row = event_at(history, 4)
    forged = str(row["signature"])[:-4] + (
        "AAA=" if not str(row["signature"]).endswith("AAA=") else "BBB="
    )
    tamper(history, 4, signature=forged)
    (problem,) = verify(history.branch).problems
    assert (problem.origin_seq, problem.message) == (4, BAD_SIGNATURE)


def test_truncated_chain_is_found(history: World) -> None:
    with history.branch.store.writer.begin() as conn:
        conn.execute(t.events.delete().where(t.events.c.origin_seq == 8))
    (problem,) = verify(history.branch).problems
    assert problem.message == TRUNCATED and problem.params == {"head": 8, "last": 7}
