"""The sync panel reads whatever status record the agent gives, or says it is absent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from desktop.sync_status import AgentSource, NotConfigured, state_from_record


def test_not_configured_says_so() -> None:
    state = NotConfigured().status()
    assert not state.configured and state.pending_events == 0


def test_a_dict_record_is_read() -> None:
    state = state_from_record(
        {
            "last_sync": "2026-11-27T09:00:00+07:00",
            "pending_events": 12,
            "pending_blobs": [1, 2],
            "peers": ["a"],
            "online": True,
        }
    )
    assert state.configured and state.pending_events == 12 and state.pending_blobs == 2
    assert state.peers == 1 and state.online and state.last_sync.startswith("2026-11-27")


@dataclass
class Status:
    last_success: datetime
    unsent_events: int
    last_error: str


class Agent:
    def __init__(self) -> None:
        self.synced = 0

    def status(self) -> Status:
        return Status(datetime(2026, 11, 27, 9, 0), 3 - self.synced * 3, "")

    def sync_once(self) -> None:
        self.synced += 1


def test_an_agent_with_other_field_names_is_read_and_driven() -> None:
    source = AgentSource(Agent())
    assert source.status().pending_events == 3
    assert source.status().last_sync == "2026-11-27T09:00:00"
    assert source.sync_now().pending_events == 0
