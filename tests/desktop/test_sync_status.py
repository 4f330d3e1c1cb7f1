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


def test_the_core_sync_status_record_is_read() -> None:
    from core.sync.agent import SyncStatus

    record = SyncStatus(
        last_sync="2026-11-27T09:00:00+07:00",
        pending_events=5,
        pending_blobs=2,
        last_error="server unreachable",
        online=False,
        peers=("desk-2",),
    )
    state = state_from_record(record)
    assert (state.pending_events, state.pending_blobs, state.peers) == (5, 2, 1)
    assert state.problem == "server unreachable" and not state.online


def test_an_unenrolled_desktop_shows_sync_not_configured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.services.branch import Branch
    from desktop.composition import _sync_source

    branch = Branch.init(tmp_path / "s", "TAYHO", "Chi nhánh", ("admin", "long-enough-1"))
    try:
        assert isinstance(_sync_source(branch, tmp_path, lan=True), NotConfigured)
    finally:
        branch.close()


def test_an_enrolled_desktop_starts_the_agent_loop_and_stops_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The composition root runs the real agent's loop; an unreachable server shows as a
    problem in the status the dashboard reads; closing stops the loop's thread."""
    import threading
    import time

    from core.services.branch import Branch, set_meta
    from desktop.composition import compose
    from desktop.settings import FILE_NAME
    from desktop.sync_status import AgentSource

    folder = tmp_path / "s"
    branch = Branch.init(folder, "TAYHO", "Chi nhánh", ("admin", "long-enough-1"))
    settings = {"sync_server_url": "http://127.0.0.1:9", "server_public_key": branch.key.public_b64}
    branch.store.write(lambda conn: [set_meta(conn, k, v) for k, v in settings.items()])
    branch.close()
    (folder / FILE_NAME).write_text('{"peer_port": 0}', encoding="utf-8")

    services = compose(folder, with_devices=False)
    try:
        assert isinstance(services.sync, AgentSource)
        assert services.peers is not None and services.peers.port > 0  # serves the LAN
        assert any(t.name == "motcua-sync" for t in threading.enumerate())
        deadline = time.monotonic() + 10
        while not services.sync.status().problem and time.monotonic() < deadline:
            time.sleep(0.05)
        state = services.sync.status()
        assert state.configured and not state.online and state.problem
    finally:
        services.close()
    assert not any(t.name == "motcua-sync" and t.is_alive() for t in threading.enumerate())


def test_an_enrolled_desktop_opens_when_its_lan_port_is_taken(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """GIVEN an enrolled desk whose LAN port another program holds WHEN the app composes
    its services THEN the desk opens without the LAN service and the log says why (the
    pool's clean-up after the failed bind raised an AttributeError: the app crashed)."""
    import socket

    from core.services.branch import Branch, set_meta
    from desktop.composition import compose
    from desktop.settings import FILE_NAME
    from desktop.sync_status import AgentSource

    folder = tmp_path / "s"
    branch = Branch.init(folder, "TAYHO", "Chi nhánh", ("admin", "long-enough-1"))
    settings = {"sync_server_url": "http://127.0.0.1:9", "server_public_key": branch.key.public_b64}
    branch.store.write(lambda conn: [set_meta(conn, k, v) for k, v in settings.items()])
    branch.close()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (folder / FILE_NAME).write_text(f'{{"peer_port": {port}}}', encoding="utf-8")
        services = compose(folder, with_devices=False)
        try:
            assert isinstance(services.sync, AgentSource) and services.peers is None
            assert f"LAN peer service not started on port {port}" in caplog.text
            assert "Address already in use" in caplog.text
        finally:
            services.close()
